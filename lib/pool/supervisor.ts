/**
 * Crash accounting for a pool, like php-fpm's emergency_restart_threshold
 * with a back-off in front of it:
 *
 * - every crash (a worker or master that died on its own, a master that
 *   could not boot) doubles the delay before the next fork, from
 *   restartDelay up to 10 s; a job answered resets it;
 * - crashLimit crashes within crashWindow are a crash loop: the pool stops
 *   forking and fails jobs fast with CrashLoopError;
 * - it does not give up for good: after recoveryDelay (doubling per
 *   failed recovery, up to 5 minutes) the pool boots a fresh master and
 *   tries again. A recovery whose master boots and whose jobs succeed
 *   ends the loop; one that crashes again waits longer next time.
 */
import { CrashLoopError } from '../errors.js';

const MAX_RESTART_DELAY_MS = 10_000;
const MAX_RECOVERY_DELAY_MS = 5 * 60_000;

export interface SupervisorSettings {
  restartDelay: number;
  crashLimit: number;
  crashWindow: number;
  recoveryDelay: number;
}

export class Supervisor {
  readonly #settings: SupervisorSettings;
  readonly #now: () => number;
  #crashes: number[] = [];
  #consecutive = 0;
  #backoffUntil = 0;
  #loop: CrashLoopError | null = null;
  /** Recoveries tried since the last job that succeeded. */
  #recoveries = 0;

  constructor(settings: SupervisorSettings, now: () => number = Date.now) {
    this.#settings = settings;
    this.#now = now;
  }

  /** The crash loop the pool is in, or null. */
  get crashLoop(): CrashLoopError | null {
    return this.#loop;
  }

  /** Milliseconds until the next fork may start (0: now). */
  get backoff(): number {
    return Math.max(0, this.#backoffUntil - this.#now());
  }

  /** Records a crash; returns the CrashLoopError when this one starts a crash loop. */
  recordCrash(logs: string[]): CrashLoopError | null {
    const now = this.#now();
    const { crashWindow, crashLimit, restartDelay } = this.#settings;
    this.#crashes = this.#crashes.filter((t) => now - t < crashWindow);
    this.#crashes.push(now);
    this.#consecutive++;
    this.#backoffUntil = now + Math.min(restartDelay * 2 ** (this.#consecutive - 1), MAX_RESTART_DELAY_MS);
    if (this.#loop || this.#crashes.length < crashLimit) return null;
    this.#loop = new CrashLoopError(
      `${this.#crashes.length} workers or masters crashed within ${crashWindow} ms (crashLimit ${crashLimit}); ` +
        `the pool stopped forking and tries a fresh master in ${Math.round(this.recoveryDelay() / 1000)} s`,
      logs,
    );
    return this.#loop;
  }

  /** A job was answered: the worker is healthy, so the back-off starts over. */
  recordSuccess(): void {
    this.#consecutive = 0;
    this.#recoveries = 0;
  }

  /** How long to wait, in the crash loop, before the next recovery. */
  recoveryDelay(): number {
    return Math.min(this.#settings.recoveryDelay * 2 ** this.#recoveries, MAX_RECOVERY_DELAY_MS);
  }

  /** A recovery's master could not boot: the next try waits longer. */
  recoveryFailed(): void {
    this.#recoveries++;
  }

  /** A fresh master booted (a recovery or reload()): forking resumes with a clean slate. */
  recover(): void {
    if (this.#loop) this.#recoveries++;
    this.#loop = null;
    this.#crashes = [];
    this.#consecutive = 0;
    this.#backoffUntil = 0;
  }
}
