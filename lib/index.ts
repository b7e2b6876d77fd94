/**
 * The public API of php-zygote, by layer (lowest first). This file only
 * re-exports: each name lives in the file named for its concept.
 */

// Errors, each with a stable `code`.
export {
  PhpZygoteError,
  UnsupportedPlatformError,
  HandleClosedError,
  ProtocolError,
  InvalidContextError,
  MasterStartError,
  MasterClosedError,
  ForkError,
  WorkerExitedError,
  JobError,
  PoolClosedError,
  QueueFullError,
  QueueTimeoutError,
  JobTimeoutError,
  AbortError,
  CrashLoopError,
  BodyTooLargeError,
  BodyTimeoutError,
  PayloadTooLargeError,
} from './errors.js';

// native/: the addon and thin wrappers over its system calls.
export { native } from './native/binding.js';
export { closeFd, pidfdOpen, pidfdSendSignal, reapPidfd, Poller } from './native/pidfd.js';
export { socketPair, socketFromFd } from './native/socket-pair.js';
export type { SocketPairOptions } from './native/socket-pair.js';
export { sendFds, receiveFds, setPassCredentials } from './native/fd-passing.js';
export { setChildSubreaper, isChildSubreaper } from './native/subreaper.js';
export { signalNumber, signalName } from './native/signals.js';
export type {
  NativeBinding,
  NativeExitStatus,
  NativePoller,
  NativePollerConstructor,
  NativeReceived,
  PollCallback,
} from '../types/native.js';

// process/: processes that are not Node's children, watched and reaped.
export { ProcessHandle } from './process/process-handle.js';
export type { ExitInfo, ProcessHandleOptions } from './process/process-handle.js';
export { readMemory, parseBytes } from './process/memory.js';
export type { ProcessMemory } from './process/memory.js';
export { adoptOrphans, startOrphanReaper, reapOrphans } from './process/orphan-reaper.js';

// protocol/: the frame codec and the master's control channel.
export { FrameDecoder, encodeFrame, encodeContext, DEFAULT_MAX_FRAME_SIZE } from './protocol/frame.js';
export type { Frame, Context } from './protocol/frame.js';
export { ControlChannel } from './protocol/control-channel.js';

// zygote/: one PHP master, its output, its workers.
export { Master, PHP_RUNTIME_DIR } from './zygote/master.js';
export type { MasterOptions, MasterInfo, MasterEvents, LogLine, OpcacheStatus } from './zygote/master.js';
export { OutputReader } from './zygote/output-reader.js';
export type { OutputStream, LineListener } from './zygote/output-reader.js';
export { Worker } from './zygote/worker.js';
export type { JobResult, RunOptions, WorkerExit, WorkerEvents } from './zygote/worker.js';

// pool/: WorkerPool, the main API.
export { WorkerPool, statusText } from './pool/worker-pool.js';
export type {
  WorkerPoolOptions,
  PoolRunOptions,
  PoolStats,
  PoolState,
  WorkerStats,
  WorkerExitInfo,
  ExitReason,
  SlotState,
  PoolEvents,
  PoolInternals,
  MasterFactory,
  PoolMaster,
  PoolWorker,
  PoolStatus,
  WorkerStatus,
  MetricsOptions,
  TimeSummary,
} from './pool/worker-pool.js';
export type { WorkerCountRange } from './pool/pool-options.js';

// http/: serving HTTP through a pool.
export { createRequestHandler, statusFor } from './http/request-handler.js';
export type { RequestHandler, RequestHandlerOptions } from './http/request-handler.js';
export { createDocrootHandler } from './http/docroot/docroot-handler.js';
export type { DocrootOptions } from './http/docroot/docroot-options.js';
export { reusedDocrootPreload, type ReusedDocrootPreload } from './http/docroot/reuse-preload.js';
export { fastifyPhpZygote } from './http/fastify.js';
export { keepRawBody } from './http/framework-body.js';
export type { FastifyPhpZygoteOptions, FastifyInstanceLike } from './http/fastify.js';
