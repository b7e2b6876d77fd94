// Shared pieces of the benchmarks: percentiles, markdown tables, machine info.
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, release } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export const median = (values) => percentile(values, 50);
export const ms = (n) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : 'n/a');
export const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);
export const ratio = (a, b) => (Number.isFinite(a / b) ? `${(a / b).toFixed(1)}x` : 'n/a');
export const now = () => Number(process.hrtime.bigint()) / 1e6;

export function table(headers, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function machine() {
  const php = execFileSync('php', ['-r', 'echo PHP_VERSION;'], { encoding: 'utf8' });
  return `${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Linux ${release()}, PHP ${php}, Node ${process.version}`;
}

/** PSS/RSS/private dirty of a process from /proc/<pid>/smaps_rollup, in bytes. */
export async function memoryOf(pid) {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const get = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: get('Rss'), pss: get('Pss'), privateDirty: get('Private_Dirty') };
}

/** Whether `command` is on the PATH (wrk, for the HTTP measures). */
export function hasCommand(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function header(title) {
  return `### ${title}\n`;
}
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * CPU seconds of process trees, from one pass over /proc: `tree(pid)` is
 * utime + stime of `pid` and every descendant, plus what each had reaped
 * (cutime + cstime): a fresh-fork worker's time counts once its reaper
 * waited for it. `own(pid)` is the process alone, without its children.
 */
export function cpuSnapshot() {
  const cpu = new Map();
  const reaped = new Map();
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(fields[1]);
      cpu.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / TICKS);
      reaped.set(Number(entry), (Number(fields[13]) + Number(fields[14])) / TICKS);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch { /* gone */ }
  }
  const tree = (pid) => (cpu.get(pid) ?? 0) + (reaped.get(pid) ?? 0) + (children.get(pid) ?? []).reduce((sum, child) => sum + tree(child), 0);
  return { tree, own: (pid) => cpu.get(pid) ?? 0 };
}

/** utime + stime of a process's main thread alone (not its other threads), seconds. */
export function mainThreadCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}
