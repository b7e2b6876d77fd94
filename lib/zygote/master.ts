/**
 * Master: one PHP zygote. It boots the app script once (opcache on), then
 * forks workers when asked. Node creates each worker's channel and passes
 * it to the master with the fork request; Node watches each worker through
 * a pidfd although the worker is the master's child, and asks the master
 * to reap it after the exit (docs/protocol.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { native } from '../native/binding.js';
import { ControlChannel } from '../protocol/control-channel.js';
import { ForkError, MasterClosedError, MasterStartError, ProtocolError } from '../errors.js';
import { DEFAULT_MAX_FRAME_SIZE, VERSION, type Context } from '../protocol/frame.js';
import { OutputReader, type OutputStream } from './output-reader.js';
import { describeNonCliPhp } from './php-binary.js';
import { endAdoptedGroup } from '../process/process-group.js';
import { ProcessHandle } from '../process/process-handle.js';
import { signalName } from '../native/signals.js';
import { socketFromFd } from '../native/socket-pair.js';
import { Worker, type WorkerExit } from './worker.js';
import type { NativeBinding } from '../../types/native.js';

/** The PHP runtime shipped with this package (php/). */
export const PHP_RUNTIME_DIR = path.resolve(__dirname, '..', '..', '..', 'php');

export interface MasterOptions {
  /** The app script: boots the app, then calls \Zygote\Worker::serve($handler). */
  script: string;
  /** Arguments for the script ($argv[1..]). */
  args?: string[];
  /** PHP binary. Default 'php'. */
  php?: string;
  /** Extra ini settings, passed as -d key=value. opcache.enable_cli defaults to 1. */
  ini?: Record<string, string | number | boolean>;
  /** Environment of the master and its workers. Default process.env. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Largest frame (context + body) either side accepts. Default 64 MiB. */
  maxFrameSize?: number;
  /** How long the app may take to boot. Default 30 s. */
  startTimeout?: number;
  /** How many output lines are kept per process for error messages. Default 20. */
  keepLogLines?: number;
}

export interface LogLine {
  pid: number;
  stream: OutputStream;
  line: string;
}

export interface MasterInfo {
  pid: number;
  php: string;
  opcache: boolean;
  preload: boolean;
}

export interface MasterEvents {
  /** A line of output of the master or one of its workers. */
  log: [line: LogLine];
  /** The master process ended. */
  exit: [exit: { code: number | null; signal: NodeJS.Signals | null }];
  /** The control channel broke the protocol; the master is being killed. */
  'protocol-error': [error: ProtocolError];
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

const FORK_TIMEOUT_MS = 30_000;

export class Master extends EventEmitter<MasterEvents> {
  readonly info: MasterInfo;
  /** Resolves when the master process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  readonly #child: ChildProcess;
  readonly #control: ControlChannel;
  readonly #outputs: OutputReader[];
  readonly #options: Required<Pick<MasterOptions, 'maxFrameSize' | 'keepLogLines'>>;
  readonly #logs: Map<number, string[]>;
  readonly #forks = new Map<number, Waiter<number>>();
  /** fork() calls between the request and the answer. */
  readonly #pendingForks = new Set<Promise<number>>();
  readonly #reaps = new Map<number, Waiter<WorkerExit>>();
  readonly #workers = new Set<Worker>();
  #nextForkId = 1;
  #closing = false;

