/**
 * A forked PHP worker as Node sees it: its pid pinned by a pidfd, its own
 * channel (a socket pair end), and the jobs sent to it. It is the master's
 * child, not Node's: the master reaps it when Node, having seen the exit
 * through the pidfd, asks.
 */
import type * as net from 'node:net';
import { EventEmitter } from 'node:events';
import { InvalidContextError, JobError, PayloadTooLargeError, ProtocolError, WorkerExitedError } from '../errors.js';
import { FLAG_ERROR, FLAG_MORE, FrameDecoder, encodeFrame, isControl, type Context, type Frame } from '../protocol/frame.js';
import type { ProcessHandle } from '../process/process-handle.js';
import { delay } from '../util/deadline.js';

const DRAIN_TIMEOUT_MS = 1000;
/**
 * A channel that ends mid-frame is a protocol error only if the worker
 * lives on; a worker that was killed (SIGKILL, OOM) while writing shows
 * its exit on the pidfd after the kernel tore down its memory, ~35 us per
 * MB after the end of file: this covers workers of several GB.
 */
const TRUNCATION_GRACE_MS = 500;


export interface JobResult {
  /** The response body; for a streamed response without onChunk, all chunks joined. */
  body: Buffer;
  /** The context the handler returned (a Zygote\Response's context), or {}. */
  context: Context;
}

export interface RunOptions {
  /** The job's context, or its bytes from encodeContext() (the pool encodes once, before queueing). */
  context?: Context | Buffer;
  /**
   * Receives the parts of a streamed response ($job->write()) as they
   * arrive. Returning a promise applies backpressure: the worker's channel
   * is not read (so PHP's writes block) until it settles.
   */
  onChunk?: (chunk: Buffer, context: Context) => void | Promise<void>;
}

export interface WorkerExit {
  pid: number;
  /** Exit code, or null when killed by a signal or when unknown. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface PendingJob {
  resolve: (result: JobResult) => void;
  reject: (error: Error) => void;
  onChunk?: RunOptions['onChunk'];
  chunks: Buffer[];
}

export interface WorkerEvents {
  /** The channel broke the protocol; the worker is being killed. */
  'protocol-error': [error: ProtocolError];
  /**
   * The earliest sign of the worker's death: its channel's end of file or
   * its pidfd, whichever comes first (the end of file comes 0.1-0.25 ms
   * before the pidfd, which fires only once the kernel tore down the
   * worker's memory). Once. Its exit status comes later, with `exit`.
   */
  lost: [];
  exit: [exit: WorkerExit];
}

/**
 * How a Worker learns its exit status once its pidfd saw the exit: its
 * master reaps it, or, when the master died first and the worker became
 * Node's (child subreaper), Node does through the pidfd it is given.
 */
export interface Reaper {
  reap(pid: number, process: ProcessHandle): Promise<WorkerExit>;
}

/** Where a worker's last output lines are kept, for the error that reports its death. */
export interface LogSource {
  lastLogs(pid: number): string[];
}

/** @internal What Master.fork() makes a Worker of. */
export interface WorkerOptions {
  pid: number;
  /** Node's end of the worker's channel. */
  socket: net.Socket;
  /** The pidfd that pins the worker; the Worker closes it after the reap. */
  process: ProcessHandle;
  reaper: Reaper;
  logs: LogSource;
  maxFrameSize: number;
}

export class Worker extends EventEmitter<WorkerEvents> {
  readonly pid: number;
  /** Resolves when the worker sent its `ready` frame; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves once the worker exited and was reaped; never rejects. */
  readonly exited: Promise<WorkerExit>;

  readonly #socket: net.Socket;
  readonly #process: ProcessHandle;
  readonly #decoder: FrameDecoder;
  readonly #jobs = new Map<number, PendingJob>();
  /** Jobs whose onChunk threw: already rejected, their remaining frames are dropped. */
  readonly #abandoned = new Set<number>();
  readonly #maxFrameSize: number;
  readonly #logs: LogSource;
  #nextId = 1;
  #isReady = false;
  #settleReady!: { resolve: () => void; reject: (err: Error) => void };
  #exit: WorkerExit | null = null;
  #failure: Error | null = null;
  /** The channel ended in the middle of a frame; the exit status says why. */
  #truncated = false;
  /** Its death was seen (end of file or pidfd); see the `lost` event. */
  #lost = false;

