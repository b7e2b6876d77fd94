/**
 * createRequestHandler(pool): serves HTTP through a WorkerPool. Each
 * request travels as one job (method, URL, headers, addresses in the
 * context, the body as the job body); the PHP side answers with status and
 * headers in the context and the body, possibly in several frames, which
 * are forwarded as they arrive (chunked encoding).
 *
 * Works with node:http, and mounted in Express or Fastify (see
 * framework-body.ts for bodies they already read, fastify.ts for the
 * plugin).
 *
 * Header names and values travel as Node's HTTP layer has them: each byte
 * one character U+0000..U+00FF (Latin-1). rawHeaders are already in that
 * form and writeHead() writes it back byte for byte, so headers pass
 * through unchanged and arbitrary bytes survive both ways; the PHP side
 * converts (php/src/Http/HeaderBytes.php, docs/protocol.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BodyTimeoutError,
  BodyTooLargeError,
  CrashLoopError,
  JobTimeoutError,
  PayloadTooLargeError,
  PoolClosedError,
  ProtocolError,
  QueueFullError,
  QueueTimeoutError,
  WorkerExitedError,
} from '../errors.js';
import type { Context } from '../protocol/frame.js';
import type { WorkerPool } from '../pool/worker-pool.js';
import { bodyReadByFramework, type PrereadBody } from './framework-body.js';
import { endAfterDraining } from './linger.js';
import { readBody } from './request-body.js';

export interface RequestHandlerOptions {
  /** Largest request body accepted, bytes; larger gets 413. Default 16 MiB. */
  maxBodySize?: number;
  /** Longest pause in ms while the request body arrives; 408 after it. Default 30 s. */
  bodyTimeout?: number;
  /** Time limit per request in ms (the job's execution timeout); 504 after it. Default: the pool's execTimeout. */
  timeout?: number;
  /** Seconds sent in Retry-After with a 503 for a full queue. Default 1. */
  retryAfter?: number;
  /** Kill the worker of a request whose client went away. Default false: the request finishes, like php-fpm. */
  abortOnDisconnect?: boolean;
  /** Called for every request that failed, with the status sent. For logging. */
  onError?: (error: Error, req: IncomingMessage, status: number) => void;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export function createRequestHandler(pool: WorkerPool, options: RequestHandlerOptions = {}): RequestHandler {
  const { maxBodySize = 16 * 1024 * 1024, bodyTimeout = 30_000, timeout, retryAfter = 1, abortOnDisconnect = false, onError } = options;
  if (!Number.isInteger(maxBodySize) || maxBodySize < 0) throw new TypeError('options.maxBodySize must be a non-negative integer');
  if (!(typeof bodyTimeout === 'number' && bodyTimeout > 0 && Number.isFinite(bodyTimeout))) throw new TypeError('options.bodyTimeout must be a positive number of milliseconds');
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0)) throw new TypeError('options.timeout must be a non-negative number of milliseconds');
  if (!Number.isInteger(retryAfter) || retryAfter < 0) throw new TypeError('options.retryAfter must be a non-negative integer of seconds');

  const fail = (req: IncomingMessage, res: ServerResponse, error: Error): void => {
    if (res.writableEnded || res.destroyed) return;
    const status = statusFor(error);
    onError?.(error, req, status);
    if (res.headersSent) {
      // Streaming had begun: the status is gone, so cut the response short.
      res.destroy(error);
      return;
    }
    const headers: Record<string, string | number> = { 'content-type': 'text/plain; charset=utf-8' };
    if (status === 503 && error instanceof QueueFullError) headers['retry-after'] = retryAfter;
    const body = `${status} ${MESSAGES[status] ?? 'Error'}\n`;
    headers['content-length'] = Buffer.byteLength(body);
    // The rest of the body is unwanted (413) or not coming (408): this
    // connection cannot carry another request.
    if (status === 413 || status === 408) headers.connection = 'close';
    res.writeHead(status, headers);
    if (status === 413) {
      res.write(body);
      endAfterDraining(req, res);
      return;
    }
    res.end(body);
  };

  const answer = async (req: IncomingMessage, res: ServerResponse, body: Buffer, preread: PrereadBody | null): Promise<void> => {
    if (body.length > maxBodySize) throw new BodyTooLargeError(maxBodySize);
    const controller = abortOnDisconnect ? new AbortController() : null;
    if (controller) {
      res.on('close', () => {
        if (!res.writableFinished) controller.abort(new Error('the client disconnected'));
      });
    }
    const context = {
      method: req.method,
      url: requestUrl(req),
      headers: requestHeaders(req.rawHeaders, body, preread),
      httpVersion: req.httpVersion,
      remoteAddress: req.socket.remoteAddress ?? '',
      remotePort: req.socket.remotePort ?? 0,
      serverPort: req.socket.localPort ?? 0,
      scheme: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
    };
    const result = await pool.run(body, {
      context,
      timeout,
      signal: controller?.signal,
      onChunk: (chunk, chunkContext) => {
        if (!res.headersSent) res.writeHead(statusOf(chunkContext), headersOf(chunkContext));
        if (chunk.length === 0 || res.write(chunk)) return;
        // A slow client: hold the worker back (its writes block) rather
        // than buffer the whole stream here.
        return new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      },
    });
    if (res.headersSent) {
      res.end(result.body);
      return;
    }
    const status = statusOf(result.context);
    const headers = headersOf(result.context);
    if (status === 204 || status === 304) {
      res.writeHead(status, headers).end();
      return;
    }
    headers.push('content-length', String(result.body.length));
    res.writeHead(status, headers).end(req.method === 'HEAD' ? undefined : result.body);
  };

  return (req, res) => {
    const preread = bodyReadByFramework(req);
    const body = preread ? Promise.resolve(preread.body) : readBody(req, { maxBodySize, bodyTimeout });
    body
      // null: the client left before its body was complete; nobody to answer.
      .then((buffer) => (buffer === null ? undefined : answer(req, res, buffer, preread)))
      // Whatever went wrong, answering included, becomes a short response,
      // never an unhandled rejection that takes the server down.
      .catch((error: Error) => fail(req, res, error));
  };
}

