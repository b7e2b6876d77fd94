/**
 * createRequestHandler(pool): serves HTTP through a WorkerPool, the app
 * deciding everything from the URL. Each request travels as one job
 * (method, URL, headers, addresses in the context, the body as the job
 * body); the PHP side answers with status and headers in the context and
 * the body, possibly in several frames, which are forwarded as they arrive
 * (chunked encoding). The exchange itself (body, job, answer, failures) is
 * php-exchange.ts, shared with the document root front (docroot/).
 *
 * Works with node:http, and mounted in Express or Fastify (see
 * framework-body.ts for bodies they already read, fastify.ts for the
 * plugin).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WorkerPool } from '../pool/worker-pool.js';
import { createPhpExchange, requestUrl, type ContextFor, type RequestHandlerOptions } from './php-exchange.js';

export { statusFor, type RequestHandlerOptions } from './php-exchange.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** The context of docs/protocol.md "HTTP jobs". */
const appContext: ContextFor = (req, _body, headers) => ({
  method: req.method,
  url: requestUrl(req),
  headers,
  httpVersion: req.httpVersion,
  remoteAddress: req.socket.remoteAddress ?? '',
  remotePort: req.socket.remotePort ?? 0,
  serverPort: req.socket.localPort ?? 0,
  scheme: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
});

export function createRequestHandler(pool: WorkerPool, options: RequestHandlerOptions = {}): RequestHandler {
  const exchange = createPhpExchange(pool, options);
  return (req, res) => exchange(req, res, appContext);
}
