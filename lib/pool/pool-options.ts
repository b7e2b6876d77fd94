/**
 * WorkerPool options: defaults and validation. Each check throws a
 * TypeError whose message names the option, synchronously, from the
 * constructor.
 */
import { availableParallelism } from 'node:os';
import { validateMasterOptions, type MasterOptions } from '../zygote/master-options.js';
import { parseBytes } from '../process/memory.js';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export interface WorkerCountRange {
  /** Workers kept even when idle (php-fpm pm.min_spare_servers / static size). Default 1. */
  min?: number;
  /**
   * Upper bound under load (pm.max_children), or 'auto': as many as fit in
   * memory (memoryBudget, else the container's cgroup limit, else the
   * machine's), counting each worker at its measured PSS; at most 256.
   */
  max: number | 'auto';
  /** Idle workers kept ready beyond the busy ones, within min..max (pm.max_spare_servers). Default 1, or 0 when min is 0 (on demand). */
  spare?: number;
}

export interface WorkerPoolOptions extends MasterOptions {
  /**
   * A fixed number of workers (php-fpm's static), or a range that grows
   * under load and shrinks after idleTimeout (dynamic; min 0 is ondemand).
   * Default: the number of CPUs.
   */
  workers?: number | WorkerCountRange;
  /** Jobs a worker runs before it is replaced (RoadRunner max_jobs). 0 = no limit. */
  maxJobs?: number;
  /** Memory a worker may use ('128M' or bytes), checked after each job and on every tick. */
  maxMemory?: number | string;
  /** Which measure maxMemory limits: 'pss' (default: shared pages counted once) or 'rss'. */
  memoryMetric?: 'pss' | 'rss';
  /** Longest a job may run, in ms; then its worker is killed with SIGKILL. 0 = none. */
  execTimeout?: number;
  /** Idle time after which a worker above `min` is stopped, ms. Default 10 s. */
  idleTimeout?: number;
  /** Jobs allowed to wait for a worker; more are rejected with QueueFullError. Default Infinity. */
  maxQueue?: number;
  /** Longest a job may wait for a worker, ms. 0 = no limit. */
  queueTimeout?: number;
  /** First delay before replacing a crashed worker, doubled per crash up to 10 s. Default 100 ms. */
  restartDelay?: number;
  /** Crashes (worker or master) within crashWindow that stop the pool. Default 10. */
  crashLimit?: number;
  /** Window for crashLimit, ms. Default 60 s (php-fpm's emergency_restart_interval). */
  crashWindow?: number;
  /**
   * In a crash loop, how long the pool waits before it boots a fresh
   * master and tries again, ms; doubled per failed recovery up to 5 min.
   * Default 5 s.
   */
  recoveryDelay?: number;
  /**
   * A job running longer than this (ms) gets its PHP stack logged, once,
   * and runs on (php-fpm's request_slowlog_timeout). 0 = off. The worker
   * dumps its stack on SIGWINCH (a sleep() in progress returns early).
   */
  slowlogTimeout?: number;
  /**
   * When every worker is busy and jobs wait, send each busy worker its
   * next job at once (one behind the one it runs), so it does not sleep
   * between jobs. Jobs with an AbortSignal are never sent ahead; a job
   * sent behind one whose client reads slowly waits for it. A job whose
   * worker dies before starting it is queued again. Default false.
   */
  pipeline?: boolean;
  /**
   * Reload when a PHP file changes (development): true watches the app
   * script's directory, or give directories. Changed files are linted
   * first; a syntax error is logged and the old code keeps serving.
   */
  watch?: boolean | string[];
  /** With workers.max 'auto': the memory the pool may fill ('512M' or bytes). Default: the cgroup limit, else the machine's memory. */
  memoryBudget?: number | string;
  /**
   * How often to ask the master for opcache's state, ms; 0 = never.
   * When the shared cache is full (or a restart is pending), every worker
   * compiles into private memory and the savings are gone: the pool then
   * reloads (a new master has fresh shared memory). Default 10 s.
   */
  opcacheCheck?: number;
  /**
   * Least time between two reloads for a full opcache, ms. A cache that
   * fills again sooner is too small: logged, not reloaded in a loop.
   * Default 5 min.
   */
  opcacheReloadInterval?: number;
  /**
   * Make Node a child subreaper and reap the orphans it adopts (workers
   * of a master that died, processes the workers started). Process-wide,
   * for the life of the process. Default true; without it such orphans
   * go to PID 1 and a dead master's workers' exit status is lost.
   */
  adoptOrphans?: boolean;
  /**
   * A fresh fork per job: the worker exits after one job (classic PHP
   * request isolation). A worker's successor is forked as soon as its job
   * starts, so no job waits for fork(); at most `max` jobs run at once, and
   * with the ready forks the pool has up to twice `max` processes.
   */
  isolated?: boolean;
  /** Period of the memory and idle checks, ms. Default 1 s. */
  tick?: number;
  /** close(): how long in-flight jobs may take before their workers get SIGKILL, ms. Default 10 s. */
  closeTimeout?: number;
}