export function statusFor(error: Error): number {
  if (error instanceof BodyTooLargeError || error instanceof PayloadTooLargeError) return 413;
  if (error instanceof BodyTimeoutError) return 408;
  if (error instanceof QueueFullError || error instanceof PoolClosedError || error instanceof CrashLoopError) return 503;
  if (error instanceof JobTimeoutError || error instanceof QueueTimeoutError) return 504;
  if (error instanceof WorkerExitedError || error instanceof ProtocolError) return 502;
  return 500;
}

const MESSAGES: Record<number, string> = {
  408: 'Request Timeout',
  413: 'Payload Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * The URL the client asked for. Express strips the mount path from req.url
 * (app.use('/php', handler)) and keeps the original in req.originalUrl; PHP
 * must see what the client sent, as under php-fpm.
 */
function requestUrl(req: IncomingMessage): string | undefined {
  const { originalUrl } = req as IncomingMessage & { originalUrl?: unknown };
  return typeof originalUrl === 'string' ? originalUrl : req.url;
}

/**
 * The request's [name, value] pairs for the context. When a framework had
 * read the body, Content-Length must describe the body PHP gets (a
 * re-serialized one may differ), and Content-Type too if it was re-typed.
 */
function requestHeaders(raw: string[], body: Buffer, preread: PrereadBody | null): [string, string][] {
  const result: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (preread && name === 'content-length') result.push([raw[i], String(body.length)]);
    else if (preread?.contentType !== undefined && name === 'content-type') result.push([raw[i], preread.contentType]);
    else result.push([raw[i], raw[i + 1]]);
  }
  return result;
}

/** 200 when unset; 1xx are refused (a final response is needed) as 500. */
function statusOf(context: Context): number {
  if (context.status === undefined) return 200;
  const status = Number(context.status);
  return Number.isInteger(status) && status >= 200 && status <= 999 ? status : 500;
}

/** The PHP side's [name, value] pairs as the flat list writeHead accepts; hop-by-hop headers are ours to set. */
function headersOf(context: Context): string[] {
  const flat: string[] = [];
  if (!Array.isArray(context.headers)) return flat;
  for (const pair of context.headers) {
    if (!Array.isArray(pair) || pair.length !== 2) continue;
    const [name, value] = pair.map(String);
    // Only what Node's writeHead accepts: a token name, a value of visible
    // Latin-1 characters (bytes, as the PHP side sends them) and tabs.
    // Anything else (CR, LF, NUL: header injection) is dropped, never thrown.
    if (HOP_BY_HOP.has(name.toLowerCase()) || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[^\t\x20-\x7e\x80-\xff]/.test(value)) continue;
    flat.push(name, value);
  }
  return flat;
}
