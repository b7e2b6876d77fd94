/**
 * Master: one PHP zygote. It boots the app script once (opcache on), then
 * forks workers when asked. Node creates each worker's channel and passes
 * it to the master with the fork request; Node watches each worker through
 * a pidfd although the worker is the master's child, and asks the master
 * to reap it after the exit (docs/protocol.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { ForkError, MasterClosedError, MasterStartError, ProtocolError } from '../errors.js';
import { native } from '../native/binding.js';
import { signalName } from '../native/signals.js';
import { socketFromFd } from '../native/socket-pair.js';
import { endAdoptedGroup } from '../process/process-group.js';
import { ProcessHandle } from '../process/process-handle.js';
import { ControlChannel } from '../protocol/control-channel.js';
import { VERSION, type Context } from '../protocol/frame.js';
import { settledWithin, withTimeout } from '../util/deadline.js';
import { PHP_RUNTIME_DIR, phpArguments, validateMasterOptions, type MasterOptions, type Settings } from './master-options.js';
import { MasterOutput, type LogLine } from './master-output.js';
import { describeNonCliPhp } from './php-binary.js';
import { Worker, type Reaper, type WorkerExit } from './worker.js';
import type { NativeBinding } from '../../types/native.js';

export { PHP_RUNTIME_DIR, validateMasterOptions } from './master-options.js';
export type { MasterOptions, Settings } from './master-options.js';
export type { LogLine } from './master-output.js';

export interface MasterInfo {
  pid: number;
  php: string;
  opcache: boolean;
  preload: boolean;
}

export interface MasterExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Opcache as the master sees it (its shared memory is the workers' too). */
export interface OpcacheStatus {
  cacheFull: boolean;
  restartPending: boolean;
  usedMemory: number;
  freeMemory: number;
  wastedMemory: number;
  internedUsed: number;
  internedFree: number;
  cachedScripts: number;
  cachedKeys: number;
  maxCachedKeys: number;
  hits: number;
  misses: number;
  oomRestarts: number;
  hashRestarts: number;
}

export interface MasterEvents {
  /** A line of output of the master or one of its workers. */
  log: [line: LogLine];
  /** The master process ended. */
  exit: [exit: MasterExit];
  /** The control channel broke the protocol; the master is being killed. */
  'protocol-error': [error: ProtocolError];
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

const FORK_TIMEOUT_MS = 30_000;
const STATUS_TIMEOUT_MS = 5000;

/** What a master is made of once spawned, before it booted. */
interface Parts {
  child: ChildProcess;
  control: ControlChannel;
  output: MasterOutput;
  settings: Settings;
  binding: NativeBinding;
}

export class Master extends EventEmitter<MasterEvents> {
  /** Known once the app booted (start() resolved). */
  info!: MasterInfo;
  /** Resolves when the master process has ended. */
  readonly exited: Promise<MasterExit>;

  readonly #child: ChildProcess;
  readonly #control: ControlChannel;
  readonly #output: MasterOutput;
  readonly #settings: Settings;
  readonly #binding: NativeBinding;
  readonly #forks = new Map<number, Waiter<number>>();
  /** fork() calls between the request and the answer. */
  readonly #pendingForks = new Set<Promise<number>>();
  readonly #reaps = new Map<number, Waiter<WorkerExit>>();
  /** status() calls in the order they were sent: the master answers in order. */
  readonly #statuses: Waiter<OpcacheStatus | null>[] = [];
  readonly #workers = new Set<Worker>();
  /** How workers learn their exit status: from this master, or (orphaned) from us. */
  readonly #reaper: Reaper = { reap: (pid, handle) => this.#reap(pid, handle) };
  #nextForkId = 1;
  #closing = false;

