/**
 * Every error php-zygote raises itself, each with a stable `code`.
 * System call failures are not here: they arrive from the native layer as
 * Node-style SystemErrors (`code` = errno name, `errno`, `syscall`).
 */

export class PhpZygoteError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The platform or kernel lacks what php-zygote needs (Linux 5.10+). */
export class UnsupportedPlatformError extends PhpZygoteError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_UNSUPPORTED_PLATFORM', message, options);
  }
}

/** A ProcessHandle was used, or awaited, after close(). */
export class HandleClosedError extends PhpZygoteError {
  readonly pid: number;
  constructor(pid: number, what: string) {
    super('ERR_HANDLE_CLOSED', `process handle for pid ${pid} is closed: ${what}`);
    this.pid = pid;
  }
}

/** A peer broke the wire protocol (docs/protocol.md); the channel was closed. */
export class ProtocolError extends PhpZygoteError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_PROTOCOL', message, options);
  }
}

/**
 * A job's context cannot cross to PHP (docs/protocol.md, "Context"): Node
 * refused it before sending, or the worker could not decode it and
 * answered so. Only that job fails; the worker serves on.
 */
export class InvalidContextError extends PhpZygoteError {
  constructor(why: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_CONTEXT', `the job's context cannot be sent to PHP: ${why}`, options);
  }
}

/** The PHP master failed to start or boot the app. `logs` holds its last output lines. */
export class MasterStartError extends PhpZygoteError {
  readonly logs: string[];
  constructor(message: string, logs: string[], options?: { cause?: unknown }) {
    super('ERR_MASTER_START', logs.length > 0 ? `${message}\n${logs.join('\n')}` : message, options);
    this.logs = logs;
  }
}

/** The master is gone or shutting down, so it cannot fork or reap. */
export class MasterClosedError extends PhpZygoteError {
  constructor(message = 'the PHP master is closed') {
    super('ERR_MASTER_CLOSED', message);
  }
}

/** A fork request failed in the master. */
export class ForkError extends PhpZygoteError {
  constructor(message: string) {
    super('ERR_FORK_FAILED', message);
  }
}

/**
 * A worker exited while it had this job, or before it could take it.
 * `exitCode` or `signal` say how; `logs` holds the worker's last output lines.
 */
export class WorkerExitedError extends PhpZygoteError {
  readonly pid: number;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly logs: string[];
  constructor(pid: number, exitCode: number | null, signal: NodeJS.Signals | null, logs: string[]) {
    const how = signal !== null ? `was killed by ${signal}` : exitCode !== null ? `exited with code ${exitCode}` : 'exited';
    super('ERR_WORKER_EXITED', `PHP worker ${pid} ${how}` + (logs.length > 0 ? `; last output:\n${logs.join('\n')}` : ''));
    this.pid = pid;
    this.exitCode = exitCode;
    this.signal = signal;
    this.logs = logs;
  }
}

/** The job's handler threw in PHP. The PHP exception's details are kept. */
export class JobError extends PhpZygoteError {
  readonly phpClass: string;
  readonly phpMessage: string;
  readonly file: string;
  readonly line: number;
  readonly phpTrace: string;
  constructor(details: { class?: unknown; message?: unknown; file?: unknown; line?: unknown; trace?: unknown }) {
    const phpClass = String(details.class ?? 'Throwable');
    const phpMessage = String(details.message ?? '');
    const file = String(details.file ?? '');
    const line = Number(details.line ?? 0);
    super('ERR_JOB_FAILED', `${phpClass}: ${phpMessage}` + (file ? ` in ${file}:${line}` : ''));
    this.phpClass = phpClass;
    this.phpMessage = phpMessage;
    this.file = file;
    this.line = line;
    this.phpTrace = String(details.trace ?? '');
  }
}

/** The pool is closing or closed: the job was not run. */
export class PoolClosedError extends PhpZygoteError {
  constructor(message = 'the worker pool is closed') {
    super('ERR_POOL_CLOSED', message);
  }
}

/** maxQueue jobs were already waiting. */
export class QueueFullError extends PhpZygoteError {
  readonly maxQueue: number;
  constructor(maxQueue: number) {
    super('ERR_QUEUE_FULL', `the job queue is full (maxQueue ${maxQueue})`);
    this.maxQueue = maxQueue;
  }
}

/** The job waited in the queue longer than queueTimeout. */
export class QueueTimeoutError extends PhpZygoteError {
  readonly timeout: number;
  constructor(timeout: number) {
    super('ERR_QUEUE_TIMEOUT', `no worker took the job within queueTimeout (${timeout} ms)`);
    this.timeout = timeout;
  }
}

/** The job ran longer than its execution timeout; its worker was killed with SIGKILL. */
export class JobTimeoutError extends PhpZygoteError {
  readonly timeout: number;
  readonly pid: number;
  constructor(timeout: number, pid: number) {
    super('ERR_JOB_TIMEOUT', `the job ran longer than ${timeout} ms; worker ${pid} was killed with SIGKILL`);
    this.timeout = timeout;
    this.pid = pid;
  }
}

/** The job's AbortSignal fired. Named like the DOM's AbortError, as Node's own APIs do. */
export class AbortError extends PhpZygoteError {
  constructor(reason?: unknown) {
    super('ABORT_ERR', 'the job was aborted', { cause: reason });
    this.name = 'AbortError';
  }
}

/**
 * Workers or masters kept dying (crashLimit exits within crashWindow), so
 * the pool stopped forking instead of looping, like php-fpm's
 * emergency_restart_threshold; it tries a fresh master after
 * recoveryDelay. `logs` holds the last one's output lines.
 */
export class CrashLoopError extends PhpZygoteError {
  readonly logs: string[];
  constructor(message: string, logs: string[] = []) {
    super('ERR_CRASH_LOOP', logs.length > 0 ? `${message}; last output:\n${logs.join('\n')}` : message);
    this.logs = logs;
  }
}

/** An HTTP request body was larger than maxBodySize (413). */
export class BodyTooLargeError extends PhpZygoteError {
  readonly limit: number;
  constructor(limit: number) {
    super('ERR_BODY_TOO_LARGE', `the request body is larger than maxBodySize (${limit} bytes)`);
    this.limit = limit;
  }
}

/** No piece of an HTTP request body arrived for bodyTimeout ms; answered with 408. */
export class BodyTimeoutError extends PhpZygoteError {
  readonly timeout: number;
  constructor(timeout: number) {
    super('ERR_BODY_TIMEOUT', `the request body did not arrive: nothing for bodyTimeout (${timeout} ms)`);
    this.timeout = timeout;
  }
}

/** A job's context and body are larger than maxFrameSize; it was not sent. */
export class PayloadTooLargeError extends PhpZygoteError {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super('ERR_PAYLOAD_TOO_LARGE', `the job is ${size} bytes, more than maxFrameSize (${limit})`);
    this.size = size;
    this.limit = limit;
  }
}
