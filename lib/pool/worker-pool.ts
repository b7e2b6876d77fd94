/**
 * WorkerPool: the product's main API, a facade over the pool's engine
 * (engine.ts). It owns one PHP master (two during a reload), forks
 * workers from it, queues jobs FIFO and gives each to the least recently
 * used idle worker, and supervises: maxJobs, maxMemory, execTimeout, idle
 * timeout, scaling between min and max, restart with back-off, crash-loop
 * recovery, graceful reload and close.
 *
 * Every job settles: resolved, or rejected with a named error
 * (WorkerExitedError, JobError, JobTimeoutError, InvalidContextError,
 * QueueFullError, QueueTimeoutError, AbortError, PoolClosedError,
 * CrashLoopError).
 */
import { EventEmitter } from 'node:events';
import { AbortError } from '../errors.js';
import { adoptOrphans } from '../process/orphan-reaper.js';
import type { LogLine } from '../zygote/master.js';
import type { JobResult } from '../zygote/worker.js';
import type { Registry } from 'prom-client';
import { PoolEngine, type WorkerExitInfo } from './engine.js';
import type { PoolStats } from './stats.js';
import type { MetricsOptions, PoolMetrics } from './metrics.js';
import { Timings, type TimeSummary } from './timings.js';
import { poolStatus, type PoolStatus } from './status.js';
import type { PoolRunOptions } from './job-queue.js';
import { startMaster, type MasterFactory } from './master-factory.js';
import { validatePoolOptions, type WorkerPoolOptions } from './pool-options.js';
import { Watcher } from './watcher.js';

export type { WorkerPoolOptions } from './pool-options.js';
export type { PoolRunOptions } from './job-queue.js';
export type { PoolState, WorkerStats, WorkerExitInfo } from './engine.js';
export type { TimeSummary } from './timings.js';
export type { PoolStats } from './stats.js';
export type { MetricsOptions } from './metrics.js';
export type { PoolStatus, WorkerStatus } from './status.js';
export { statusText } from './status.js';

export type { ExitReason, SlotState } from './slot.js';
export type { MasterFactory, PoolMaster, PoolWorker } from './master-factory.js';

export interface PoolEvents {
  /** A worker joined the pool: forked and ready for jobs. */
  workerCreate: [info: { pid: number; master: number }];
  /** A worker left the pool (as `exit`, under piscina's name). */
  workerDestroy: [info: WorkerExitInfo];
  exit: [info: WorkerExitInfo];
  log: [line: LogLine];
  /**
   * The pool entered a crash loop (CrashLoopError), or a recovery's master
   * could not boot (MasterStartError). Only emitted when listened to.
   */
  error: [error: Error];
}

export interface PoolInternals {
  /** Boots a master. Replace it to test scheduling without PHP. Default: Master.start. */
  startMaster?: MasterFactory;
}

export class WorkerPool extends EventEmitter<PoolEvents> {
  readonly #engine: PoolEngine;
  readonly #closeTimeout: number;
  readonly #maxWorkers: number;
  readonly #dynamic: boolean;
  readonly #startedAt = Date.now();
  readonly #timings = new Timings();
  #metrics: PoolMetrics | null = null;
  readonly #watcher: Watcher | null;