  /**
   * Spawns the master and resolves once the app has booted (the script
   * reached serve()). Rejects with MasterStartError, with the master's
   * output, when PHP is missing an extension, the script fails, the binary
   * is not a PHP CLI, or boot takes longer than startTimeout.
   */
  static async start(options: MasterOptions, binding: NativeBinding = native): Promise<Master> {
    const master = new Master(Master.#spawn(validateMasterOptions(options), binding));
    await master.#boot();
    return master;
  }

  static #spawn(settings: Settings, binding: NativeBinding): Parts {
    const [controlOurs, controlTheirs] = binding.socketPair(false);
    const [stdoutOurs, stdoutTheirs] = binding.socketPair(false);
    const [stderrOurs, stderrTheirs] = binding.socketPair(false);
    const output = new MasterOutput(stdoutOurs, stderrOurs, settings.keepLogLines, binding);
    let child: ChildProcess;
    try {
      child = spawn(settings.php, phpArguments(settings), {
        stdio: [controlTheirs, stdoutTheirs, stderrTheirs],
        // A process group of its own: Ctrl-C in a terminal signals Node's
        // group, and the master and workers must outlive it long enough for
        // a graceful stop (they end when Node's control socket closes). It
        // also tells the orphan reaper the workers' children from Node's,
        // and lets the master end everything its workers started.
        detached: true,
        cwd: settings.cwd,
        // Dropped before PHP runs a line of the app (libuv also clears the
        // supplementary groups), so the boot runs unprivileged too.
        ...(settings.identity ? { uid: settings.identity.uid, gid: settings.identity.gid } : {}),
        env: {
          // Resolve every shared-library symbol once, in the master: its
          // forks inherit the bound tables instead of each looking symbols
          // up (and writing the tables copy-on-write) on first call.
          // (The master unsets it, so what the app runs does not inherit it.)
          LD_BIND_NOW: '1',
          PHP_ZYGOTE_BIND_NOW: '1',
          ...settings.env,
          ...(settings.hugePages ? { USE_ZEND_ALLOC_HUGE_PAGES: '1' } : {}),
          PHP_ZYGOTE: '1',
          PHP_ZYGOTE_RUNTIME: PHP_RUNTIME_DIR,
          PHP_ZYGOTE_MAX_FRAME: String(settings.maxFrameSize),
        },
      });
    } finally {
      // The master has its copies (fds 0, 1, 2) once spawn returned.
      for (const fd of [controlTheirs, stdoutTheirs, stderrTheirs]) binding.closeFd(fd);
    }
    const control = new ControlChannel(controlOurs, settings.maxFrameSize, binding);
    return { child, control, output, settings, binding };
  }

