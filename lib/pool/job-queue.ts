/**
 * Jobs waiting for a worker: admission (maxQueue), FIFO order, the wait
 * limit (queueTimeout) and cancellation by AbortSignal while queued. A
 * job settles exactly once, whoever gets there first: its answer, an
 * error, a timeout or an abort.
 */
import { performance } from 'node:perf_hooks';
import { AbortError, QueueFullError, QueueTimeoutError } from '../errors.js';
import type { Context } from '../protocol/frame.js';
import type { JobResult } from '../zygote/worker.js';
import type { Slot } from './slot.js';

export interface PoolRunOptions {
  context?: Context;
  /** Aborting removes a queued job, or kills the worker running it (SIGKILL). */
  signal?: AbortSignal;
  /**
   * Aborting removes the job if it is still waiting in the queue, and
   * does nothing once a worker has it: for a caller who no longer wants
   * a job that has not started (an HTTP client gone) but must not cut
   * one short.
   */
  queuedSignal?: AbortSignal;
  /** Execution time limit for this job, ms; overrides execTimeout. */
  timeout?: number;
  /** What the status view shows for this job while it runs, e.g. 'GET /index.php'. */
  label?: string;
  /** Receives the parts of a streamed response as they arrive; a returned promise holds the worker back until it settles. */
  onChunk?: (chunk: Buffer, context: Context) => void | Promise<void>;
}

export class Job {
  readonly body: Uint8Array | string;
  /** The context, already encoded: a context that cannot cross was refused before queueing. */
  readonly context: Buffer;
  readonly options: PoolRunOptions;
  readonly promise: Promise<JobResult>;
  /** The slot running it, from dispatch until it settles. */
  slot: Slot | null = null;
  /** performance.now() when it was queued, and when a worker took it (null while queued). */
  readonly queuedAt = performance.now();
  startedAt: number | null = null;
  #resolve!: (result: JobResult) => void;
  #reject!: (error: Error) => void;
  #settled = false;
  readonly #timers: NodeJS.Timeout[] = [];
  #onAbort: (() => void) | null = null;
  #onQueuedAbort: (() => void) | null = null;

  constructor(body: Uint8Array | string, context: Buffer, options: PoolRunOptions) {
    this.body = body;
    this.context = context;
    this.options = options;
    this.promise = new Promise<JobResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Calls `listener` once if the job's signal aborts before it settles. */
  onAbort(listener: () => void): void {
    const { signal } = this.options;
    if (!signal) return;
    this.#onAbort = listener;
    signal.addEventListener('abort', listener, { once: true });
  }

  /** Calls `listener` once if the job's queuedSignal aborts before it settles. */
  onQueuedAbort(listener: () => void): void {
    const signal = this.options.queuedSignal;
    if (!signal) return;
    this.#onQueuedAbort = listener;
    signal.addEventListener('abort', listener, { once: true });
  }

  /** Runs `callback` after `ms` unless the job settled first. */
  after(ms: number, callback: () => void): void {
    this.#timers.push(setTimeout(callback, ms));
  }

  /** Settles the job; false when it had settled already. */
  settle(error: Error | null, result?: JobResult): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    for (const timer of this.#timers) clearTimeout(timer);
    if (this.#onAbort) this.options.signal?.removeEventListener('abort', this.#onAbort);
    if (this.#onQueuedAbort) this.options.queuedSignal?.removeEventListener('abort', this.#onQueuedAbort);
    if (error) this.#reject(error);
    else this.#resolve(result as JobResult);
    return true;
  }
}

export class JobQueue {
  readonly #jobs: Job[] = [];
  /** The longest the queue has been (php-fpm's "max listen queue"). */
  maxLength = 0;
  readonly #maxQueue: number;
  readonly #queueTimeout: number;
  readonly #onSettle: (job: Job, error: Error | null) => void;

  /** `settle` is how a queued job is failed, so the pool's counters see it. */
  constructor(maxQueue: number, queueTimeout: number, settle: (job: Job, error: Error | null) => void) {
    this.#maxQueue = maxQueue;
    this.#queueTimeout = queueTimeout;
    this.#onSettle = settle;
  }

  get length(): number {
    return this.#jobs.length;
  }

  /** Throws QueueFullError when `maxQueue` jobs already wait (and no worker is free to take this one). */
  admit(idleWorkers: number): void {
    if (idleWorkers === 0 && this.#jobs.length >= this.#maxQueue) throw new QueueFullError(this.#maxQueue);
  }

  push(job: Job): void {
    this.#jobs.push(job);
    if (this.#jobs.length > this.maxLength) this.maxLength = this.#jobs.length;
    if (this.#queueTimeout > 0) {
      const timeout = this.#queueTimeout;
      job.after(timeout, () => {
        if (this.remove(job)) this.#onSettle(job, new QueueTimeoutError(timeout));
      });
    }
  }

  shift(): Job | undefined {
    return this.#jobs.shift();
  }

  peek(): Job | undefined {
    return this.#jobs[0];
  }

  /** A job sent to a worker that died before starting it goes back to the head (its queue timer still runs). */
  requeue(job: Job): void {
    job.startedAt = null;
    this.#jobs.unshift(job);
  }

  /** Takes a job out of the queue; false when it was not queued (it runs, or settled). */
  remove(job: Job): boolean {
    const index = this.#jobs.indexOf(job);
    if (index === -1) return false;
    this.#jobs.splice(index, 1);
    return true;
  }

  /** Cancels a queued job with AbortError; false when it was not queued. */
  abort(job: Job): boolean {
    if (!this.remove(job)) return false;
    this.#onSettle(job, new AbortError(job.options.signal?.reason));
    return true;
  }

  /** Fails every queued job with `error`. */
  drain(error: Error): void {
    for (const job of this.#jobs.splice(0)) this.#onSettle(job, error);
  }
}
