/**
 * createPhpExchange(pool, options): answers one HTTP request with one PHP
 * job. It reads the request body (or takes the copy a framework already
 * read), runs the job with a context the caller builds, streams the PHP
 * side's answer back (status and headers in the context, the body in one
 * or more frames) and turns every failure into a short response.
 *
 * Both fronts use it: createRequestHandler (the app decides everything
 * from the URL) and createDocrootHandler (a document root decides which
 * script runs). They differ only in the context they send.
 *
 * Header names and values travel as Node's HTTP layer has them: each byte
 * one character U+0000..U+00FF (Latin-1). rawHeaders are already in that
 * form and writeHead() writes it back byte for byte, so headers pass
 * through unchanged and arbitrary bytes survive both ways; the PHP side
 * converts (php/src/Http/HeaderBytes.php, docs/protocol.md).
 */
import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
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
import { bodyReadByFramework } from './framework-body.js';
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

/** The request's header pairs as PHP gets them, after any change a framework's body parsing made necessary. */
export type RequestHeaders = [string, string][];

/** Builds the job's context once the body is known. */
export type ContextFor = (req: IncomingMessage, body: Buffer, headers: RequestHeaders) => Context;

/**
 * Reads a request body another way than into one Buffer (a multipart
 * upload, streamed to files): resolves with the job body, more context,
 * and `done`, run once the job settled whatever its outcome (answered,
 * failed, timed out, worker crashed); or with null when the client left
 * before its body was complete.
 */
export type BodyIntake = (req: IncomingMessage, limits: { maxBodySize: number; bodyTimeout: number }) => Promise<{ body: Buffer; context: Context; done: () => Promise<void> } | null>;

