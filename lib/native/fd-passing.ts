/**
 * Passing fds between processes over a Unix socket (SCM_RIGHTS).
 * The receiver gets new fds to the same open files; the sender keeps its
 * copies and must close them itself once they are on their way.
 */
import { native } from './binding.js';
import type { NativeBinding, NativeReceived } from '../../types/native.js';

/**
 * Sends `data` (at least one byte: a stream socket cannot carry fds
 * alone) with `fds` attached. Returns bytes sent; a short count means
 * the rest must be sent without the fds. Throws EAGAIN on a full
 * non-blocking socket, EPIPE when the peer is gone (never SIGPIPE).
 */
export function sendFds(sock: number, data: Uint8Array | string, fds: readonly number[], binding: NativeBinding = native): number {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return binding.sendFds(sock, bytes, [...fds]);
}

/**
 * Receives into `buffer` with up to `maxFds` fds (default 253, the
 * kernel's SCM_MAX_FD). Returns null when a non-blocking socket has
 * nothing yet; `bytes === 0` when the peer closed. Received fds are
 * close-on-exec and owned by the addon: closeFd() them when done.
 */
export function receiveFds(sock: number, buffer: Uint8Array, maxFds?: number, binding: NativeBinding = native): NativeReceived | null {
  return binding.receiveFds(sock, buffer, maxFds);
}

/**
 * Turns on SO_PASSCRED: every receiveFds() result then carries the pid of
 * the process that wrote those bytes, and the kernel never mixes two
 * writers' bytes in one read. This is how worker output is attributed to
 * worker pids although all workers share one stdout socket.
 */
export function setPassCredentials(sock: number, on: boolean, binding: NativeBinding = native): void {
  binding.setPassCredentials(sock, on);
}
