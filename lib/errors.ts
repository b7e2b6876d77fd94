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
