/**
 * The typed contract of the native binding (src-native/). Every function is
 * one system call; failures throw an Error shaped like Node's SystemError:
 * `code` ('ESRCH'), `errno` (negative, as in Node: -3), `syscall`
 * ('pidfd_open'), message 'ESRCH: no such process, pidfd_open'. Argument
 * type errors throw TypeError with code ERR_INVALID_ARG_TYPE.
 *
 * Fd ownership: fds returned by pidfdOpen, socketPair and receiveFds belong
 * to the addon until closeFd() closes them or releaseFd() gives them away;
 * the addon closes the ones still owned when the environment shuts down.
 */

/** waitid(2) result for a reaped child. */
export interface NativeExitStatus {
  pid: number;
  /** Exit code, or null when the process was killed by a signal. */
  code: number | null;
  /** Signal number that killed the process, or null when it exited. */
  signal: number | null;
  coreDumped: boolean;
}

export interface NativeReceived {
  /** Bytes written into the caller's buffer; 0 means the peer closed. */
  bytes: number;
  /** Received fds, close-on-exec, owned by the addon until closed/released. */
  fds: number[];
  /** True when the kernel dropped fds for want of room (maxFds too small). */
  truncated: boolean;
  /** Pid of the process that wrote these bytes when SO_PASSCRED is on, else null. */
  pid: number | null;
}

export type PollCallback = (err: NodeJS.ErrnoException | null, events: number) => void;

/** A uv_poll_t on one fd. Does not own the fd: close the Poller first. */
export interface NativePoller {
  /** Starts (or changes) watching; events default to READABLE. */
  start(events?: number): void;
  stop(): void;
  /** Stops and releases the handle; idempotent. */
  close(): void;
  ref(): void;
  unref(): void;
  hasRef(): boolean;
}

export interface NativePollerConstructor {
  new (fd: number, callback: PollCallback): NativePoller;
  readonly READABLE: number;
  readonly WRITABLE: number;
  readonly DISCONNECT: number;
}

export interface NativeBinding {
  /** pidfd_open(pid, PIDFD_NONBLOCK). */
  pidfdOpen(pid: number): number;
  /** pidfd_send_signal(pidfd, signal, NULL, 0). */
  pidfdSendSignal(pidfd: number, signal: number): void;
  /** socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC [| SOCK_NONBLOCK]). */
  socketPair(nonblock?: boolean): [number, number];
  /** sendmsg with one SCM_RIGHTS message; data must be at least one byte. */
  sendFds(sock: number, data: Uint8Array, fds: number[]): number;
  /** recvmsg with MSG_CMSG_CLOEXEC into `buffer`; null on EAGAIN. */
  receiveFds(sock: number, buffer: Uint8Array, maxFds?: number): NativeReceived | null;
  /**
   * setsockopt(SO_PASSCRED): receiveFds then reports the writer's pid, and
   * a stream socket never mixes two writers' bytes in one read.
   */
  setPassCredentials(sock: number, on: boolean): void;
  /** prctl(PR_SET_CHILD_SUBREAPER). */
  setChildSubreaper(on: boolean): void;
  /** prctl(PR_GET_CHILD_SUBREAPER). */
  isChildSubreaper(): boolean;
  /** waitid(P_PIDFD, pidfd, WEXITED | WNOHANG); null while running. */
  reapPidfd(pidfd: number): NativeExitStatus | null;
  /** close(fd) if owned; false when it was not (already closed, released). */
  closeFd(fd: number): boolean;
  /** Gives up ownership without closing; false when it was not owned. */
  releaseFd(fd: number): boolean;
  /** How many fds the addon owns right now (for leak checks). */
  ownedFdCount(): number;
  Poller: NativePollerConstructor;
}
