/**
 * WorkerPool: the product's main API. It owns one PHP master (two during
 * a reload), forks workers from it, queues jobs FIFO and gives each to the
 * least recently used idle worker, and supervises: maxJobs, maxMemory,
 * execTimeout, idle timeout, scaling between min and max, restart with
 * back-off, a crash-loop stop, graceful reload and close.
 *
 * Every job settles: resolved, or rejected with a named error
 * (WorkerExitedError, JobError, JobTimeoutError, QueueFullError,
 * QueueTimeoutError, AbortError, PoolClosedError, CrashLoopError).
 */
import { EventEmitter } from 'node:events';
import {
  AbortError,
  CrashLoopError,
  MasterClosedError,
  JobTimeoutError,
  MasterStartError,
  PoolClosedError,
  QueueFullError,
  QueueTimeoutError,
} from '../errors.js';
import type { Context } from '../protocol/frame.js';
import { Master, type LogLine } from '../zygote/master.js';
import { readMemory, type ProcessMemory } from '../process/memory.js';
import { validatePoolOptions, type PoolSettings, type WorkerPoolOptions } from './pool-options.js';
import { startOrphanReaper } from '../process/orphan-reaper.js';
import { setChildSubreaper } from '../native/subreaper.js';
import type { JobResult, Worker } from '../zygote/worker.js';

export type { WorkerPoolOptions } from './pool-options.js';

export interface PoolRunOptions {
  context?: Context;
  /** Aborting removes a queued job, or kills the worker running it (SIGKILL). */
  signal?: AbortSignal;
  /** Execution time limit for this job, ms; overrides execTimeout. */
  timeout?: number;
  /** Receives the parts of a streamed response as they arrive; a returned promise holds the worker back until it settles. */
  onChunk?: (chunk: Buffer, context: Context) => void | Promise<void>;
}

/** Why a worker left the pool. */
export type ExitReason =
  | 'maxJobs'
  | 'maxMemory'
  | 'execTimeout'
  | 'aborted'
  | 'idle'
  | 'reload'
  | 'close'
  | 'protocol'
  /** Its master died; it served on and was replaced by a worker of the new master. */
  | 'orphaned'
  | 'crashed';

export interface WorkerExitInfo {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  reason: ExitReason;
  /** Jobs the worker ran. */
  jobs: number;
}

export interface WorkerStats {
  pid: number;
  state: SlotState;
  jobs: number;
  /** Last measured memory, or null before the first measurement. */
  memory: ProcessMemory | null;
  startedAt: number;
}

export interface PoolStats {
  workers: { total: number; starting: number; idle: number; busy: number; retiring: number };
  jobs: { done: number; failed: number; running: number; queued: number };
  masters: number;
  list: WorkerStats[];
}

export interface PoolEvents {
  exit: [info: WorkerExitInfo];
  log: [line: LogLine];
  /** The pool stopped forking after a crash loop (CrashLoopError). Only emitted when listened to. */
  error: [error: Error];
}

type SlotState = 'idle' | 'busy' | 'retiring';

interface Slot {
  worker: Worker;
  master: Master;
  state: SlotState;
  jobs: number;
  lastUsed: number;
  startedAt: number;
  /** Set when the worker must go: after its current job, or now when idle. */
  retireReason: ExitReason | null;
  memory: ProcessMemory | null;
}

interface Job {
  body: Uint8Array | string;
  options: PoolRunOptions;
  resolve: (result: JobResult) => void;
  reject: (error: Error) => void;
  settled: boolean;
  timers: NodeJS.Timeout[];
  onAbort: (() => void) | null;
  slot: Slot | null;
}

const MAX_RESTART_DELAY_MS = 10_000;

