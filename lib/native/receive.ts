/**
 * The receive loop both raw sockets Node reads itself share (a master's
 * control channel and its output sockets): read what is there until the
 * socket would block, the peer closed it, or the reader stopped.
 */
import type { NativeBinding } from '../../types/native.js';

export type ReceiveEnd = 'again' | 'eof' | 'stopped';

/**
 * Calls `onBytes` with each read (a view of `buffer`, valid until the
 * next read; `pid` is the writer when SO_PASSCRED is on) while `open()`
 * holds. Throws what recvmsg throws (ECONNRESET, ...), never EAGAIN.
 */
export function receiveAvailable(
  binding: NativeBinding,
  fd: number,
  buffer: Buffer,
  open: () => boolean,
  onBytes: (bytes: Buffer, pid: number | null) => void,
): ReceiveEnd {
  while (open()) {
    const got = binding.receiveFds(fd, buffer, 0);
    if (got === null) return 'again';
    if (got.bytes === 0) return 'eof';
    onBytes(buffer.subarray(0, got.bytes), got.pid ?? null);
  }
  return 'stopped';
}
