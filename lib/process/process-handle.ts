/**
 * ProcessHandle: a pid pinned by a pidfd. It watches the process's exit on
 * the event loop, signals it without any pid-reuse race, and (for our own
 * children only) reaps it.
 *
 * The process need not be our child: a worker forked by a PHP master is
 * Node's grandchild, and its pidfd still becomes readable when it exits.
 * Only its parent can collect its exit status, so for such a process
 * `exited` resolves with `reaped: false` and null code and signal.
 */
import { native } from '../native/binding.js';
import { HandleClosedError } from '../errors.js';
import { signalName, signalNumber } from '../native/signals.js';
import type { NativeBinding, NativeExitStatus, NativePoller } from '../../types/native.js';

export interface ExitInfo {
  pid: number;
  /** Exit code when the process exited normally and this handle reaped it. */
  code: number | null;
  /** Terminating signal when the process was killed and this handle reaped it. */
  signal: NodeJS.Signals | null;
  coreDumped: boolean;
  /** True when this handle reaped the process, so code/signal are known. */
  reaped: boolean;
}

export interface ProcessHandleOptions {
  /**
   * Reap the process when it exits (waitid on the pidfd), to learn its
   * status and leave no zombie. Only for processes that are our children
   * but were not started by child_process: reaping one of those would
   * steal the exit status Node's ChildProcess is waiting for.
   * A process that is not our child is never reaped (ECHILD is expected).
   * Default false.
   */
  reap?: boolean;
}

/** Pids with an open handle, and how many handles each has. */
const watched = new Map<number, number>();

export class ProcessHandle {
  /** Whether some open ProcessHandle watches this pid (the orphan reaper leaves it alone). */
  static isWatched(pid: number): boolean {
    return watched.has(pid);
  }

  readonly pid: number;
  /**
   * Settles once: resolves on exit, rejects with HandleClosedError if
   * close() came first, so whoever awaits it learns the exit will never be
   * reported instead of waiting forever. A handle whose `exited` nobody
   * reads can be closed at any time (the constructor handles the rejection
   * for it), but a promise derived from it, `exited.then(onExit)`, rejects
   * too: give it a rejection handler, as with any promise chain.
   */
  readonly exited: Promise<ExitInfo>;

  #pidfd: number | null;
  #poller: NativePoller | null;
  #exit: ExitInfo | null = null;
  #settle!: { resolve: (info: ExitInfo) => void; reject: (err: Error) => void };
  readonly #reap: boolean;
  readonly #native: NativeBinding;

  /**
   * Opens a pidfd for `pid` and starts watching it. Throws ESRCH (a
   * SystemError from pidfd_open) when no such process exists.
   */
  constructor(pid: number, options: ProcessHandleOptions = {}, binding: NativeBinding = native) {
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new TypeError(`pid must be a positive integer (got ${String(pid)})`);
    }
    this.pid = pid;
    this.#native = binding;
    this.#reap = options.reap ?? false;
    this.exited = new Promise<ExitInfo>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    // A close() before exit rejects `exited`; that must not become an
    // unhandled rejection (which ends Node) for callers who never read it.
    // It cannot cover chains built on it: each .then() is a new promise.
    this.exited.catch(() => {});

    const pidfd = binding.pidfdOpen(pid);
    this.#pidfd = pidfd;
    watched.set(pid, (watched.get(pid) ?? 0) + 1);
    try {
      this.#poller = new binding.Poller(pidfd, (err) => this.#onExit(err));
      this.#poller.start(binding.Poller.READABLE);
    } catch (err) {
      this.#poller = null;
      this.#closePidfd();
      throw err;
    }
  }

  /** The pidfd, or null after close(). Owned by this handle. */
  get pidfd(): number | null {
    return this.#pidfd;
  }

  /** Whether the exit was already observed. */
  get hasExited(): boolean {
    return this.#exit !== null;
  }

  /**
   * Sends a signal through the pidfd. Returns false when the process is
   * gone (ESRCH), like ChildProcess.kill(); other failures throw.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const number = signalNumber(signal);
    if (this.#pidfd === null) throw new HandleClosedError(this.pid, 'cannot send a signal');
    try {
      this.#native.pidfdSendSignal(this.#pidfd, number);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw err;
    }
  }

  /**
   * Reaps the process if it is our child and has exited. Returns its exit
   * info, or null while it runs. Throws ECHILD for a process that is not
   * our child (or was already reaped).
   */
  reap(): ExitInfo | null {
    if (this.#pidfd === null) throw new HandleClosedError(this.pid, 'cannot reap');
    const status = this.#native.reapPidfd(this.#pidfd);
    return status === null ? null : toExitInfo(status);
  }

  /** Lets Node exit while this process is still being watched. */
  unref(): this {
    this.#poller?.unref();
    return this;
  }

  ref(): this {
    this.#poller?.ref();
    return this;
  }

  /** Stops watching and closes the pidfd. Idempotent. */
  close(): void {
    this.#poller?.close();
    this.#poller = null;
    this.#closePidfd();
    if (this.#exit === null) {
      this.#settle.reject(new HandleClosedError(this.pid, 'closed before the process exited'));
    }
  }

  #closePidfd(): void {
    if (this.#pidfd === null) return;
    this.#native.closeFd(this.#pidfd);
    this.#pidfd = null;
    const count = (watched.get(this.pid) ?? 1) - 1;
    if (count > 0) watched.set(this.pid, count);
    else watched.delete(this.pid);
  }

  #onExit(err: Error | null): void {
    // The pidfd stays readable after exit: one report is all we want.
    this.#poller?.close();
    this.#poller = null;
    if (err !== null) {
      this.#settle.reject(err);
      return;
    }
    let info: ExitInfo = { pid: this.pid, code: null, signal: null, coreDumped: false, reaped: false };
    if (this.#reap) {
      try {
        const status = this.reap();
        if (status !== null) info = status;
      } catch (reapError) {
        // ECHILD: not our child; its parent collects the status.
        if ((reapError as NodeJS.ErrnoException).code !== 'ECHILD') {
          this.#settle.reject(reapError as Error);
          return;
        }
      }
    }
    this.#exit = info;
    this.#settle.resolve(info);
  }
}

function toExitInfo(status: NativeExitStatus): ExitInfo {
  return {
    pid: status.pid,
    code: status.code,
    signal: signalName(status.signal),
    coreDumped: status.coreDumped,
    reaped: true,
  };
}