export class WorkerPool extends EventEmitter<PoolEvents> {
  readonly #settings: PoolSettings;
  #master: Master | null = null;
  #masterStarting: Promise<Master> | null = null;
  readonly #masters = new Set<Master>();
  readonly #slots = new Set<Slot>();
  /** Idle slots, least recently used first. */
  #idle: Slot[] = [];
  #starting = 0;
  readonly #queue: Job[] = [];
  /** Set first thing in close(), before any await, so nothing forks after it. */
  #closed = false;
  #closing: Promise<void> | null = null;
  #reloading: Promise<void> = Promise.resolve();
  #failure: CrashLoopError | null = null;
  #crashes: number[] = [];
  #consecutiveFailures = 0;
  #backoffUntil = 0;
  #maintainTimer: NodeJS.Timeout | null = null;
  readonly #ticker: NodeJS.Timeout;
  readonly #ready: Promise<void>;
  #done = 0;
  #failed = 0;
  #running = 0;

  constructor(options: WorkerPoolOptions) {
    super();
    this.#settings = validatePoolOptions(options);
    // Workers orphaned by a dying master reparent to Node, which reaps them
    // through their pidfds instead of leaving them to PID 1; other orphans
    // (processes the workers started) are reaped by the orphan reaper.
    // Both stay on for the life of the process.
    setChildSubreaper(true);
    startOrphanReaper();
    this.#ticker = setInterval(() => this.#tick(), this.#settings.tick);
    this.#ticker.unref();
    this.#ready = this.#start();
    this.#ready.catch(() => {});
  }