  private constructor({ child, control, output, settings, binding }: Parts) {
    super();
    this.#child = child;
    this.#control = control;
    this.#output = output;
    this.#settings = settings;
    this.#binding = binding;
    output.on('log', (line) => this.emit('log', line));
    this.exited = new Promise<MasterExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    }).then((exit) => {
      this.#control.close();
      this.#rejectWaiters(new MasterClosedError(`the PHP master exited (${exit.signal ?? `code ${exit.code}`})`));
      this.emit('exit', exit);
      return exit;
    });
  }

  /** Waits for the app to boot (the master's hello); on failure, cleans up and throws MasterStartError. */
  async #boot(): Promise<void> {
    const settings = this.#settings;
    const spawned = new Promise<void>((resolve, reject) => {
      this.#child.once('spawn', resolve);
      this.#child.once('error', reject);
    });
    try {
      await spawned;
    } catch (err) {
      return this.#failStart(`could not start ${settings.php}: ${(err as Error).message}`, err);
    }
    const hello = new Promise<Context>((resolve, reject) => {
      this.#control.once('message', (message) => {
        if (message.type === 'hello' && message.protocol === VERSION) resolve(message);
        else reject(new ProtocolError(`expected hello with protocol ${VERSION}, got ${JSON.stringify(message)}`));
      });
      this.#control.once('close', (error) => reject(error ?? new Error('the master closed its control socket')));
    });
    const diedDuringBoot = this.exited.then(({ code, signal }) => {
      throw new Error(`the master exited during boot (${signal ?? `code ${code}`})`);
    });
    let message: Context;
    try {
      message = await withTimeout(Promise.race([hello, diedDuringBoot]), settings.startTimeout, () => new Error(`the app did not boot within ${settings.startTimeout} ms`));
    } catch (err) {
      diedDuringBoot.catch(() => {});
      // php-fpm or /bin/true fail here too: name the binary, not the app.
      const notCli = await describeNonCliPhp(settings.php, settings.env, settings.cwd);
      const why = (err as Error).message;
      return this.#failStart(notCli ? `${notCli}; started as the master, ${why}` : `PHP master for ${settings.script} failed to start: ${why}`, err);
    }
    diedDuringBoot.catch(() => {});
    this.info = {
      pid: this.#child.pid as number,
      php: String(message.php),
      opcache: message.opcache === true,
      preload: message.preload === true,
    };
    this.#control.on('message', (m) => this.#onMessage(m));
    this.#control.on('close', (error) => {
      if (error instanceof ProtocolError) {
        this.emit('protocol-error', error);
        this.#child.kill('SIGKILL');
      }
      this.#rejectWaiters(new MasterClosedError(error ? `the master's control channel closed: ${error.message}` : undefined));
    });
  }

  async #failStart(message: string, cause?: unknown): Promise<never> {
    const pid = this.#child.pid;
    // The whole group: what the boot script started dies with it. Safe by
    // number: libuv reaps on this thread, so the leader (alive or a
    // zombie) still holds the group id while this runs.
    if (pid !== undefined && this.#child.exitCode === null && this.#child.signalCode === null) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        this.#child.kill('SIGKILL');
      }
    }
    this.#control.close();
    // Its output is complete once the sockets reach end of file.
    await this.#output.drained();
    this.#output.close();
    throw new MasterStartError(message, pid !== undefined ? this.#output.lastLogs(pid) : [], { cause });
  }

  get pid(): number {
    return this.info.pid;
  }

  /** Workers forked by this master that have not exited yet. */
  get workers(): ReadonlySet<Worker> {
    return this.#workers;
  }

  /** Whether the master can still fork. */
  get alive(): boolean {
    return !this.#control.closed && !this.#closing;
  }

  /** The last output lines of a process (the master or one of its workers). */
  lastLogs(pid: number): string[] {
    return this.#output.lastLogs(pid);
  }

  /** Opcache's state (null when opcache is off), from the master. */
  async opcacheStatus(): Promise<OpcacheStatus | null> {
    if (!this.alive) throw new MasterClosedError();
    let waiter!: Waiter<OpcacheStatus | null>;
    const answered = new Promise<OpcacheStatus | null>((resolve, reject) => (waiter = { resolve, reject }));
    this.#statuses.push(waiter);
    this.#control.send({ type: 'status' });
    return withTimeout(answered, STATUS_TIMEOUT_MS, () => {
      this.#statuses.splice(this.#statuses.indexOf(waiter), 1);
      return new MasterClosedError(`the master did not answer a status request within ${STATUS_TIMEOUT_MS} ms`);
    });
  }

  /**
   * Forks a worker and resolves once it is ready for jobs. Rejects with
   * ForkError, MasterClosedError, or WorkerExitedError when the new worker
   * dies before it is ready.
   */
  async fork(): Promise<Worker> {
    if (!this.alive) throw new MasterClosedError();
    const id = this.#nextForkId++;
    const [ours, theirs] = this.#binding.socketPair(false);
    let pid: number;
    try {
      const forked = new Promise<number>((resolve, reject) => this.#forks.set(id, { resolve, reject }));
      this.#pendingForks.add(forked);
      void forked.catch(() => {}).finally(() => this.#pendingForks.delete(forked));
      this.#control.send({ type: 'fork', id }, [theirs]); // the channel closes `theirs` once sent
      pid = await withTimeout(forked, FORK_TIMEOUT_MS, () => {
        const error = new ForkError(`the master did not answer fork request ${id} within ${FORK_TIMEOUT_MS} ms`);
        this.#forks.get(id)?.reject(error); // settles `forked` too, so close() does not wait for it
        this.#forks.delete(id);
        return error;
      });
    } catch (err) {
      this.#binding.closeFd(ours);
      throw err;
    }
    // The master reaps only when asked, so this pid cannot have been reused:
    // the pidfd pins our worker even if it already died. (A master that
    // shut down meanwhile has reaped it: then pidfd_open fails.)
    let handle: ProcessHandle;
    try {
      handle = new ProcessHandle(pid, {}, this.#binding);
    } catch (err) {
      this.#binding.closeFd(ours);
      throw this.alive ? new ForkError(`cannot watch new worker ${pid}: ${(err as Error).message}`) : new MasterClosedError();
    }
    const worker = new Worker({
      pid,
      socket: socketFromFd(ours, this.#binding),
      process: handle,
      reaper: this.#reaper,
      logs: this.#output,
      maxFrameSize: this.#settings.maxFrameSize,
    });
    this.#workers.add(worker);
    void worker.exited.then(() => {
      this.#workers.delete(worker);
      this.#output.processExited(pid);
    });
    await worker.ready;
    return worker;
  }

  /**
   * Shuts the master down: it kills and reaps the workers it still has,
   * ends its process group (whatever the workers started in the
   * background), then exits. Workers should be closed first for a
   * graceful stop. After `timeout` ms the master is killed with SIGKILL.
   */
  async close({ timeout = 5000 }: { timeout?: number } = {}): Promise<void> {
    this.#closing = true;
    // Forks already asked for are answered first, so their workers are
    // known (and killed below) rather than reaped behind Node's back.
    if (this.#pendingForks.size > 0) await settledWithin(Promise.allSettled([...this.#pendingForks]), timeout);
    if (!this.#control.closed && this.#child.exitCode === null && this.#child.signalCode === null) {
      try {
        this.#control.send({ type: 'shutdown' });
      } catch {
        // Channel already gone: the kill below still ends the master.
      }
    }
    if (!(await settledWithin(this.exited, timeout))) {
      this.#child.kill('SIGKILL');
      await this.exited;
    }
    // A master that died before close() (SIGKILL, OOM) killed nobody: its
    // workers, orphaned, would serve on. close() promises none is left.
    for (const worker of this.#workers) worker.kill('SIGKILL');
    await Promise.all([...this.#workers].map((w) => w.exited));
    // Nor what they started in the background: a master that shut down
    // ended its group itself; after one that died, the survivors are
    // Node's by now (subreaper) and are ended here.
    await endAdoptedGroup(this.pid, timeout);
    this.#output.close();
  }

  #onMessage(message: Context): void {
    switch (message.type) {
      case 'forked': {
        const waiter = this.#forks.get(Number(message.id));
        this.#forks.delete(Number(message.id));
        if (waiter) waiter.resolve(Number(message.pid));
        else this.#discard(Number(message.pid));
        break;
      }
      case 'fork-failed': {
        const waiter = this.#forks.get(Number(message.id));
        this.#forks.delete(Number(message.id));
        waiter?.reject(new ForkError(`the master could not fork: ${String(message.error)}`));
        break;
      }
      case 'status': {
        const opcache = message.opcache;
        this.#statuses.shift()?.resolve(opcache !== null && typeof opcache === 'object' ? (opcache as OpcacheStatus) : null);
        break;
      }
      case 'exited': {
        const pid = Number(message.pid);
        const waiter = this.#reaps.get(pid);
        this.#reaps.delete(pid);
        if (!waiter) break;
        if (typeof message.error === 'string') {
          waiter.reject(new Error(`the master could not reap worker ${pid}: ${message.error}`));
        } else {
          const code = typeof message.code === 'number' ? message.code : null;
          const signal = typeof message.signal === 'number' ? signalName(message.signal) : null;
          waiter.resolve({ pid, code, signal });
        }
        break;
      }
      default:
        this.#control.close(new ProtocolError(`unknown control message from the master: ${JSON.stringify(message.type)}`));
    }
  }

  /** A fork answered after its request timed out: nobody wants it. Kill it, then have it reaped. */
  #discard(pid: number): void {
    let handle: ProcessHandle;
    try {
      handle = new ProcessHandle(pid, {}, this.#binding);
    } catch {
      return;
    }
    handle.kill('SIGKILL');
    void handle.exited.then(() => {
      handle.close();
      if (!this.#control.closed) this.#control.send({ type: 'reap', pid });
    }, () => handle.close());
  }

  /** Asks the master to reap an exited worker; falls back to reaping it ourselves when orphaned. */
  async #reap(pid: number, handle: ProcessHandle): Promise<WorkerExit> {
    if (!this.#control.closed) {
      try {
        const reaped = new Promise<WorkerExit>((resolve, reject) => this.#reaps.set(pid, { resolve, reject }));
        this.#control.send({ type: 'reap', pid });
        return await reaped;
      } catch {
        // The master went away: the worker may have been reparented to us.
      }
    }
    // The control socket closes before the kernel reparents the master's
    // children (do_exit closes files first), so wait for the master to be
    // gone before asking whether the worker became ours (child subreaper).
    await this.exited;
    try {
      const info = handle.reap();
      if (info) return { pid, code: info.code, signal: info.signal };
    } catch {
      // ECHILD: reparented to someone else (init), who reaps it.
    }
    return { pid, code: null, signal: null };
  }

  #rejectWaiters(error: Error): void {
    for (const waiter of this.#forks.values()) waiter.reject(error);
    this.#forks.clear();
    for (const waiter of this.#reaps.values()) waiter.reject(error);
    this.#reaps.clear();
    for (const waiter of this.#statuses.splice(0)) waiter.reject(error);
  }
}