export interface PoolSettings {
  master: MasterOptions;
  min: number;
  /** With maxAuto, the ceiling of what the memory budget may allow. */
  max: number;
  maxAuto: boolean;
  memoryBudget: number | null;
  /** Directories to watch for reloads; empty when off. */
  watch: string[];
  spare: number;
  maxJobs: number;
  /**
   * One job per worker (maxJobs 1), with ready forks: a worker that starts
   * its job is already leaving, so its successor is forked while it runs.
   */
  isolated: boolean;
  maxMemory: number;
  memoryMetric: 'pss' | 'rss';
  execTimeout: number;
  idleTimeout: number;
  maxQueue: number;
  queueTimeout: number;
  restartDelay: number;
  crashLimit: number;
  crashWindow: number;
  recoveryDelay: number;
  adoptOrphans: boolean;
  opcacheCheck: number;
  opcacheReloadInterval: number;
  slowlogTimeout: number;
  pipeline: boolean;
  tick: number;
  closeTimeout: number;
}

export const DEFAULTS = Object.freeze({
  maxJobs: 0,
  maxMemory: 0,
  memoryMetric: 'pss' as const,
  execTimeout: 0,
  idleTimeout: 10_000,
  maxQueue: Infinity,
  queueTimeout: 0,
  restartDelay: 100,
  crashLimit: 10,
  crashWindow: 60_000,
  recoveryDelay: 5000,
  adoptOrphans: true,
  opcacheCheck: 10_000,
  opcacheReloadInterval: 300_000,
  slowlogTimeout: 0,
  pipeline: false,
  isolated: false,
  tick: 1000,
  closeTimeout: 10_000,
});

/** The most workers 'auto' allows, whatever the memory: past this, scheduling costs more than a worker saves. */
export const AUTO_MAX_CAP = 256;

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isMs = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