  /** Resolves when the master booted and the minimum number of workers is ready. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Runs a job on the next free worker. */
  run(body: Uint8Array | string = '', options: PoolRunOptions = {}): Promise<JobResult> {
    if (this.#closed) return Promise.reject(new PoolClosedError());
    if (this.#failure) return Promise.reject(this.#failure);
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
    if (options.signal?.aborted) return Promise.reject(new AbortError(options.signal.reason));
    if (this.#idle.length === 0 && this.#queue.length >= this.#settings.maxQueue) {
      return Promise.reject(new QueueFullError(this.#settings.maxQueue));
    }
    return new Promise<JobResult>((resolve, reject) => {
      const job: Job = { body, options, resolve, reject, settled: false, timers: [], onAbort: null, slot: null };
      if (options.signal) {
        job.onAbort = () => this.#abort(job);
        options.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      if (this.#settings.queueTimeout > 0) {
        const timeout = this.#settings.queueTimeout;
        job.timers.push(setTimeout(() => {
          if (job.slot === null) this.#dequeue(job, new QueueTimeoutError(timeout));
        }, timeout));
      }
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  /**
   * Starts a new master (re-reading the code and preload), forks new
   * workers from it, and retires the old ones as they finish their current
   * job. No job is lost or failed by a reload.
   */
  async reload(): Promise<void> {
    if (this.#closed) throw new PoolClosedError();
    // One reload at a time: a second call waits for the first, then runs.
    const previous = this.#reloading;
    const current = previous.catch(() => {}).then(() => this.#reload());
    this.#reloading = current;
    return current;
  }

  async #reload(): Promise<void> {
    if (this.#closed) throw new PoolClosedError();
    const next = await this.#startMaster();
    if (this.#closed) {
      await this.#closeMaster(next);
      throw new PoolClosedError('the worker pool closed during reload()');
    }
    // A good boot ends a crash loop: reload() is how a fixed app comes back.
    this.#failure = null;
    this.#crashes = [];
    this.#consecutiveFailures = 0;
    this.#backoffUntil = 0;
    const previous = [...this.#masters].filter((m) => m !== next);
    this.#master = next;
    const oldSlots = [...this.#slots].filter((s) => s.master !== next && s.state !== 'retiring');
    // Replacements first, so capacity never drops during the switch.
    await Promise.allSettled(oldSlots.map(() => this.#spawn()));
    for (const slot of oldSlots) {
      if (slot.state === 'idle') this.#retire(slot, 'reload');
      else slot.retireReason ??= 'reload';
    }
    this.#maintain();
    await Promise.all(oldSlots.map((s) => s.worker.exited));
    await Promise.all(previous.map((m) => this.#closeMaster(m)));
  }

  /**
   * Stops taking jobs, rejects queued ones with PoolClosedError, lets
   * in-flight jobs finish (up to `timeout`, then SIGKILL), and resolves
   * when every process has exited and been reaped.
   */
  close({ timeout = this.#settings.closeTimeout }: { timeout?: number } = {}): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#close(timeout);
    return this.#closing;
  }

  stats(): PoolStats {
    const list = [...this.#slots].map((s) => ({ pid: s.worker.pid, state: s.state, jobs: s.jobs, memory: s.memory, startedAt: s.startedAt }));
    const count = (state: SlotState) => list.filter((w) => w.state === state).length;
    return {
      workers: { total: list.length + this.#starting, starting: this.#starting, idle: count('idle'), busy: count('busy'), retiring: count('retiring') },
      jobs: { done: this.#done, failed: this.#failed, running: this.#running, queued: this.#queue.length },
      masters: this.#masters.size,
      list,
    };
  }

  async #start(): Promise<void> {
    await this.#getMaster();
    await Promise.all(Array.from({ length: this.#settings.min }, () => this.#spawn()));
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new PoolClosedError('the worker pool closed before it was ready');
  }

  #getMaster(): Promise<Master> {
    if (this.#master?.alive) return Promise.resolve(this.#master);
    if (this.#closed) return Promise.reject(new PoolClosedError());
    this.#masterStarting ??= this.#startMaster()
      .then((master) => {
        this.#master = master;
        // Idle workers of a master that died are replaced now; busy ones
        // after their job (#release).
        for (const slot of [...this.#idle]) if (!slot.master.alive) this.#retire(slot, 'orphaned');
        return master;
      })
      .finally(() => {
        this.#masterStarting = null;
      });
    return this.#masterStarting;
  }

  async #startMaster(): Promise<Master> {
    let master: Master;
    try {
      master = await Master.start(this.#settings.master);
    } catch (err) {
      this.#recordCrash(err instanceof MasterStartError ? err.logs : []);
      throw err;
    }
    this.#masters.add(master);
    master.on('log', (line) => this.emit('log', line));
    master.exited.then(() => {
      this.#masters.delete(master);
      if (this.#master === master) {
        this.#master = null;
        if (!this.#closed) {
          this.#recordCrash(master.lastLogs(master.pid));
          // Orphaned workers go on serving (their channels are ours, not the
          // master's) and are replaced after their current job by workers
          // of a new master, started now so no job waits for its boot.
          if (!this.#failure) this.#getMaster().catch(() => {});
          this.#maintain();
        }
      }
    });
    if (this.#closed) await master.close();
    return master;
  }

  async #spawn(): Promise<void> {
    this.#starting++;
    try {
      const master = await this.#getMaster();
      const worker = await master.fork();
      const slot: Slot = { worker, master, state: 'busy', jobs: 0, lastUsed: Date.now(), startedAt: Date.now(), retireReason: null, memory: null };
      this.#slots.add(slot);
      worker.exited.then((exit) => this.#onExit(slot, exit.code, exit.signal));
      worker.on('protocol-error', () => {
        slot.retireReason ??= 'protocol';
      });
      this.#starting--;
      this.#release(slot);
    } catch (err) {
      this.#starting--;
      // A fork lost to a dying master is that master's crash, counted once
      // where it exited; not one more per fork that was in flight.
      if (!this.#closed && !(err instanceof MasterClosedError)) this.#recordCrash((err as { logs?: string[] }).logs ?? []);
    } finally {
      this.#maintain();
    }
  }

  /** A slot is free again: retire it if it must go, else make it idle. */
  #release(slot: Slot): void {
    if (slot.worker.hasExited) return;
    if (this.#closed) return this.#retire(slot, 'close');
    if (slot.retireReason) return this.#retire(slot, slot.retireReason);
    if (this.#settings.maxJobs > 0 && slot.jobs >= this.#settings.maxJobs) return this.#retire(slot, 'maxJobs');
    if (slot.master !== this.#master && this.#master !== null) return this.#retire(slot, slot.master.alive ? 'reload' : 'orphaned');
    slot.state = 'idle';
    slot.lastUsed = Date.now();
    this.#idle.push(slot);
    this.#dispatch();
  }

  #retire(slot: Slot, reason: ExitReason): void {
    if (slot.state === 'retiring') return;
    slot.state = 'retiring';
    slot.retireReason = reason;
    this.#idle = this.#idle.filter((s) => s !== slot);
    // The channel ends, the worker leaves Worker::serve() and exits 0.
    void slot.worker.close();
    this.#maintain();
  }

  #dispatch(): void {
    while (this.#queue.length > 0 && this.#idle.length > 0) {
      const slot = this.#idle.shift() as Slot;
      // Its pidfd already saw it die (the reap is on its way): a job sent
      // there would fail without having run.
      if (slot.worker.processHandle.hasExited) continue;
      const job = this.#queue.shift() as Job;
      this.#execute(slot, job);
    }
    this.#maintain();
  }

  #execute(slot: Slot, job: Job): void {
    slot.state = 'busy';
    slot.jobs++;
    job.slot = slot;
    this.#running++;
    const timeout = job.options.timeout ?? this.#settings.execTimeout;
    if (timeout > 0) {
      job.timers.push(setTimeout(() => {
        slot.retireReason = 'execTimeout';
        this.#settle(job, new JobTimeoutError(timeout, slot.worker.pid));
        slot.worker.kill('SIGKILL'); // through the pidfd: never a recycled pid
      }, timeout));
    }
    const onChunk = job.options.onChunk;
    const guardedOnChunk = onChunk && ((chunk: Buffer, context: Context) => {
      // If the caller's callback fails, the job fails with its error; PHP
      // would still be running it, so the worker goes (like an abort).
      const fail = () => {
        slot.retireReason = 'aborted';
        slot.worker.kill('SIGKILL');
      };
      try {
        const pending = onChunk(chunk, context);
        if (pending && typeof pending.then === 'function') return pending.catch((err: unknown) => { fail(); throw err; });
        return pending;
      } catch (err) {
        fail();
        throw err;
      }
    });
    slot.worker.run(job.body, { context: job.options.context, onChunk: guardedOnChunk }).then(
      (result) => this.#settle(job, null, result),
      (error: Error) => this.#settle(job, error),
    ).finally(() => {
      this.#running--;
      job.slot = null;
      if (this.#settings.maxMemory > 0 && !slot.worker.hasExited && !slot.retireReason) {
        void this.#measure(slot).then(() => this.#release(slot));
      } else {
        this.#release(slot);
      }
    });
  }

  #settle(job: Job, error: Error | null, result?: JobResult): void {
    if (job.settled) return;
    job.settled = true;
    for (const timer of job.timers) clearTimeout(timer);
    if (job.onAbort) job.options.signal?.removeEventListener('abort', job.onAbort);
    if (error) {
      this.#failed++;
      job.reject(error);
    } else {
      this.#done++;
      // A worker that answers is healthy: the restart back-off starts over.
      // (Not on fork: a worker that dies at every first job must back off.)
      this.#consecutiveFailures = 0;
      job.resolve(result as JobResult);
    }
  }

  #dequeue(job: Job, error: Error): void {
    const index = this.#queue.indexOf(job);
    if (index !== -1) this.#queue.splice(index, 1);
    this.#settle(job, error);
  }

  #abort(job: Job): void {
    const error = new AbortError(job.options.signal?.reason);
    if (job.slot === null) {
      this.#dequeue(job, error);
      return;
    }
    const slot = job.slot;
    slot.retireReason = 'aborted';
    this.#settle(job, error);
    slot.worker.kill('SIGKILL');
  }

  #onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    this.#slots.delete(slot);
    this.#idle = this.#idle.filter((s) => s !== slot);
    const reason: ExitReason = slot.retireReason ?? (this.#closed ? 'close' : 'crashed');
    if (reason === 'crashed') this.#recordCrash(slot.master.lastLogs(slot.worker.pid));
    this.emit('exit', { pid: slot.worker.pid, code, signal, reason, jobs: slot.jobs });
    this.#maintain();
  }

  #recordCrash(logs: string[]): void {
    const now = Date.now();
    this.#crashes = this.#crashes.filter((t) => now - t < this.#settings.crashWindow);
    this.#crashes.push(now);
    this.#consecutiveFailures++;
    const delay = Math.min(this.#settings.restartDelay * 2 ** (this.#consecutiveFailures - 1), MAX_RESTART_DELAY_MS);
    this.#backoffUntil = now + delay;
    if (this.#crashes.length >= this.#settings.crashLimit && !this.#failure) {
      this.#failure = new CrashLoopError(
        `${this.#crashes.length} workers or masters crashed within ${this.#settings.crashWindow} ms (crashLimit ${this.#settings.crashLimit}); the pool stopped forking`,
        logs,
      );
      for (const job of this.#queue.splice(0)) this.#settle(job, this.#failure);
      if (this.listenerCount('error') > 0) this.emit('error', this.#failure);
    }
  }

  /**
   * Workers not retiring (forks in progress not included), and how many
   * are wanted: `min`, or enough for the busy ones, the queue and `spare`,
   * up to `max`.
   */
  #capacity(): { live: number; wanted: number } {
    const { min, max, spare } = this.#settings;
    let live = 0;
    let busy = 0;
    for (const slot of this.#slots) {
      if (slot.state !== 'retiring') live++;
      if (slot.state === 'busy') busy++;
    }
    return { live, wanted: Math.min(max, Math.max(min, busy + this.#queue.length + spare)) };
  }

  /** Forks what is missing from what is wanted. */
  #maintain(): void {
    if (this.#closed || this.#failure) return;
    const capacity = this.#capacity();
    const live = capacity.live + this.#starting;
    const { wanted } = capacity;
    if (live >= wanted) return;
    const wait = this.#backoffUntil - Date.now();
    if (wait > 0) {
      this.#maintainTimer ??= setTimeout(() => {
        this.#maintainTimer = null;
        this.#maintain();
      }, wait);
      return;
    }
    for (let i = live; i < wanted; i++) void this.#spawn();
  }

  #tick(): void {
    const now = Date.now();
    const { idleTimeout } = this.#settings;
    // Idle workers above what is wanted go after idleTimeout, oldest first.
    const { live: liveNow, wanted } = this.#capacity();
    let live = liveNow;
    for (const slot of [...this.#idle]) {
      if (live <= wanted) break;
      if (now - slot.lastUsed >= idleTimeout) {
        this.#retire(slot, 'idle');
        live--;
      }
    }
    if (this.#settings.maxMemory > 0) {
      for (const slot of this.#slots) {
        if (slot.state === 'retiring') continue;
        void this.#measure(slot).then(() => {
          if (slot.retireReason === 'maxMemory' && slot.state === 'idle') this.#retire(slot, 'maxMemory');
        });
      }
    }
  }

  /** Reads the worker's memory; marks it for retirement when over maxMemory. */
  async #measure(slot: Slot): Promise<void> {
    const memory = await readMemory(slot.worker.pid);
    if (!memory) return;
    slot.memory = memory;
    if (memory[this.#settings.memoryMetric] > this.#settings.maxMemory) slot.retireReason ??= 'maxMemory';
  }

  async #close(timeout: number): Promise<void> {
    clearInterval(this.#ticker);
    if (this.#maintainTimer) clearTimeout(this.#maintainTimer);
    for (const job of this.#queue.splice(0)) this.#settle(job, new PoolClosedError('the worker pool closed before the job ran'));
    if (this.#masterStarting) await this.#masterStarting.catch(() => {});
    for (const slot of [...this.#idle]) this.#retire(slot, 'close');
    const killer = setTimeout(() => {
      for (const slot of this.#slots) slot.worker.kill('SIGKILL');
    }, timeout);
    // Wait for workers that are still being forked, then for every exit.
    while (this.#starting > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await Promise.all([...this.#slots].map((s) => s.worker.exited));
    clearTimeout(killer);
    // A reload in progress ends once its old workers are gone (above); only
    // then is every master it started known.
    await this.#reloading.catch(() => {});
    await Promise.all([...this.#masters].map((m) => this.#closeMaster(m)));
  }

  async #closeMaster(master: Master): Promise<void> {
    await master.close();
    this.#masters.delete(master);
  }
}
