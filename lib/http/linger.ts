/**
 * endAfterDraining(req, res): finishes a response that was sent before its
 * request body was read (a 413 for a body over maxBodySize) without losing
 * it to a TCP reset.
 *
 * Closing a socket whose receive queue still holds unread bytes, or that
 * receives more after the close, makes the kernel answer with RST; the
 * client, still busy sending its body, then sees EPIPE or ECONNRESET and
 * may discard the response it had not read yet. RFC 9112 §9.6 has the
 * server close in stages and keep reading meanwhile. So the response
 * (complete per its Content-Length, with `Connection: close`) is written at
 * once, and its end, after which Node closes the socket, waits until the
 * body has been read and thrown away: to its end, until the client closes,
 * or until LINGER_BYTES or LINGER_MS are used up, whichever comes first.
 * A client that reads while it sends (fetch, curl) has its answer early
 * and usually closes first.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Most bytes of an unwanted body read and discarded: bandwidth, never memory. */
export const LINGER_BYTES = 64 * 1024 * 1024;
/** Longest time spent draining, like nginx's lingering_time (which is 30 s). */
export const LINGER_MS = 5000;

/** Call after the whole response body was written with res.write(), instead of res.end(). */
export function endAfterDraining(req: IncomingMessage, res: ServerResponse): void {
  if (req.readableEnded || req.destroyed) {
    res.end();
    return;
  }
  let drained = 0;
  const onData = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > LINGER_BYTES) finish();
  };
  const finish = () => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', finish);
    req.off('close', finish);
    res.end();
  };
  const timer = setTimeout(finish, LINGER_MS);
  req.on('error', () => {});
  req.on('data', onData);
  req.on('end', finish);
  req.on('close', finish);
  req.resume();
}
