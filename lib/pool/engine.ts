/**
 * The pool's engine behind the WorkerPool facade: its life cycle, the
 * scheduling of jobs onto workers (FIFO queue, least recently used idle
 * worker first), scaling between min and max, the limits (maxJobs,
 * maxMemory, execTimeout, idle timeout), reload and close. Crash
 * accounting is the Supervisor's, waiting jobs the JobQueue's, masters
 * the Masters', one worker's state its Slot's.
 *
 *   starting → running ⇄ crash-loop
 *        └──────┴──────────┴→ closing → closed
 *
 * Every count stats() shows changes in the same synchronous step as the
 * state it counts, and before a job's promise settles, so a caller never
 * sees a finished job still running.
 *
 * Isolated pools (one job per worker) keep ready forks: a worker that
 * starts its job is already leaving, so capacity is counted in idle and
 * forking workers only, and its successor is forked while the job runs
 * rather than after its exit. Jobs running at once stay capped at `max`
 * by #dispatch, so such a pool has up to twice `max` processes.
 */
import { AbortError, JobTimeoutError, MasterClosedError, MasterStartError, PoolClosedError, type CrashLoopError } from '../errors.js';
import { performance } from 'node:perf_hooks';
import { readMemory, readMemorySync, type ProcessMemory } from '../process/memory.js';
import { encodeContext, type Context } from '../protocol/frame.js';
import type { LogLine, OpcacheStatus } from '../zygote/master.js';
import type { JobResult, WorkerExit } from '../zygote/worker.js';
import { Job, JobQueue, type PoolRunOptions } from './job-queue.js';
import type { MasterFactory, PoolMaster } from './master-factory.js';
import { Masters } from './masters.js';
import type { PoolSettings } from './pool-options.js';
import { Slot, type ExitReason, type SlotState } from './slot.js';
import { Supervisor } from './supervisor.js';
import { MemoryBudget, type BudgetReading } from './memory-budget.js';

export type PoolState = 'starting' | 'running' | 'crash-loop' | 'closing' | 'closed';

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

export interface EngineStats {
  /** The pool's life cycle: starting, running, crash-loop, closing, closed. */
  state: PoolState;
  /** Opcache's shared state at the last check (null: off, or not checked yet). */
  opcache: OpcacheStatus | null;
  /** Reloads done because opcache's shared memory was full. */
  opcacheReloads: number;
  /** The cache filled again sooner than opcacheReloadInterval after such a reload: raise opcache.memory_consumption. */
  opcacheTooSmall: boolean;
  /** With workers.max 'auto': the last memory reading and how many workers it allows; else null. */
  memoryBudget: BudgetReading | null;
  /**
   * Processes by state. In an isolated pool `total` may reach twice `max`:
   * up to `max` busy, and as many idle or starting ready forks.
   */
  workers: { total: number; starting: number; idle: number; busy: number; retiring: number };
  jobs: { done: number; failed: number; running: number; queued: number };
  masters: number;
  list: WorkerStats[];
}

/** How one job ended, for the pool's timings and metrics. */
export interface JobOutcome {
  /** Time in the queue, ms. */
  waitMs: number;
  /** Time on a worker, ms; null when it never ran (refused, timed out or aborted while queued). */
  runMs: number | null;
  /** Null when it succeeded. */
  error: Error | null;
}

export interface EngineEvents {
  /** A worker joined the pool (forked and ready). */
  workerCreate(info: { pid: number; master: number }): void;
  exit(info: WorkerExitInfo): void;
  job(outcome: JobOutcome): void;
  /** A master booted, in `ms`. */
  masterBoot(info: { pid: number; ms: number }): void;
  /** A fork from request to ready worker took `ms`. */
  fork(ms: number): void;
  log(line: LogLine): void;
  /** A crash loop began (CrashLoopError), or a recovery's master failed to boot (MasterStartError). */
  error(error: Error): void;
}

