/**
 * What the pool needs of a master and of its workers, as interfaces: the
 * real ones are zygote/Master and zygote/Worker, and the pool can be given
 * another factory, so scheduling, scaling and back-off are tested without
 * PHP. (What the kernel does is always tested for real, elsewhere.)
 */
import type { Context } from '../protocol/frame.js';
import { Master, type LogLine, type MasterOptions, type OpcacheStatus } from '../zygote/master.js';
import type { JobResult, WorkerExit } from '../zygote/worker.js';

export interface PoolWorker {
  readonly pid: number;
  /** Resolves once the worker exited, was reaped and its channel drained; never rejects. */
  readonly exited: Promise<WorkerExit>;
  /** The exit was seen (pidfd or channel): a job sent now could not run. Before `exited` resolves. */
  readonly exitSeen: boolean;
  run(
    body: Uint8Array | string,
    options: { context?: Context | Buffer; onChunk?: (chunk: Buffer, context: Context) => void | Promise<void> },
  ): Promise<JobResult>;
  kill(signal: NodeJS.Signals | number): boolean;
  /** Ends the channel: the worker finishes its job and exits 0. */
  close(): Promise<WorkerExit>;
  on(event: 'protocol-error', listener: (error: Error) => void): unknown;
  /** The earliest sign of its death (end of file or pidfd); its status comes with `exited`. */
  on(event: 'lost', listener: () => void): unknown;
}

export interface PoolMaster {
  readonly pid: number;
  /** Whether it can still fork. */
  readonly alive: boolean;
  /** Resolves when the master process ended. */
  readonly exited: Promise<unknown>;
  fork(): Promise<PoolWorker>;
  close(): Promise<void>;
  lastLogs(pid: number): string[];
  /** Opcache's shared state (null when off); optional for masters that have none to report. */
  opcacheStatus?(): Promise<OpcacheStatus | null>;
  on(event: 'log', listener: (line: LogLine) => void): unknown;
}

/** Boots one master; rejects with MasterStartError when the app cannot boot. */
export type MasterFactory = (options: MasterOptions) => Promise<PoolMaster>;

export const startMaster: MasterFactory = (options) => Master.start(options);