export function validatePoolOptions(options: WorkerPoolOptions): PoolSettings {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  const { workers = availableParallelism(), script, args, php, ini, env, cwd, maxFrameSize, startTimeout, keepLogLines, user, group, hugePages } = options;

  let min: number;
  let max: number;
  let spare: number;
  let maxAuto = false;
  if (typeof workers === 'number') {
    if (!Number.isInteger(workers) || workers < 1) throw new TypeError('options.workers must be a positive integer or { min, max, spare }');
    min = max = workers;
    spare = 0;
  } else if (workers !== null && typeof workers === 'object') {
    min = workers.min ?? 1;
    maxAuto = workers.max === 'auto';
    max = maxAuto ? AUTO_MAX_CAP : (workers.max as number);
    spare = workers.spare ?? (min === 0 ? 0 : 1);
    if (!Number.isInteger(max) || max < 1) throw new TypeError("options.workers.max must be a positive integer or 'auto'");
    if (!isCount(min) || min > max) throw new TypeError('options.workers.min must be an integer from 0 to workers.max');
    if (!isCount(spare) || spare > max) throw new TypeError('options.workers.spare must be an integer from 0 to workers.max');
  } else {
    throw new TypeError('options.workers must be a positive integer or { min, max, spare }');
  }

  const memoryBudget = o.memoryBudget === undefined ? null : parseBytes(o.memoryBudget);
  if (memoryBudget !== null && !(Number.isFinite(memoryBudget) && memoryBudget > 0)) throw new TypeError("options.memoryBudget must be a number of bytes or a size like '512M'");
  if (memoryBudget !== null && !maxAuto) throw new TypeError("options.memoryBudget needs workers: { max: 'auto' }");
  if (!(o.watch === undefined || typeof o.watch === 'boolean' || (Array.isArray(o.watch) && o.watch.every((d) => typeof d === 'string' && existsSync(d))))) {
    throw new TypeError('options.watch must be a boolean or an array of existing directories');
  }
  const watchDirs = o.watch === true ? [path.dirname(path.resolve(cwd ?? process.cwd(), String(script)))] : Array.isArray(o.watch) ? o.watch : [];
  if (!isCount(o.maxJobs)) throw new TypeError('options.maxJobs must be a non-negative integer (0 = no limit)');
  const maxMemory = parseBytes(o.maxMemory);
  if (!Number.isFinite(maxMemory) || maxMemory < 0) throw new TypeError("options.maxMemory must be a number of bytes or a size like '128M'");
  if (o.memoryMetric !== 'pss' && o.memoryMetric !== 'rss') throw new TypeError("options.memoryMetric must be 'pss' or 'rss'");
  if (!isMs(o.execTimeout)) throw new TypeError('options.execTimeout must be a non-negative number of milliseconds');
  if (!isMs(o.idleTimeout)) throw new TypeError('options.idleTimeout must be a non-negative number of milliseconds');
  if (!(o.maxQueue === Infinity || isCount(o.maxQueue))) throw new TypeError('options.maxQueue must be a non-negative integer or Infinity');
  if (!isMs(o.queueTimeout)) throw new TypeError('options.queueTimeout must be a non-negative number of milliseconds');
  if (!isMs(o.restartDelay)) throw new TypeError('options.restartDelay must be a non-negative number of milliseconds');
  if (!Number.isInteger(o.crashLimit) || o.crashLimit < 1) throw new TypeError('options.crashLimit must be a positive integer');
  if (!isMs(o.crashWindow) || o.crashWindow === 0) throw new TypeError('options.crashWindow must be a positive number of milliseconds');
  if (!isMs(o.recoveryDelay) || o.recoveryDelay === 0) throw new TypeError('options.recoveryDelay must be a positive number of milliseconds');
  if (typeof o.adoptOrphans !== 'boolean') throw new TypeError('options.adoptOrphans must be a boolean');
  if (!isMs(o.opcacheCheck)) throw new TypeError('options.opcacheCheck must be a non-negative number of milliseconds (0 = never)');
  if (typeof o.pipeline !== 'boolean') throw new TypeError('options.pipeline must be a boolean');
  if (!isMs(o.slowlogTimeout)) throw new TypeError('options.slowlogTimeout must be a non-negative number of milliseconds (0 = off)');
  if (!isMs(o.opcacheReloadInterval)) throw new TypeError('options.opcacheReloadInterval must be a non-negative number of milliseconds');
  if (typeof o.isolated !== 'boolean') throw new TypeError('options.isolated must be a boolean');
  if (!isMs(o.tick) || o.tick < 10) throw new TypeError('options.tick must be at least 10 milliseconds');
  if (!isMs(o.closeTimeout)) throw new TypeError('options.closeTimeout must be a non-negative number of milliseconds');

  // Workers install the slow log's signal handler only when asked (php/src/SlowLog.php).
  const masterEnv = o.slowlogTimeout > 0 ? { ...(env ?? process.env), PHP_ZYGOTE_SLOWLOG: '1' } : env;
  const master = { script, args, php, ini, env: masterEnv, cwd, maxFrameSize, startTimeout, keepLogLines, user, group, hugePages };
  validateMasterOptions(master);
  return {
    master,
    min,
    max,
    maxAuto,
    memoryBudget,
    watch: watchDirs.map((d) => path.resolve(d)),
    spare,
    // Isolation is a worker that runs one job: the pool keeps forks ready.
    maxJobs: o.isolated ? 1 : o.maxJobs,
    isolated: o.isolated,
    maxMemory,
    memoryMetric: o.memoryMetric,
    execTimeout: o.execTimeout,
    idleTimeout: o.idleTimeout,
    maxQueue: o.maxQueue,
    queueTimeout: o.queueTimeout,
    restartDelay: o.restartDelay,
    crashLimit: o.crashLimit,
    crashWindow: o.crashWindow,
    recoveryDelay: o.recoveryDelay,
    adoptOrphans: o.adoptOrphans,
    opcacheCheck: o.opcacheCheck,
    opcacheReloadInterval: o.opcacheReloadInterval,
    slowlogTimeout: o.slowlogTimeout,
    pipeline: o.pipeline,
    tick: o.tick,
    closeTimeout: o.closeTimeout,
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