  /** @internal Made by Master.fork(). */
  constructor({ pid, socket, process, reaper, logs, maxFrameSize }: WorkerOptions) {
    super();
    this.pid = pid;
    this.#socket = socket;
    this.#process = process;
    this.#logs = logs;
    this.#maxFrameSize = maxFrameSize;
    this.#decoder = new FrameDecoder(maxFrameSize);
    this.ready = new Promise<void>((resolve, reject) => {
      this.#settleReady = { resolve, reject };
    });
    this.ready.catch(() => {});

    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {}); // the exit below reports what matters
    const drained = new Promise<void>((resolve) => {
      socket.once('close', () => {
        if (this.#decoder.midFrame && !this.#failure && !this.#exit) this.#onTruncated();
        this.#markLost();
        resolve();
      });
    });

    // The pidfd may report the exit before the socket delivered the last
    // answer the worker wrote; read the channel to its end first, so a job
    // answered just before exiting is not failed. The end of file can be
    // late if the worker's own children inherited the channel: bounded wait.
    void process.exited.then(() => this.#markLost(), () => {});
    this.exited = process.exited
      .then(() => Promise.all([reaper.reap(pid, process), Promise.race([drained, delay(DRAIN_TIMEOUT_MS)])]))
      .then(([exit]) => exit)
      .catch((): WorkerExit => ({ pid, code: null, signal: null }))
      .then((exit) => {
        this.#finish(exit);
        return exit;
      });
  }

  /** The worker has exited and was reaped; `exited` has resolved. */
  get hasExited(): boolean {
    return this.#exit !== null;
  }

  /**
   * Its exit was seen on the pidfd: a job sent now could not run. True
   * before `hasExited`, which also waits for the reap and the channel's
   * last bytes.
   */
  get exitSeen(): boolean {
    return this.#lost || this.#exit !== null || this.#process.hasExited;
  }

  #markLost(): void {
    if (this.#lost) return;
    this.#lost = true;
    this.emit('lost');
  }

  /** Jobs sent and not yet answered. */
  get pendingJobs(): number {
    return this.#jobs.size;
  }

  /**
   * Sends a job and resolves with the response. Rejects with JobError when
   * the PHP handler threw, WorkerExitedError when the worker died first.
   */
  run(body: Uint8Array | string = '', options: RunOptions = {}): Promise<JobResult> {
    if (this.#exit || this.#failure) {
      return Promise.reject(this.#failure ?? this.#exitError());
    }
    let header: Buffer, context: Buffer, payload: Buffer;
    try {
      [header, context, payload] = encodeFrame(0, 0, options.context, body);
    } catch (err) {
      return Promise.reject(err);
    }
    if (context.length + payload.length > this.#maxFrameSize) {
      // Refused here: sent, it would make the worker drop its channel.
      return Promise.reject(new PayloadTooLargeError(context.length + payload.length, this.#maxFrameSize));
    }
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
    header.writeUInt32LE(id, 4);
    return new Promise<JobResult>((resolve, reject) => {
      this.#jobs.set(id, { resolve, reject, onChunk: options.onChunk, chunks: [] });
      // One writev for the three pieces: the payload is not copied.
      this.#socket.cork();
      this.#socket.write(header);
      if (context.length > 0) this.#socket.write(context);
      if (payload.length > 0) this.#socket.write(payload);
      this.#socket.uncork();
    });
  }

  /** Signals the worker through its pidfd; false when it is already gone. */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.#exit) return false;
    return this.#process.kill(signal);
  }

  /**
   * Asks the worker to stop: its channel ends, so it finishes the job it
   * has, leaves its loop and exits 0. Resolves when it has exited.
   */
  close(): Promise<WorkerExit> {
    this.#socket.end();
    return this.exited;
  }

  #onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.#fail(err as ProtocolError);
      return;
    }
    for (const frame of frames) this.#onFrame(frame);
  }

  #onFrame(frame: Frame): void {
    if (isControl(frame)) {
      if (frame.context.type === 'ready' && !this.#isReady) {
        this.#isReady = true;
        this.#settleReady.resolve();
      }
      return;
    }
    if (this.#abandoned.has(frame.id)) {
      if (!(frame.flags & FLAG_MORE)) this.#abandoned.delete(frame.id);
      return;
    }
    const job = this.#jobs.get(frame.id);
    if (!job) {
      this.#fail(new ProtocolError(`worker ${this.pid} answered job ${frame.id}, which it was not given`));
      return;
    }
    if (frame.flags & FLAG_ERROR) {
      this.#jobs.delete(frame.id);
      // The worker could not decode the context it was sent: the job's
      // fault, not the handler's.
      const refused = frame.context.class === 'Zygote\\InvalidContextException';
      job.reject(refused ? new InvalidContextError(String(frame.context.message)) : new JobError(frame.context));
    } else if (frame.flags & FLAG_MORE) {
      if (!job.onChunk) {
        job.chunks.push(frame.body);
        return;
      }
      let pending: void | Promise<void>;
      try {
        pending = job.onChunk(frame.body, frame.context);
      } catch (err) {
        this.#abandonJob(frame.id, job, err as Error);
        return;
      }
      if (pending && typeof pending.then === 'function') {
        this.#socket.pause();
        pending.then(
          () => this.#socket.resume(),
          (err: Error) => {
            this.#abandonJob(frame.id, job, err);
            this.#socket.resume();
          },
        );
      }
    } else {
      this.#jobs.delete(frame.id);
      const body = job.chunks.length > 0 ? Buffer.concat([...job.chunks, frame.body]) : frame.body;
      job.resolve({ body, context: frame.context });
    }
  }

