/**
 * One worker in the pool, with one state. A slot exists from the moment
 * its worker is ready until its exit; forks still in flight are not slots.
 *
 *   idle ⇄ busy → retiring → (exit: the pool forgets the slot)
 *
 * Why a slot leaves is one fact, `reason`: the first reason to retire it
 * wins (a worker marked for reload that then exceeds maxMemory is still
 * leaving for the reload), except that the first kill names what the
 * worker died of.
 */
import type { ProcessMemory } from '../process/memory.js';
import type { PoolMaster, PoolWorker } from './master-factory.js';

export type SlotState = 'idle' | 'busy' | 'retiring';

/** Why a worker left the pool. */
export type ExitReason =
  | 'maxJobs'
  | 'maxMemory'
  | 'execTimeout'
  | 'aborted'
  | 'idle'
  | 'reload'
  | 'close'
  /** It broke the wire protocol and was killed. */
  | 'protocol'
  /** Its master died; it served on and was replaced by a worker of the new master. */
  | 'orphaned'
  | 'crashed';

export class Slot {
  readonly worker: PoolWorker;
  readonly master: PoolMaster;
  readonly startedAt = Date.now();
  #state: SlotState = 'idle';
  #reason: ExitReason | null = null;
  #killed = false;
  jobs = 0;
  lastUsed = Date.now();
  /** Last measured memory, or null before the first measurement. */
  memory: ProcessMemory | null = null;

  constructor(worker: PoolWorker, master: PoolMaster) {
    this.worker = worker;
    this.master = master;
  }

  get state(): SlotState {
    return this.#state;
  }

  /** Why it leaves, once that is decided; null while it serves on. */
  get reason(): ExitReason | null {
    return this.#reason;
  }

  /** The job it runs now: its label (e.g. 'GET /index.php') and start; null when none. */
  current: { label: string; startedAt: number } | null = null;
  /** The job it ran last: its label and how long it took, ms. */
  last: { label: string; ms: number } | null = null;

  /** Jobs sent to it and not settled (2 when one is pipelined behind another). */
  inFlight = 0;

  /** Takes a job. */
  occupy(label = ''): void {
    this.#state = 'busy';
    this.jobs++;
    this.inFlight++;
    this.current ??= { label, startedAt: Date.now() };
  }

  /** One of its jobs ended (answered, failed, or given up on). */
  jobEnded(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (!this.current) return;
    this.last = { label: this.current.label, ms: Date.now() - this.current.startedAt };
    this.current = null;
  }

  /** Back to idle after a job. */
  free(): void {
    this.#state = 'idle';
    this.lastUsed = Date.now();
  }

  /** Leaves after its current job (or at once when idle: see retire). */
  markForRetirement(reason: ExitReason): void {
    this.#reason ??= reason;
  }

  /** Leaves now, gracefully: its channel ends, it finishes what it has and exits 0. */
  retire(reason: ExitReason): void {
    if (this.#state === 'retiring') return;
    this.#reason ??= reason;
    this.#state = 'retiring';
    void this.worker.close();
  }

  /** Its exit was seen: it is leaving, on its own (its reason, if any, stays). */
  exitSeen(): void {
    this.#state = 'retiring';
  }

  /** Leaves now, by SIGKILL through its pidfd (never a recycled pid). */
  kill(reason: ExitReason): void {
    if (this.#killed) return;
    this.#killed = true;
    this.#reason = reason;
    this.#state = 'retiring';
    this.worker.kill('SIGKILL');
  }
}