/**
 * Whether opcache can no longer cache what the workers load. Its own
 * `cache_full` flag is not enough: opcache raises it only once the largest
 * free block is under 64 KB, while scripts bigger than what is left are
 * already refused, silently. So also: a restart pending, the key table
 * full, or less than 2 % of the shared memory free.
 */
export function opcacheIsFull(s: OpcacheStatus): boolean {
  const total = s.usedMemory + s.freeMemory + s.wastedMemory;
  return s.cacheFull || s.restartPending || (s.maxCachedKeys > 0 && s.cachedKeys >= s.maxCachedKeys) || s.freeMemory < total * 0.02;
}

export class PoolEngine {
  readonly ready: Promise<void>;
  readonly #settings: PoolSettings;
  readonly #events: EngineEvents;
  readonly #masters: Masters;
  readonly #supervisor: Supervisor;
  readonly #queue: JobQueue;
  readonly #slots = new Set<Slot>();
  /** Idle slots, least recently used first. */
  #idle: Slot[] = [];
  /** Forks in flight, from the request (or the master's boot) to a ready slot. */
  readonly #forks = new Set<Promise<void>>();
  #state: PoolState = 'starting';
  #reloading: Promise<void> = Promise.resolve();
  #maintainTimer: NodeJS.Timeout | null = null;
  #recoveryTimer: NodeJS.Timeout | null = null;
  readonly #ticker: NodeJS.Timeout;
  #done = 0;
  #failed = 0;
  #running = 0;
  #opcache: OpcacheStatus | null = null;
  #opcacheCheckedAt = 0;
  #opcacheReloadedAt = -Infinity;
  #opcacheReloads = 0;
  #opcacheTooSmall = false;
  #opcacheReloading = false;
  /** php-fpm's status figures: most workers busy at once; times more were wanted than max. */
  #maxBusy = 0;
  /** Pipelined jobs sent to a worker behind the one it runs, not started yet. */
  readonly #behind = new WeakMap<Slot, Job[]>();
  readonly #budget: MemoryBudget | null;
  #measuringBudget = false;
  #maxReached = 0;
  #atMax = false;