/** Runs the request as a job and answers it; never throws, never rejects. */
export type PhpExchange = (req: IncomingMessage, res: ServerResponse, contextFor: ContextFor, intake?: BodyIntake) => void;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export function createPhpExchange(pool: WorkerPool, options: RequestHandlerOptions = {}): PhpExchange {
  const { maxBodySize = 16 * 1024 * 1024, bodyTimeout = 30_000, timeout, retryAfter = 1, abortOnDisconnect = false, onError } = options;
  if (!Number.isInteger(maxBodySize) || maxBodySize < 0) throw new TypeError('options.maxBodySize must be a non-negative integer');
  if (!(typeof bodyTimeout === 'number' && bodyTimeout > 0 && Number.isFinite(bodyTimeout))) throw new TypeError('options.bodyTimeout must be a positive number of milliseconds');
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0)) throw new TypeError('options.timeout must be a non-negative number of milliseconds');
  if (!Number.isInteger(retryAfter) || retryAfter < 0) throw new TypeError('options.retryAfter must be a non-negative integer of seconds');
  if (onError !== undefined && typeof onError !== 'function') throw new TypeError('options.onError must be a function');

  const fail = (req: IncomingMessage, res: ServerResponse, error: Error): void => {
    if (res.writableEnded || res.destroyed) return;
    const status = statusFor(error);
    onError?.(error, req, status);
    if (res.headersSent) {
      // Streaming had begun: the status is gone, so cut the response short.
      res.destroy(error);
      return;
    }
    const headers: OutgoingHttpHeaders = {};
    if (status === 503 && error instanceof QueueFullError) headers['retry-after'] = String(retryAfter);
    // The rest of the body is unwanted (413) or not coming (408): this
    // connection cannot carry another request.
    if (status === 413 || status === 408) headers.connection = 'close';
    if (status === 413) {
      sendStatus(res, status, headers, false);
      endAfterDraining(req, res);
      return;
    }
    sendStatus(res, status, headers);
  };

  const answer = async (req: IncomingMessage, res: ServerResponse, body: Buffer, headers: RequestHeaders, contextFor: ContextFor): Promise<void> => {
    if (body.length > maxBodySize) throw new BodyTooLargeError(maxBodySize);
    const controller = abortOnDisconnect ? new AbortController() : null;
    // A client gone before its request reached a worker: the request is
    // dropped from the queue, never run (php-fpm behind nginx would not
    // start it either). Once a worker has it, it runs to its end.
    const gone = new AbortController();
    res.on('close', () => {
      if (res.writableFinished) return;
      const reason = new Error('the client disconnected');
      controller?.abort(reason);
      gone.abort(reason);
    });
    const result = await pool.run(body, {
      context: contextFor(req, body, headers),
      label: `${req.method} ${requestUrl(req)}`, // the status view's "request"
      timeout,
      signal: controller?.signal,
      queuedSignal: gone.signal,
      onChunk: (chunk, chunkContext) => {
        // A client that went away wants nothing more: the rest of the
        // stream is read and dropped, so the worker finishes and is freed.
        // (Waiting for a 'close' that already happened would hold the
        // worker's channel paused, and its slot busy, for good.)
        if (res.destroyed) return;
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
          if (res.destroyed) done(); // it closed between the write and now
        });
      },
    });
    if (res.destroyed) return;
    if (res.headersSent) {
      res.end(result.body);
      return;
    }
    const status = statusOf(result.context);
    const responseHeaders = headersOf(result.context);
    if (status === 204 || status === 304) {
      res.writeHead(status, responseHeaders).end();
      return;
    }
    responseHeaders.push('content-length', String(result.body.length));
    res.writeHead(status, responseHeaders).end(req.method === 'HEAD' ? undefined : result.body);
  };

  return (req, res, contextFor, intake) => {
    if (intake) {
      intake(req, { maxBodySize, bodyTimeout })
        .then(async (taken) => {
          if (taken === null) return;
          try {
            const headers = requestHeaders(req.rawHeaders, taken.body, false, undefined);
            await answer(req, res, taken.body, headers, (...args) => ({ ...contextFor(...args), ...taken.context }));
          } finally {
            // The job has settled (or never started): its files go now.
            await taken.done().catch(() => {});
          }
        })
        .catch((error: Error) => fail(req, res, error));
      return;
    }
    const preread = bodyReadByFramework(req);
    const body = preread ? Promise.resolve(preread.body) : readBody(req, { maxBodySize, bodyTimeout });
    body
      // null: the client left before its body was complete; nobody to answer.
      .then((buffer) => {
        if (buffer === null) return undefined;
        const headers = requestHeaders(req.rawHeaders, buffer, preread !== null, preread?.contentType);
        return answer(req, res, buffer, headers, contextFor);
      })
      // Whatever went wrong, answering included (a context builder that
      // threw too), becomes a short response, never an unhandled
      // rejection that takes the server down.
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

/**
 * A short answer of our own (an error, a redirect) as nginx gives its own
 * (src/http/ngx_http_special_response.c): a small HTML page, `text/html`
 * without a charset, the server named as nginx names itself with
 * `server_tokens off`:
 *
 *   <html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n
 *   <center><h1>404 Not Found</h1></center>\r\n<hr><center>php-zygote</center>\r\n</body>\r\n</html>\r\n
 *
 * so a browser shows a page, not bare text, and an app's error handling
 * meets what it met behind nginx. The phrase is Node's, the one on the
 * status line (nginx has a few of its own: `405 Not Allowed`,
 * `504 Gateway Time-out`). A HEAD gets the headers alone (Node leaves the
 * body out). With end false the body is written and the caller ends the
 * response (after draining an unwanted upload).
 */
export function sendStatus(res: ServerResponse, status: number, extra: OutgoingHttpHeaders = {}, end = true): void {
  const body = statusPage(status);
  res.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body), ...extra });
  if (end) res.end(body);
  else res.write(body);
}

/** The page sendStatus answers with. */
export function statusPage(status: number): string {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>php-zygote</center>\r\n</body>\r\n</html>\r\n`;
}

/**
 * The URL the client asked for. Express strips the mount path from req.url
 * (app.use('/php', handler)) and keeps the original in req.originalUrl; PHP
 * must see what the client sent, as under php-fpm.
 */
export function requestUrl(req: IncomingMessage): string {
  const { originalUrl } = req as IncomingMessage & { originalUrl?: unknown };
  return typeof originalUrl === 'string' ? originalUrl : req.url ?? '/';
}

/**
 * The request's [name, value] pairs for the context. When a framework had
 * read the body, Content-Length must describe the body PHP gets (a
 * re-serialized one may differ), and Content-Type too if it was re-typed.
 */
function requestHeaders(raw: string[], body: Buffer, preread: boolean, contentType: string | undefined): RequestHeaders {
  const result: RequestHeaders = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (preread && name === 'content-length') result.push([raw[i], String(body.length)]);
    else if (contentType !== undefined && name === 'content-type') result.push([raw[i], contentType]);
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