  constructor(options: WorkerPoolOptions, internals: PoolInternals = {}) {
    super();
    const settings = validatePoolOptions(options);
    this.#closeTimeout = settings.closeTimeout;
    this.#maxWorkers = settings.max;
    this.#dynamic = settings.min !== settings.max;
    // Explicit and documented (README, "Orphans"): workers orphaned by a
    // dying master must reparent to Node, not to PID 1, to be reaped.
    if (settings.adoptOrphans) adoptOrphans();
    this.#engine = new PoolEngine(settings, internals.startMaster ?? startMaster, {
      workerCreate: (info) => this.emit('workerCreate', info),
      exit: (info) => {
        this.#timings.exit(info);
        this.emit('workerDestroy', info);
        this.emit('exit', info);
      },
      job: (outcome) => {
        this.#timings.job(outcome);
        this.#metrics?.job(outcome);
      },
      masterBoot: ({ ms }) => {
        this.#timings.masterBoots++;
        this.#metrics?.masterBoot(ms);
      },
      fork: (ms) => this.#metrics?.fork(ms),
      log: (line) => this.emit('log', line),
      error: (error) => {
        if (this.listenerCount('error') > 0) this.emit('error', error);
      },
    });
    this.#watcher = settings.watch.length > 0
      ? new Watcher(settings.watch, settings.master.php ?? 'php', {
          reload: () => this.reload(),
          notice: (line) => this.emit('log', { pid: process.pid, stream: 'pool', line }),
        })
      : null;
  }

  /** Resolves when the master booted and the minimum number of workers is ready. */
  ready(): Promise<void> {
    return this.#engine.ready;
  }

  /** Runs a job on the next free worker. */
  run(body: Uint8Array | string = '', options: PoolRunOptions = {}): Promise<JobResult> {
    if (options === null || typeof options !== 'object') return Promise.reject(new TypeError('options must be an object'));
    if (options.context !== undefined && (options.context === null || typeof options.context !== 'object' || Array.isArray(options.context))) {
      return Promise.reject(new TypeError('options.context must be a plain object'));
    }
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
      return Promise.reject(new TypeError('body must be a string, Buffer or Uint8Array'));
    }
    if (options.timeout !== undefined && !(typeof options.timeout === 'number' && options.timeout >= 0)) {
      return Promise.reject(new TypeError('options.timeout must be a non-negative number of milliseconds'));
    }
    if (options.label !== undefined && typeof options.label !== 'string') return Promise.reject(new TypeError('options.label must be a string'));
    if (options.onChunk !== undefined && typeof options.onChunk !== 'function') {
      return Promise.reject(new TypeError('options.onChunk must be a function'));
    }
    if (options.signal?.aborted) return Promise.reject(new AbortError(options.signal.reason));
    if (options.queuedSignal?.aborted) return Promise.reject(new AbortError(options.queuedSignal.reason));
    return this.#engine.submit(body, options);
  }

  /**
   * Boots a new master (re-reading the code and preload), forks new
   * workers from it, and retires the old ones as they finish their current
   * job. No job is lost or failed by a reload. Ends a crash loop.
   */
  reload(): Promise<void> {
    return this.#engine.reload();
  }

  /**
   * Stops taking jobs, rejects queued ones with PoolClosedError, lets
   * in-flight jobs finish (up to `timeout`, then SIGKILL), and resolves
   * when every process has exited and been reaped.
   */
  close({ timeout = this.#closeTimeout }: { timeout?: number } = {}): Promise<void> {
    if (!(typeof timeout === 'number' && timeout >= 0)) return Promise.reject(new TypeError('options.timeout must be a non-negative number of milliseconds'));
    this.#watcher?.close();
    return this.#engine.close(timeout);
  }

  stats(): PoolStats {
    return {
      ...this.#engine.stats(),
      completed: this.#timings.completed,
      utilization: this.#timings.utilization(this.#maxWorkers),
      runTime: this.#timings.runTime,
      waitTime: this.#timings.waitTime,
    };
  }

  /**
   * The status view, after php-fpm's pm.status_path: the pool's figures,
   * and with `full` a row per worker (state, jobs served, the job it runs
   * and for how long, its last job, CPU seconds and memory). Render it as
   * php-fpm's text with statusText().
   */
  status({ full = false }: { full?: boolean } = {}): Promise<PoolStatus> {
    return poolStatus({ stats: this.stats(), figures: this.#engine.statusFigures(), startedAt: this.#startedAt, dynamic: this.#dynamic }, full);
  }

  /**
   * The pool's Prometheus metrics (prom-client). The first call creates
   * them, in `options.registry` if given; later calls return the same
   * registry. Serve them with `await registry.metrics()`.
   */
  metrics(options?: MetricsOptions): Registry {
    if (!this.#metrics) {
      // Loaded on first use: prom-client takes ~45 ms to load, which a
      // pool that is never scraped should not pay.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { PoolMetrics: Metrics } = require('./metrics.js') as typeof import('./metrics.js');
      this.#metrics = new Metrics(() => this.stats(), this.#timings, options);
    }
    return this.#metrics.registry;
  }
}