  /**
   * Spawns the master and resolves once the app has booted (the script
   * reached Worker::serve()). Rejects with MasterStartError, with the
   * master's output, when PHP is missing an extension, the script fails, or
   * boot takes longer than startTimeout.
   */
  static async start(options: MasterOptions, binding: NativeBinding = native): Promise<Master> {
    const settings = validateMasterOptions(options);
    const [controlOurs, controlTheirs] = binding.socketPair(false);
    const [stdoutOurs, stdoutTheirs] = binding.socketPair(false);
    const [stderrOurs, stderrTheirs] = binding.socketPair(false);

    const logs = new Map<number, string[]>();
    const emitter = new EventEmitter<{ log: [LogLine]; outputsClosed: [] }>();
    let openOutputs = 2;
    const onLine = (pid: number, stream: OutputStream, line: string) => {
      let kept = logs.get(pid);
      if (!kept) logs.set(pid, (kept = []));
      kept.push(line);
      if (kept.length > settings.keepLogLines) kept.shift();
      emitter.emit('log', { pid, stream, line });
    };
    const onOutputEnd = () => {
      if (--openOutputs === 0) emitter.emit('outputsClosed');
    };
    const outputs = [
      new OutputReader(stdoutOurs, 'stdout', onLine, onOutputEnd, binding),
      new OutputReader(stderrOurs, 'stderr', onLine, onOutputEnd, binding),
    ];
    const outputsClosed = new Promise<void>((resolve) => emitter.once('outputsClosed', resolve));

    let child: ChildProcess;
    try {
      child = spawn(settings.php, phpArguments(settings), {
        stdio: [controlTheirs, stdoutTheirs, stderrTheirs],
        // A process group of its own: Ctrl-C in a terminal signals Node's
        // group, and the master and workers must outlive it long enough for
        // a graceful stop (they end when Node's control socket closes). It
        // also tells the orphan reaper the workers' children from Node's.
        detached: true,
        cwd: settings.cwd,
        env: {
          ...settings.env,
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

    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const hello = new Promise<Context>((resolve, reject) => {
      control.once('message', (message) => {
        if (message.type === 'hello' && message.protocol === VERSION) resolve(message);
        else reject(new ProtocolError(`expected hello with protocol ${VERSION}, got ${JSON.stringify(message)}`));
      });
      control.once('close', (error) => reject(error ?? new Error('the master closed its control socket')));
    });
    hello.catch(() => {});

    const failStart = async (message: string, cause?: unknown): Promise<never> => {
      child.kill('SIGKILL');
      control.close();
      // Its output is complete once the sockets reach end of file.
      await Promise.race([outputsClosed, new Promise((resolve) => setTimeout(resolve, 1000))]);
      for (const output of outputs) output.close();
      const lines = child.pid !== undefined ? (logs.get(child.pid) ?? []) : [];
      throw new MasterStartError(message, lines, { cause });
    };

    try {
      await spawned;
    } catch (err) {
      return failStart(`could not start ${settings.php}: ${(err as Error).message}`, err);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the app did not boot within ${settings.startTimeout} ms`)), settings.startTimeout);
    });
    let info: Context;
    try {
      info = await Promise.race([
        hello,
        timeout,
        exited.then(({ code, signal }) => {
          throw new Error(`the master exited during boot (${signal ?? `code ${code}`})`);
        }),
      ]);
    } catch (err) {
      // php-fpm or /bin/true fail here too: name the binary, not the app.
      const notCli = await describeNonCliPhp(settings.php, settings.env, settings.cwd);
      const why = (err as Error).message;
      return failStart(notCli ? `${notCli}; started as the master, ${why}` : `PHP master for ${settings.script} failed to start: ${why}`, err);
    } finally {
      clearTimeout(timer);
    }
    const master = new Master(child, control, outputs, logs, emitter, exited, settings, info);
    return master;
  }

  private constructor(
    child: ChildProcess,
    control: ControlChannel,
    outputs: OutputReader[],
    logs: Map<number, string[]>,
    emitter: EventEmitter<{ log: [LogLine]; outputsClosed: [] }>,
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
    settings: Settings,
    hello: Context,
  ) {
    super();
    this.#child = child;
    this.#control = control;
    this.#outputs = outputs;
    this.#logs = logs;
    this.#options = settings;
    this.info = {
      pid: child.pid as number,
      php: String(hello.php),
      opcache: hello.opcache === true,
      preload: hello.preload === true,
    };
    emitter.on('log', (line) => this.emit('log', line));
    control.on('message', (message) => this.#onMessage(message));
    control.on('close', (error) => {
      if (error instanceof ProtocolError) {
        this.emit('protocol-error', error);
        this.#child.kill('SIGKILL');
      }
      this.#rejectWaiters(new MasterClosedError(error ? `the master's control channel closed: ${error.message}` : undefined));
    });
    this.exited = exited.then((exit) => {
      this.#control.close();
      this.#rejectWaiters(new MasterClosedError(`the PHP master exited (${exit.signal ?? `code ${exit.code}`})`));
      this.emit('exit', exit);
      return exit;
    });
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
    return [...(this.#logs.get(pid) ?? [])];
  }

  /**
   * Forks a worker and resolves once it is ready for jobs. Rejects with
   * ForkError, MasterClosedError, or WorkerExitedError when the new worker
   * dies before it is ready.
   */
  async fork(): Promise<Worker> {
    if (!this.alive) throw new MasterClosedError();
    const id = this.#nextForkId++;
    const [ours, theirs] = native.socketPair(false);
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
      native.closeFd(ours);
      throw err;
    }
    // The master reaps only when asked, so this pid cannot have been reused:
    // the pidfd pins our worker even if it already died. (A master that
    // shut down meanwhile has reaped it: then pidfd_open fails.)
    let handle: ProcessHandle;
    try {
      handle = new ProcessHandle(pid);
    } catch (err) {
      native.closeFd(ours);
      throw this.alive ? new ForkError(`cannot watch new worker ${pid}: ${(err as Error).message}`) : new MasterClosedError();
    }
    const worker = new Worker(pid, socketFromFd(ours), handle, (w) => this.#reap(w), () => this.lastLogs(pid), this.#options.maxFrameSize);
    this.#workers.add(worker);
    void worker.exited.then(() => {
      this.#workers.delete(worker);
      for (const output of this.#outputs) output.flush(pid);
      // Kept for one more turn so exit handlers can still quote the output.
      setImmediate(() => this.#logs.delete(pid));
    });
    await worker.ready;
    return worker;
  }

  /**
   * Shuts the master down: it kills and reaps the workers it still has,
   * then exits. Workers should be closed first for a graceful stop. After
   * `timeout` ms the master is killed with SIGKILL.
   */
  async close({ timeout = 5000 }: { timeout?: number } = {}): Promise<void> {
    this.#closing = true;
    // Forks already asked for are answered first, so their workers are
    // known (and killed below) rather than reaped behind Node's back.
    if (this.#pendingForks.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#pendingForks]),
        new Promise((resolve) => (timer = setTimeout(resolve, timeout))),
      ]);
      clearTimeout(timer);
    }
    if (!this.#control.closed && this.#child.exitCode === null && this.#child.signalCode === null) {
      try {
        this.#control.send({ type: 'shutdown' });
      } catch {
        // Channel already gone: the kill below still ends the master.
      }
    }
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeout);
    await this.exited;
    clearTimeout(timer);
    // A master that died before close() (SIGKILL, OOM) killed nobody: its
    // workers, orphaned, would serve on. close() promises none is left.
    for (const worker of this.#workers) worker.kill('SIGKILL');
    await Promise.all([...this.#workers].map((w) => w.exited));
    // Nor what they started in the background: a master that shut down
    // ended its group itself; after one that died, the survivors are
    // Node's by now (subreaper) and are ended here.
    await endAdoptedGroup(this.pid, timeout);
    for (const output of this.#outputs) output.close();
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
      handle = new ProcessHandle(pid);
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
  async #reap(worker: Worker): Promise<WorkerExit> {
    if (!this.#control.closed) {
      try {
        const reaped = new Promise<WorkerExit>((resolve, reject) => this.#reaps.set(worker.pid, { resolve, reject }));
        this.#control.send({ type: 'reap', pid: worker.pid });
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
      const info = worker.processHandle.reap();
      if (info) return { pid: worker.pid, code: info.code, signal: info.signal };
    } catch {
      // ECHILD: reparented to someone else (init), who reaps it.
    }
    return { pid: worker.pid, code: null, signal: null };
  }

  #rejectWaiters(error: Error): void {
    for (const waiter of this.#forks.values()) waiter.reject(error);
    this.#forks.clear();
    for (const waiter of this.#reaps.values()) waiter.reject(error);
    this.#reaps.clear();
  }
}

export type Settings = Required<Omit<MasterOptions, 'cwd'>> & { cwd: string | undefined };

export function validateMasterOptions(options: MasterOptions): Settings {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const { script, args = [], php = 'php', ini = {}, env = process.env, cwd, maxFrameSize = DEFAULT_MAX_FRAME_SIZE, startTimeout = 30_000, keepLogLines = 20 } = options;
  if (typeof script !== 'string' || script.length === 0) throw new TypeError('options.script must be the path of a PHP file');
  const resolved = path.resolve(cwd ?? process.cwd(), script);
  if (!existsSync(resolved)) throw new TypeError(`options.script does not exist: ${resolved}`);
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw new TypeError('options.args must be an array of strings');
  if (typeof php !== 'string' || php.length === 0) throw new TypeError('options.php must be the name or path of a PHP binary');
  if (ini === null || typeof ini !== 'object' || Array.isArray(ini)) throw new TypeError('options.ini must be an object of ini settings');
  for (const [key, value] of Object.entries(ini)) {
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new TypeError(`options.ini has an invalid key: ${JSON.stringify(key)}`);
    if (!['string', 'number', 'boolean'].includes(typeof value)) throw new TypeError(`options.ini.${key} must be a string, number or boolean`);
  }
  if (env === null || typeof env !== 'object') throw new TypeError('options.env must be an object');
  if (cwd !== undefined && typeof cwd !== 'string') throw new TypeError('options.cwd must be a string');
  if (!Number.isInteger(maxFrameSize) || maxFrameSize < 1024 || maxFrameSize > 0xffffffff) {
    throw new TypeError('options.maxFrameSize must be an integer between 1024 and 4294967295');
  }
  if (!Number.isFinite(startTimeout) || startTimeout <= 0) throw new TypeError('options.startTimeout must be a positive number of milliseconds');
  if (!Number.isInteger(keepLogLines) || keepLogLines < 0) throw new TypeError('options.keepLogLines must be a non-negative integer');
  return { script: resolved, args, php, ini, env, cwd, maxFrameSize, startTimeout, keepLogLines };
}

function phpArguments(settings: Settings): string[] {
  const ini: Record<string, string> = { 'opcache.enable_cli': '1' };
  for (const [key, value] of Object.entries(settings.ini)) {
    ini[key] = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  }
  // Preloading as root needs a user to preload as; root itself is what the
  // master runs as, so say so rather than fail the boot.
  if (ini['opcache.preload'] && process.getuid?.() === 0 && !ini['opcache.preload_user']) ini['opcache.preload_user'] = 'root';
  const args: string[] = [];
  for (const [key, value] of Object.entries(ini)) args.push('-d', `${key}=${value}`);
  args.push('-d', `auto_prepend_file=${path.join(PHP_RUNTIME_DIR, 'autoload.php')}`);
  return [...args, settings.script, ...settings.args];
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
