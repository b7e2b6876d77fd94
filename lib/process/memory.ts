/**
 * Memory of one process from /proc/<pid>/smaps_rollup (Linux 4.14+).
 * RSS counts every resident page, including opcache's shared memory and
 * the copy-on-write pages still shared with the master, again in every
 * worker; PSS divides shared pages among the processes sharing them, so
 * it is what a worker really costs. Limits default to PSS for that reason.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export interface ProcessMemory {
  /** Resident set size, bytes. */
  rss: number;
  /** Proportional set size, bytes. */
  pss: number;
  /** Pages only this process uses, bytes. */
  privateDirty: number;
}

const FIELDS: Record<string, keyof ProcessMemory> = { 'Rss:': 'rss', 'Pss:': 'pss', 'Private_Dirty:': 'privateDirty' };

/** Null when the process is gone. */
export async function readMemory(pid: number): Promise<ProcessMemory | null> {
  try {
    return parseRollup(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Like readMemory, on the calling thread: for the check after each job,
 * where a thread-pool round trip would cost more than the read itself
 * and leave the worker in limbo (neither busy nor free) meanwhile.
 */
export function readMemorySync(pid: number): ProcessMemory | null {
  try {
    return parseRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    return null;
  }
}

function parseRollup(text: string): ProcessMemory {
  const memory: ProcessMemory = { rss: 0, pss: 0, privateDirty: 0 };
  for (const line of text.split('\n')) {
    const [name, kb] = line.split(/\s+/);
    const field = FIELDS[name];
    if (field) memory[field] = Number(kb) * 1024;
  }
  return memory;
}

/** '128M', '1G', '512K', '1048576' or a number of bytes -> bytes; NaN when unreadable. */
export function parseBytes(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$/i.exec(value);
  if (!match) return NaN;
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(match[1]) * scale);
}
