/**
 * The memory limit of the control group Node runs in (a container's
 * limit), and its current use, from cgroup v2 (memory.max,
 * memory.current) or v1 (memory.limit_in_bytes, memory.usage_in_bytes).
 * The use counts every process of the group: Node, the masters, the
 * workers, and the page cache charged to them, which is what the kernel
 * compares with the limit when it picks something to kill.
 */
import { readFileSync } from 'node:fs';

export interface CgroupMemory {
  /** Bytes; null when the group has no limit. */
  limit: number | null;
  /** Reads the group's current use, bytes. */
  usage(): number | null;
}

/** v1 writes "no limit" as a huge page-aligned number. */
const UNLIMITED = 2 ** 62;

function readNumber(file: string): number | null {
  try {
    const text = readFileSync(file, 'latin1').trim();
    if (text === 'max') return null;
    const n = Number(text);
    return Number.isFinite(n) && n < UNLIMITED ? n : null;
  } catch {
    return null;
  }
}

/** Node's memory cgroup, or null when none can be read (not Linux, no cgroupfs). */
export function cgroupMemory(procSelfCgroup = '/proc/self/cgroup', root = '/sys/fs/cgroup'): CgroupMemory | null {
  let lines: string[];
  try {
    lines = readFileSync(procSelfCgroup, 'latin1').trim().split('\n');
  } catch {
    return null;
  }
  for (const line of lines) {
    const [, controllers, path] = line.split(':');
    if (controllers.split(',').includes('memory')) {
      const dir = `${root}/memory${path}`;
      if (readNumber(`${dir}/memory.usage_in_bytes`) === null) continue;
      return { limit: readNumber(`${dir}/memory.limit_in_bytes`), usage: () => readNumber(`${dir}/memory.usage_in_bytes`) };
    }
  }
  const unified = lines.find((l) => l.startsWith('0::'));
  if (unified) {
    const path = unified.slice(3);
    for (const base of [root, `${root}/unified`]) {
      const dir = `${base}${path === '/' ? '' : path}`;
      if (readNumber(`${dir}/memory.current`) === null) continue;
      return { limit: readNumber(`${dir}/memory.max`), usage: () => readNumber(`${dir}/memory.current`) };
    }
  }
  return null;
}
