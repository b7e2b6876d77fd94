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
