/**
 * readBody(req, limits): the request body read off the wire, for a request
 * that no framework has read before us. Bounded in size (maxBodySize) and
 * in waiting: bodyTimeout is the longest pause between two pieces of the
 * body (like nginx's client_body_timeout), so a client that declares a
 * body and never sends it cannot hold a request, and its connection,
 * forever.
 */
import type { IncomingMessage } from 'node:http';
import { BodyTooLargeError } from '../errors.js';
import { BodyTimeoutError } from '../errors.js';

export interface BodyLimits {
  maxBodySize: number;
  bodyTimeout: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * Resolves with the body, or with null when the client went away before
 * sending all of it (there is nobody left to answer). Rejects with
 * BodyTooLargeError or BodyTimeoutError; the stream is then left flowing,
 * for the caller to drain or close.
 */
export function readBody(req: IncomingMessage, { maxBodySize, bodyTimeout }: BodyLimits): Promise<Buffer | null> {
  // A request with neither Content-Length nor Transfer-Encoding has no
  // body (RFC 9112, 6.3), nor has one that declares 0 bytes: nothing to
  // wait for (no timer, no listeners, no turn of the event loop for the
  // stream's 'end'). node:http drains such a request itself when the
  // response ends.
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return Promise.resolve(EMPTY);
  // A client that resets mid-body makes req emit 'error'; without a
  // listener that would be an uncaught exception. 'close' reports it.
  req.on('error', () => {});
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBodySize) {
      reject(new BodyTooLargeError(maxBodySize));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodySize) {
        settle();
        reject(new BodyTooLargeError(maxBodySize));
        return;
      }
      chunks.push(chunk);
      timer.refresh();
    };
    const onEnd = () => {
      settle();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onClose = () => {
      settle();
      resolve(null);
    };
    const timer = setTimeout(() => {
      settle();
      reject(new BodyTimeoutError(bodyTimeout));
    }, bodyTimeout);
    const settle = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
}