  /** The caller's onChunk failed: that job fails with its error; the worker and other jobs go on. */
  #abandonJob(id: number, job: PendingJob, error: Error): void {
    if (this.#jobs.get(id) !== job) return;
    this.#jobs.delete(id);
    this.#abandoned.add(id);
    job.reject(error);
  }

  /** A protocol error: this channel can no longer be trusted, and the worker is killed. */
  #fail(error: ProtocolError): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#end(error);
    if (!this.#exit) this.#process.kill('SIGKILL');
    this.emit('protocol-error', error);
  }

  /** The channel is done: every job still waiting, and a pending ready, fail with `error`. */
  #end(error: Error): void {
    this.#socket.destroy();
    for (const job of this.#jobs.values()) job.reject(error);
    this.#jobs.clear();
    this.#settleReady.reject(error);
  }

  /**
   * The channel ended mid-frame. A worker killed while writing is a
   * WorkerExitedError with its signal, decided by its exit status in
   * #exitError; one still alive after the grace broke the protocol.
   */
  #onTruncated(): void {
    this.#truncated = true;
    const timer = setTimeout(() => {
      if (!this.#process.hasExited) this.#fail(new ProtocolError(`worker ${this.pid} closed its channel in the middle of a frame`));
    }, TRUNCATION_GRACE_MS);
    void this.#process.exited.finally(() => clearTimeout(timer)).catch(() => {});
  }

  #exitError(): Error {
    const exit = this.#exit ?? { pid: this.pid, code: null, signal: null };
    if (this.#truncated && exit.code === 0) {
      return new ProtocolError(`worker ${this.pid} exited 0 in the middle of writing a frame`);
    }
    return new WorkerExitedError(this.pid, exit.code, exit.signal, this.#logs.lastLogs(this.pid));
  }

  #finish(exit: WorkerExit): void {
    this.#exit = exit;
    this.#process.close();
    this.#end(this.#failure ?? this.#exitError());
    // Outside the `exited` chain: a throwing listener is the listener's
    // uncaught exception, not a rejection of `exited`.
    process.nextTick(() => this.emit('exit', exit));
  }
}
