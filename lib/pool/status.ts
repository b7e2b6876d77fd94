/**
 * The pool's status view, after php-fpm's `pm.status_path`: the pool's
 * figures, and with `full` one row per worker. JSON-ready, and as text in
 * php-fpm's own layout, which its users and their scripts know.
 */
import { procStat } from '../process/children.js';
import { clockTicks } from '../process/clock.js';
import { readMemory } from '../process/memory.js';
import type { PoolStats } from './stats.js';
import type { Slot } from './slot.js';

export interface WorkerStatus {
  pid: number;
  state: string;
  /** Jobs (requests) it served. */
  jobs: number;
  startedAt: string;
  /** The job it runs now: label (method and URI for HTTP) and ms so far. */
  current: { label: string; ms: number } | null;
  /** The job it ran last: label and ms. */
  last: { label: string; ms: number } | null;
  /** CPU seconds the worker used in all, and its memory now (bytes). */
  cpuSeconds: number | null;
  pss: number | null;
  rss: number | null;
}

export interface PoolStatus {
  state: string;
  processManager: 'static' | 'dynamic';
  startTime: string;
  startSince: number;
  acceptedJobs: number;
  queue: number;
  maxQueue: number;
  idle: number;
  active: number;
  total: number;
  maxActive: number;
  maxChildrenReached: number;
  opcache: PoolStats['opcache'];
  /** Reloads for a full opcache, and whether it filled again too soon (too small). */
  opcacheReloads: number;
  opcacheTooSmall: boolean;
  workers?: WorkerStatus[];
}

export interface StatusSources {
  stats: PoolStats;
  figures: { maxQueue: number; maxBusy: number; maxReached: number; slots: readonly Slot[] };
  startedAt: number;
  dynamic: boolean;
}


export async function poolStatus({ stats, figures, startedAt, dynamic }: StatusSources, full: boolean): Promise<PoolStatus> {
  const status: PoolStatus = {
    state: stats.state,
    processManager: dynamic ? 'dynamic' : 'static',
    startTime: new Date(startedAt).toISOString(),
    startSince: Math.round((Date.now() - startedAt) / 1000),
    acceptedJobs: stats.completed + stats.jobs.running,
    queue: stats.jobs.queued,
    maxQueue: figures.maxQueue,
    idle: stats.workers.idle,
    active: stats.workers.busy,
    total: stats.workers.total,
    maxActive: figures.maxBusy,
    maxChildrenReached: figures.maxReached,
    opcache: stats.opcache,
    opcacheReloads: stats.opcacheReloads,
    opcacheTooSmall: stats.opcacheTooSmall,
  };
  if (!full) return status;
  const now = Date.now();
  status.workers = await Promise.all(figures.slots.map(async (slot) => {
    const stat = procStat(slot.worker.pid);
    const memory = await readMemory(slot.worker.pid);
    return {
      pid: slot.worker.pid,
      state: slot.state,
      jobs: slot.jobs,
      startedAt: new Date(slot.startedAt).toISOString(),
      current: slot.current ? { label: slot.current.label, ms: now - slot.current.startedAt } : null,
      last: slot.last,
      cpuSeconds: stat ? stat.cpuTicks / clockTicks() : null,
      pss: memory?.pss ?? null,
      rss: memory?.rss ?? null,
    };
  }));
  return status;
}

/** php-fpm's plain-text status layout. */
export function statusText(s: PoolStatus): string {
  const rows: [string, string | number][] = [
    ['pool', 'php-zygote'],
    ['state', s.state],
    ['process manager', s.processManager],
    ['start time', s.startTime],
    ['start since', s.startSince],
    ['accepted conn', s.acceptedJobs],
    ['listen queue', s.queue],
    ['max listen queue', s.maxQueue],
    ['idle processes', s.idle],
    ['active processes', s.active],
    ['total processes', s.total],
    ['max active processes', s.maxActive],
    ['max children reached', s.maxChildrenReached],
  ];
  const o = s.opcache;
  if (o) {
    const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
    rows.push(
      ['opcache memory', `${mb(o.usedMemory)} used, ${mb(o.freeMemory)} free, ${mb(o.wastedMemory)} wasted`],
      ['opcache strings', `${mb(o.internedUsed)} used, ${mb(o.internedFree)} free`],
      ['opcache scripts', `${o.cachedScripts} (keys ${o.cachedKeys} of ${o.maxCachedKeys})`],
      ['opcache hit rate', o.hits + o.misses > 0 ? `${((100 * o.hits) / (o.hits + o.misses)).toFixed(1)} %` : '-'],
      ['opcache reloads', `${s.opcacheReloads}${s.opcacheTooSmall ? ' (too small: raise opcache.memory_consumption)' : ''}`],
    );
  }
  const block = (pairs: [string, string | number][]) => pairs.map(([k, v]) => `${`${k}:`.padEnd(22)}${v}`).join('\n');
  let text = `${block(rows)}\n`;
  for (const w of s.workers ?? []) {
    text += `\n************************\n${block([
      ['pid', w.pid],
      ['state', w.state],
      ['start time', w.startedAt],
      ['requests', w.jobs],
      ['request duration', w.current ? `${w.current.ms} ms` : '-'],
      ['request', w.current?.label || '-'],
      ['last request', w.last ? `${w.last.label || '-'} (${w.last.ms} ms)` : '-'],
      ['cpu seconds', w.cpuSeconds ?? '-'],
      ['pss', w.pss ?? '-'],
      ['rss', w.rss ?? '-'],
    ])}\n`;
  }
  return text;
}
