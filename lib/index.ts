export { native } from './binding.js';
export { PhpZygoteError, UnsupportedPlatformError, HandleClosedError } from './errors.js';
export { ProcessHandle } from './process-handle.js';
export type { ExitInfo, ProcessHandleOptions } from './process-handle.js';
export { socketPair, socketFromFd } from './socket-pair.js';
export type { SocketPairOptions } from './socket-pair.js';
export { sendFds, receiveFds, setPassCredentials } from './fd-passing.js';
export { setChildSubreaper, isChildSubreaper } from './subreaper.js';
export { signalNumber, signalName } from './signals.js';
export type {
  NativeBinding,
  NativeExitStatus,
  NativePoller,
  NativePollerConstructor,
  NativeReceived,
  PollCallback,
} from '../types/native.js';

import { native as binding } from './binding.js';
import { signalName, signalNumber } from './signals.js';

/** Closes an fd the addon owns; false when it was not owned (already closed). */
export function closeFd(fd: number): boolean {
  return binding.closeFd(fd);
}

/** pidfd_open(pid, PIDFD_NONBLOCK): an fd that pins the process. Owned by the addon. */
export function pidfdOpen(pid: number): number {
  return binding.pidfdOpen(pid);
}

/** pidfd_send_signal: signals exactly the process the pidfd refers to. */
export function pidfdSendSignal(pidfd: number, signal: NodeJS.Signals | number): void {
  binding.pidfdSendSignal(pidfd, signalNumber(signal));
}

/** waitid(P_PIDFD, WEXITED | WNOHANG) for one child: its status, or null while it runs. */
export function reapPidfd(pidfd: number) {
  const status = binding.reapPidfd(pidfd);
  return status === null ? null : { ...status, signal: signalName(status.signal) };
}

/** The native Poller class: a uv_poll_t on any fd, on this thread's loop. */
export const Poller = binding.Poller;


export { Master, PHP_RUNTIME_DIR } from './master.js';
export type { MasterOptions, MasterInfo, MasterEvents, LogLine } from './master.js';
export { Worker } from './worker.js';
export type { JobResult, RunOptions, WorkerExit, WorkerEvents } from './worker.js';
export { ProtocolError, MasterStartError, MasterClosedError, ForkError, WorkerExitedError, JobError } from './errors.js';
export { FrameDecoder, encodeFrame, DEFAULT_MAX_FRAME_SIZE } from './frame.js';
export type { Frame, Context } from './frame.js';
export { ControlChannel } from './control-channel.js';
export { OutputReader } from './output-reader.js';
export type { OutputStream, LineListener } from './output-reader.js';
export { WorkerPool } from './worker-pool.js';
export type { WorkerPoolOptions, PoolRunOptions, PoolStats, WorkerStats, WorkerExitInfo, ExitReason, PoolEvents } from './worker-pool.js';
export type { WorkerCountRange } from './pool-options.js';
export { PoolClosedError, QueueFullError, QueueTimeoutError, JobTimeoutError, AbortError, CrashLoopError } from './errors.js';
export { readMemory, parseBytes } from './memory.js';
export type { ProcessMemory } from './memory.js';
export { startOrphanReaper, reapOrphans } from './orphan-reaper.js';
export { createRequestHandler, statusFor } from './http/request-handler.js';
export type { RequestHandler, RequestHandlerOptions } from './http/request-handler.js';
export { BodyTooLargeError } from './errors.js';
export { PayloadTooLargeError } from './errors.js';
export { BodyTimeoutError } from './http/body-timeout-error.js';
export { fastifyPhpZygote } from './http/fastify.js';
export { keepRawBody } from './http/framework-body.js';
export type { FastifyPhpZygoteOptions, FastifyInstanceLike } from './http/fastify.js';