  constructor(settings: PoolSettings, factory: MasterFactory, events: EngineEvents) {
    this.#settings = settings;
    this.#events = events;
    this.#supervisor = new Supervisor(settings);
    this.#budget = settings.maxAuto
      ? new MemoryBudget(settings.memoryBudget, settings.min, settings.max, { processesPerWorker: settings.isolated ? 2 : 1 })
      : null;
    this.#queue = new JobQueue(settings.maxQueue, settings.queueTimeout, (job, error) => this.#settle(job, error));
    this.#masters = new Masters(factory, settings.master, {
      log: (line) => events.log(line),
      bootFailed: (error) => this.#crash(error instanceof MasterStartError ? error.logs : []),
      booted: (master, ms) => {
        events.masterBoot({ pid: master.pid, ms });
        this.#retireOrphans();
      },
      currentDied: (master) => this.#onMasterDied(master),
    });
    this.#ticker = setInterval(() => this.#tick(), settings.tick);
    this.#ticker.unref();
    this.ready = this.#start();
    this.ready.catch(() => {});
  }

  get state(): PoolState {
    return this.#state;
  }

  /** Queues a job; rejects at once when the pool cannot take it. */
  submit(body: Uint8Array | string, options: PoolRunOptions): Promise<JobResult> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(new PoolClosedError());
    if (this.#state === 'crash-loop') return Promise.reject(this.#supervisor.crashLoop as CrashLoopError);
    let job: Job;
    try {
      job = new Job(body, encodeContext(options.context), options);
      this.#queue.admit(this.#startable());
    } catch (err) {
      return Promise.reject(err as Error); // InvalidContextError, QueueFullError
    }
    job.onAbort(() => this.#abort(job));
    job.onQueuedAbort(() => this.#queue.abort(job)); // removed if still waiting; else nothing
    this.#queue.push(job);
    this.#dispatch();
    return job.promise;
  }

  reload(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(new PoolClosedError());
    // One reload at a time: a second call waits for the first, then runs.
    const current = this.#reloading.catch(() => {}).then(() => this.#reload());
    this.#reloading = current;
    return current;
  }

  #closing: Promise<void> | null = null;

  close(timeout: number): Promise<void> {
    this.#closing ??= this.#close(timeout);
    return this.#closing;
  }

  /** The figures of php-fpm's status page that stats() does not have. */
  statusFigures(): { maxQueue: number; maxBusy: number; maxReached: number; slots: readonly Slot[] } {
    return { maxQueue: this.#queue.maxLength, maxBusy: this.#maxBusy, maxReached: this.#maxReached, slots: [...this.#slots] };
  }

  stats(): EngineStats {
    const list: WorkerStats[] = [...this.#slots].map((s) => ({ pid: s.worker.pid, state: s.state, jobs: s.jobs, memory: s.memory, startedAt: s.startedAt }));
    const count = (state: SlotState) => list.filter((w) => w.state === state).length;
    return {
      state: this.#state,
      opcache: this.#opcache,
      opcacheReloads: this.#opcacheReloads,
      opcacheTooSmall: this.#opcacheTooSmall,
      memoryBudget: this.#budget?.reading ?? null,
      workers: { total: list.length + this.#forks.size, starting: this.#forks.size, idle: count('idle'), busy: count('busy'), retiring: count('retiring') },
      jobs: { done: this.#done, failed: this.#failed, running: this.#running, queued: this.#queue.length },
      masters: this.#masters.count,
      list,
    };
  }

  get #stopping(): boolean {
    return this.#state === 'closing' || this.#state === 'closed';
  }

  async #start(): Promise<void> {
    try {
      await this.#masters.get();
      await Promise.all(Array.from({ length: this.#settings.min }, () => this.#spawn()));
      if (this.#state === 'crash-loop') throw this.#supervisor.crashLoop;
      if (this.#stopping) throw new PoolClosedError('the worker pool closed before it was ready');
    } finally {
      if (this.#state === 'starting') this.#state = 'running';
    }
  }

  /** Forks one worker and adds it as a slot; resolves when that is done or failed. */
  #spawn(): Promise<void> {
    const fork = (async () => {
      try {
        const master = await this.#masters.get();
        const asked = performance.now();
        const worker = await master.fork();
        this.#events.fork(performance.now() - asked);
        const slot = new Slot(worker, master);
        this.#slots.add(slot);
        this.#events.workerCreate({ pid: worker.pid, master: master.pid });
        void worker.exited.then((exit) => this.#onExit(slot, exit));
        worker.on('protocol-error', () => slot.kill('protocol'));
        worker.on('lost', () => this.#onLost(slot));
        this.#release(slot);
      } catch (err) {
        // A failed boot was counted where it failed; a fork lost to a dying
        // master is that master's crash, counted once where it exited.
        if (this.#stopping || err instanceof MasterClosedError || err instanceof MasterStartError || err instanceof PoolClosedError) return;
        this.#crash((err as { logs?: string[] }).logs ?? []);
      }
    })();
    this.#forks.add(fork);
    void fork.finally(() => {
      this.#forks.delete(fork);
      this.#maintain();
    });
    return fork;
  }

  /** Workers cap: `max`, or what the memory budget allows now. */
  get #max(): number {
    return this.#budget ? this.#budget.allowed : this.#settings.max;
  }

  /**
   * Jobs that could start now: the idle workers. In an isolated pool those
   * include the ready forks standing behind running jobs, so `max` caps
   * the running jobs rather than the workers.
   */
  #startable(): number {
    if (!this.#settings.isolated) return this.#idle.length;
    return Math.min(this.#idle.length, Math.max(0, this.#max - this.#running));
  }

  #dispatch(): void {
    while (this.#queue.length > 0 && this.#startable() > 0) {
      const slot = this.#idle.shift() as Slot;
      // Its exit was seen (the reap is on its way): a job sent there would
      // fail without having run.
      if (slot.worker.exitSeen) {
        slot.exitSeen();
        continue;
      }
      this.#execute(slot, this.#queue.shift() as Job);
    }
    if (this.#settings.pipeline) this.#pipeline();
    this.#maintain();
  }

  /**
   * No worker is idle and jobs wait: each busy worker gets the next job
   * now, so it finds it in its socket when it finishes the one it runs,
   * instead of sleeping until Node's answer crosses CPUs. Only one job
   * behind another, only on a worker that will take it (no maxJobs or
   * reload due), and only jobs without an AbortSignal, whose promise (an
   * abort before it runs never runs it) a job already sent could not
   * keep. A job behind one whose client reads slowly waits for it (the
   * worker is held back by backpressure). FIFO holds: the queue's head
   * waits rather than being skipped.
   */
  #pipeline(): void {
    const { maxJobs } = this.#settings;
    for (const slot of this.#slots) {
      const next = this.#queue.peek();
      if (!next || next.options.signal) return;
      if (slot.state !== 'busy' || slot.inFlight !== 1 || slot.reason !== null || slot.worker.exitSeen) continue;
      if (maxJobs > 0 && slot.jobs + 1 > maxJobs) continue;
      this.#execute(slot, this.#queue.shift() as Job);
    }
  }

  #execute(slot: Slot, job: Job): void {
    const behind = slot.inFlight > 0; // pipelined: sent now, runs after the job ahead
    slot.occupy(job.options.label);
    job.slot = slot;
    this.#running++; // equal to the busy workers at every moment, unless pipelining
    if (this.#running > this.#maxBusy) this.#maxBusy = this.#running;
    if (behind) this.#behindOf(slot).push(job);
    else this.#startJob(slot, job);
    this.#send(slot, job);
  }

  #behindOf(slot: Slot): Job[] {
    let jobs = this.#behind.get(slot);
    if (!jobs) this.#behind.set(slot, (jobs = []));
    return jobs;
  }

  /** The job starts running on the worker: its time limits count from now. */
  #startJob(slot: Slot, job: Job): void {
    job.startedAt = performance.now();
    slot.current ??= { label: job.options.label ?? '', startedAt: Date.now() };
    const timeout = job.options.timeout ?? this.#settings.execTimeout;
    if (timeout > 0) {
      job.after(timeout, () => {
        this.#kill(slot, 'execTimeout');
        this.#settle(job, new JobTimeoutError(timeout, slot.worker.pid));
      });
    }
    const { slowlogTimeout } = this.#settings;
    if (slowlogTimeout > 0) {
      job.after(slowlogTimeout, () => {
        if (job.slot !== slot) return;
        this.#notice(`a job on worker ${slot.worker.pid} has run for ${slowlogTimeout} ms (slowlogTimeout); its PHP stack follows`);
        slot.worker.kill('SIGWINCH'); // php/src/SlowLog.php dumps the stack and the job goes on
      });
    }
  }

  #send(slot: Slot, job: Job): void {
    const onChunk = job.options.onChunk;
    // If the caller's callback fails, the job fails with its error. PHP is
    // still running the job, which nobody wants now: like an abort, the
    // worker goes.
    const guarded = onChunk && ((chunk: Buffer, context: Context) => {
      try {
        const pending = onChunk(chunk, context);
        if (pending && typeof pending.then === 'function') {
          return pending.catch((err: unknown) => {
            this.#kill(slot, 'aborted');
            throw err;
          });
        }
        return pending;
      } catch (err) {
        this.#kill(slot, 'aborted');
        throw err;
      }
    });
    slot.worker.run(job.body, { context: job.context, onChunk: guarded }).then(
      (result) => this.#finish(slot, job, null, result),
      (error: Error) => this.#finish(slot, job, error),
    );
  }

  /** The worker answered (or died): the slot is free before the job settles. */
  #finish(slot: Slot, job: Job, error: Error | null, result?: JobResult): void {
    const neverStarted = job.startedAt === null && job.slot === slot;
    const waiting = this.#behind.get(slot);
    const index = waiting ? waiting.indexOf(job) : -1;
    if (index !== -1) waiting?.splice(index, 1);
    this.#detach(job);
    if (error && neverStarted && !job.settled) {
      // It waited behind another job on a worker that died or broke: it
      // never ran, so it goes back to the head of the queue.
      this.#queue.requeue(job);
    }
    // The worker answered the job ahead: the one behind it starts now.
    const alive = slot.state !== 'retiring' && !slot.worker.exitSeen;
    if (alive && waiting && waiting.length > 0 && waiting[0].startedAt === null) this.#startJob(slot, waiting[0]);
    if (slot.inFlight === 0) this.#release(slot);
    if (!(error && neverStarted)) this.#settle(job, error, result);
    // Requeued, or (isolated) a place under `max` freed: see #settle.
    if ((error && neverStarted) || this.#settings.isolated) this.#dispatch();
  }

  /** The job no longer occupies its slot (answered, timed out or aborted). */
  #detach(job: Job): void {
    if (job.slot === null) return;
    job.slot.jobEnded();
    job.slot = null;
    this.#running--;
  }

  #settle(job: Job, error: Error | null, result?: JobResult): void {
    if (job.settled) return;
    const ran = job.slot !== null;
    this.#detach(job);
    if (error) {
      this.#failed++;
    } else {
      this.#done++;
      // A worker that answers is healthy: the restart back-off starts over.
      // (Not on fork: a worker that dies at every first job must back off.)
      this.#supervisor.recordSuccess();
    }
    job.settle(error, result);
    const now = performance.now();
    const started = job.startedAt;
    this.#events.job({ waitMs: (started ?? now) - job.queuedAt, runMs: started === null ? null : now - started, error });
    // Isolated: a job that ended frees a place under `max` (not a worker:
    // its worker retires), and a ready fork may be waiting for it.
    if (this.#settings.isolated && ran) this.#dispatch();
  }

  #abort(job: Job): void {
    if (this.#queue.abort(job)) return;
    const slot = job.slot;
    if (!slot) return;
    this.#kill(slot, 'aborted');
    this.#settle(job, new AbortError(job.options.signal?.reason));
  }

  /** A slot is free again: it goes if it must, else it waits for the next job. */
  #release(slot: Slot): void {
    if (slot.state === 'retiring') return;
    if (slot.worker.exitSeen) return slot.exitSeen();
    if (this.#stopping) return this.#retire(slot, 'close');
    const { maxJobs, maxMemory } = this.#settings;
    if (maxJobs > 0 && slot.jobs >= maxJobs) slot.markForRetirement('maxJobs');
    if (maxMemory > 0 && slot.reason === null) this.#checkMemory(slot, readMemorySync(slot.worker.pid));
    const current = this.#masters.current;
    if (current !== null && slot.master !== current) slot.markForRetirement(slot.master.alive ? 'reload' : 'orphaned');
    if (slot.reason !== null) return this.#retire(slot, slot.reason);
    slot.free();
    this.#idle.push(slot);
    this.#dispatch();
  }

  #retire(slot: Slot, reason: ExitReason): void {
    slot.retire(reason);
    this.#idle = this.#idle.filter((s) => s !== slot);
    this.#maintain();
  }

  #checkMemory(slot: Slot, memory: ProcessMemory | null): void {
    if (!memory) return;
    slot.memory = memory;
    if (memory[this.#settings.memoryMetric] > this.#settings.maxMemory) slot.markForRetirement('maxMemory');
  }

  /** Its death was seen (before its status): no job goes there any more. */
  #onLost(slot: Slot): void {
    if (!this.#slots.has(slot) || slot.state !== 'idle') return;
    this.#idle = this.#idle.filter((s) => s !== slot);
    slot.exitSeen();
  }

  /** Kills a slot's worker for a reason of the pool's, and forks its replacement now rather than at its exit. */
  #kill(slot: Slot, reason: ExitReason): void {
    slot.kill(reason);
    this.#idle = this.#idle.filter((s) => s !== slot);
    this.#maintain();
  }

  #onExit(slot: Slot, exit: WorkerExit): void {
    this.#slots.delete(slot);
    this.#idle = this.#idle.filter((s) => s !== slot);
    const reason: ExitReason = slot.reason ?? (this.#stopping ? 'close' : 'crashed');
    // A worker that died on its own, or broke the protocol, is a crash;
    // one the pool retired or killed for a limit is not.
    if (reason === 'crashed' || reason === 'protocol') this.#crash(slot.master.lastLogs(slot.worker.pid));
    this.#events.exit({ pid: slot.worker.pid, code: exit.code, signal: exit.signal, reason, jobs: slot.jobs });
    this.#maintain();
  }

  #onMasterDied(master: PoolMaster): void {
    this.#crash(master.lastLogs(master.pid));
    // Orphaned workers go on serving (their channels are ours, not the
    // master's) and are replaced after their current job by workers of a
    // new master, booted now so no job waits for it.
    if (this.#state === 'running' || this.#state === 'starting') this.#masters.get().catch(() => {});
    this.#maintain();
  }

  /** Idle workers of a master that died are replaced now that a new one booted; busy ones after their job. */
  #retireOrphans(): void {
    for (const slot of [...this.#idle]) if (!slot.master.alive) this.#retire(slot, 'orphaned');
  }

  #crash(logs: string[]): void {
    if (this.#stopping) return;
    const loop = this.#supervisor.recordCrash(logs);
    if (!loop) return;
    this.#state = 'crash-loop';
    this.#queue.drain(loop);
    this.#events.error(loop);
    this.#scheduleRecovery();
  }

  #scheduleRecovery(): void {
    if (this.#recoveryTimer) clearTimeout(this.#recoveryTimer);
    this.#recoveryTimer = setTimeout(() => {
      this.#recoveryTimer = null;
      void this.#recover();
    }, this.#supervisor.recoveryDelay());
    // A server keeps Node alive with its socket; a pool in a crash loop alone must not.
    this.#recoveryTimer.unref();
  }

  /** After the crash-loop delay: a fresh master, and forking resumes; if it cannot boot, try again later. */
  async #recover(): Promise<void> {
    if (this.#state !== 'crash-loop') return;
    let next: PoolMaster;
    try {
      next = await this.#masters.boot();
    } catch (err) {
      if (this.#state !== 'crash-loop') return;
      this.#supervisor.recoveryFailed();
      this.#events.error(err as Error);
      this.#scheduleRecovery();
      return;
    }
    if (this.#state !== 'crash-loop') return;
    this.#switchTo(next);
  }

  async #reload(): Promise<void> {
    if (this.#stopping) throw new PoolClosedError();
    const previous = this.#masters.others().concat(this.#masters.current ?? []);
    const next = await this.#masters.boot();
    const old = this.#switchTo(next);
    // Replacements first, so capacity never drops during the switch. An
    // isolated pool's capacity is its ready forks, which #switchTo's
    // #maintain already forks from the new master; its busy workers leave
    // after their job anyway and need no replacement of their own.
    await Promise.allSettled((this.#settings.isolated ? [] : old).map(() => this.#spawn()));
    for (const slot of old) {
      if (slot.state === 'idle') this.#retire(slot, 'reload');
      else slot.markForRetirement('reload');
    }
    this.#maintain();
    await Promise.all(old.map((s) => s.worker.exited));
    await Promise.all(previous.filter((m) => m !== next).map((m) => this.#masters.close(m)));
  }

  /**
   * A good boot ends a crash loop (reload() is how a fixed app comes
   * back): forking resumes. Returns the slots of older masters, which
   * leave after their current job.
   */
  #switchTo(next: PoolMaster): Slot[] {
    this.#supervisor.recover();
    if (this.#recoveryTimer) clearTimeout(this.#recoveryTimer);
    this.#recoveryTimer = null;
    if (this.#state === 'crash-loop') this.#state = 'running';
    const old = [...this.#slots].filter((s) => s.master !== next && s.state !== 'retiring');
    for (const slot of old) {
      if (slot.state === 'idle') this.#retire(slot, slot.master.alive ? 'reload' : 'orphaned');
      else slot.markForRetirement(slot.master.alive ? 'reload' : 'orphaned');
    }
    this.#maintain();
    return old;
  }

  /**
   * Workers not retiring, and how many are wanted: `min`, or enough for
   * the busy ones, the queue and `spare`, up to `max`. In an isolated
   * pool a busy worker exits after its job, so it is no capacity: `live`
   * counts the ready (idle) ones (and dying ones, below), and what is
   * wanted is forked while the busy ones still run (#dispatch keeps the
   * running jobs under `max`).
   */
  #capacity(): { live: number; wanted: number } {
    const { min, spare, isolated } = this.#settings;
    const max = this.#max;
    let live = 0;
    let busy = 0;
    for (const slot of this.#slots) {
      // A worker that died on its own counts until its exit is in: that
      // is when the crash is recorded, and the back-off must hold for its
      // replacement. One the pool killed is 'retiring' at once.
      if (slot.state === 'busy') busy++;
      if (!isolated) {
        if (slot.state !== 'retiring') live++;
      } else if (slot.state === 'idle' || (slot.state === 'retiring' && slot.reason === null)) {
        // Isolated: the busy one's successor was forked when its job
        // started. One whose death was seen (retiring, no reason of the
        // pool's) still counts: its job's failure dispatches the next job
        // before its exit records the crash, and that job must not fork
        // past the back-off (workers dying at their first job would fork
        // in a chain).
        live++;
      }
    }
    const uncapped = Math.max(min, busy + this.#queue.length);
    // Counted once per episode, like php-fpm's "max children reached".
    const atMax = uncapped > max && this.#queue.length > 0;
    if (atMax && !this.#atMax) this.#maxReached++;
    this.#atMax = atMax;
    return { live, wanted: Math.min(max, Math.max(min, busy + this.#queue.length + spare)) };
  }

  /** Forks what is missing from what is wanted, once the back-off allows. */
  #maintain(): void {
    if (this.#state === 'crash-loop' || this.#stopping) return;
    const { live, wanted } = this.#capacity();
    const missing = wanted - live - this.#forks.size;
    if (missing <= 0) return;
    const wait = this.#supervisor.backoff;
    if (wait > 0) {
      this.#maintainTimer ??= setTimeout(() => {
        this.#maintainTimer = null;
        this.#maintain();
      }, wait);
      return;
    }
    for (let i = 0; i < missing; i++) void this.#spawn();
  }

  #tick(): void {
    const now = Date.now();
    if (this.#budget && !this.#measuringBudget) {
      this.#measuringBudget = true;
      const masters = this.#masters.current ? [this.#masters.current.pid] : [];
      const workers = [...this.#slots].filter((s) => s.state !== 'retiring').map((s) => s.worker.pid);
      void this.#budget.measure(masters, workers).finally(() => {
        this.#measuringBudget = false;
        // Room for more, or fewer wanted now. Isolated: a higher cap may
        // also let a queued job start on a ready fork.
        if (this.#settings.isolated) this.#dispatch();
        else this.#maintain();
      });
    }
    if (this.#settings.opcacheCheck > 0 && now - this.#opcacheCheckedAt >= this.#settings.opcacheCheck) {
      this.#opcacheCheckedAt = now;
      void this.#checkOpcache();
    }
    // Idle workers above what is wanted go after idleTimeout, oldest first.
    const { live: liveNow, wanted } = this.#capacity();
    let live = liveNow;
    for (const slot of [...this.#idle]) {
      if (live <= wanted) break;
      if (now - slot.lastUsed >= this.#settings.idleTimeout) {
        this.#retire(slot, 'idle');
        live--;
      }
    }
    if (this.#settings.maxMemory > 0) {
      for (const slot of this.#slots) {
        if (slot.state === 'retiring') continue;
        void readMemory(slot.worker.pid).then((memory) => {
          this.#checkMemory(slot, memory);
          if (slot.reason === 'maxMemory' && slot.state === 'idle') this.#retire(slot, 'maxMemory');
        });
      }
    }
  }

  /**
   * Opcache's shared memory is every worker's: once it is full, new code
   * compiles into each worker's private memory, silently. A reload gives
   * a new master with fresh shared memory; one that fills again too soon
   * means the cache is too small, and reloading in a loop would not help.
   */
  async #checkOpcache(): Promise<void> {
    const master = this.#masters.current;
    if (!master?.opcacheStatus || this.#state !== 'running') return;
    let status: OpcacheStatus | null;
    try {
      status = await master.opcacheStatus();
    } catch {
      return; // the master is going away; the next check asks the next one
    }
    this.#opcache = status;
    if (!status || !opcacheIsFull(status) || this.#opcacheReloading) return;
    const now = Date.now();
    const since = now - this.#opcacheReloadedAt;
    if (since < this.#settings.opcacheReloadInterval) {
      if (!this.#opcacheTooSmall) {
        this.#opcacheTooSmall = true;
        this.#notice(`opcache is full again ${Math.round(since / 1000)} s after a reload for a full cache: raise opcache.memory_consumption (now ${Math.round((status.usedMemory + status.freeMemory + status.wastedMemory) / 1048576)} MB) or opcache.max_accelerated_files; not reloading again before opcacheReloadInterval`);
      }
      return;
    }
    this.#opcacheReloadedAt = now;
    this.#opcacheReloads++;
    this.#opcacheReloading = true;
    this.#notice(`opcache's shared memory is full (${status.cachedScripts} scripts, ${Math.round(status.usedMemory / 1048576)} MB used): reloading for a fresh cache`);
    try {
      await this.reload();
      this.#opcacheTooSmall = false;
    } catch (err) {
      this.#notice(`the reload for a full opcache failed: ${(err as Error).message}`);
    } finally {
      this.#opcacheReloading = false;
    }
  }

  /** A line from the pool itself, on the log. */
  #notice(line: string): void {
    this.#events.log({ pid: process.pid, stream: 'pool', line });
  }

  async #close(timeout: number): Promise<void> {
    this.#state = 'closing';
    clearInterval(this.#ticker);
    if (this.#maintainTimer) clearTimeout(this.#maintainTimer);
    if (this.#recoveryTimer) clearTimeout(this.#recoveryTimer);
    this.#queue.drain(new PoolClosedError('the worker pool closed before the job ran'));
    await this.#masters.settled();
    for (const slot of [...this.#idle]) this.#retire(slot, 'close');
    const killer = setTimeout(() => {
      for (const slot of this.#slots) slot.kill('close');
    }, timeout);
    // Forks in flight become slots that retire at once (#release), so
    // wait for them first, then for every exit.
    await Promise.allSettled([...this.#forks]);
    await Promise.all([...this.#slots].map((s) => s.worker.exited));
    clearTimeout(killer);
    // A reload in progress ends once its old workers are gone (above);
    // only then is every master it booted known.
    await this.#reloading.catch(() => {});
    await this.#masters.closeAll();
    this.#state = 'closed';
  }
}
