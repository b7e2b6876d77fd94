/**
 * createDocrootHandler(pool, options): serves a document root the way
 * nginx + php-fpm do, so an app written for php-fpm (WordPress, DokuWiki,
 * Drupal) runs unchanged: static files from Node (static-file.ts), `.php`
 * scripts as PHP jobs (locate.ts decides which), with the CGI variables
 * php-fpm would give them (cgi-params.ts).
 *
 * A PHP request is one job, through the same exchange as
 * createRequestHandler (php-exchange.ts: body limits, streaming, the
 * failure statuses), with the context
 *
 *   { docroot: { script, cwd }, server: { CGI variables }, headers: [[name, value], ...], upload? }
 *
 * which the runtime in php/ turns into a classic request: $_SERVER,
 * superglobals, the script's directory as cwd, the script included at
 * global scope (docs/protocol.md "Document root jobs").
 *
 * Mounted in Express (app.use('/wiki', handler)), URL paths are matched
 * relative to the mount (req.url), while REQUEST_URI, SCRIPT_NAME and
 * redirects carry the mount path, as the client sees them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import type { WorkerPool } from '../../pool/worker-pool.js';
import { bodyReadByFramework } from '../framework-body.js';
import { createPhpExchange, requestUrl, sendStatus, type BodyIntake, type PhpExchange } from '../php-exchange.js';
import type { RequestHandler } from '../request-handler.js';
import { bytes, cgiParams } from './cgi-params.js';
import { resolveDocrootOptions, type DocrootConfig, type DocrootOptions } from './docroot-options.js';
import { locate, type Decision, type PhpTarget } from './locate.js';
import { receiveMultipart } from './multipart-intake.js';
import { serveStatic } from './static-file.js';
import { decodeUrlPath, encodeUrlPath } from './url-path.js';

export function createDocrootHandler(pool: WorkerPool, options: DocrootOptions): RequestHandler {
  if (typeof (pool as Partial<WorkerPool> | null)?.run !== 'function') throw new TypeError('pool must be a WorkerPool');
  const config = resolveDocrootOptions(options);
  const exchange = createPhpExchange(pool, options);
  return (req, res) => {
    try {
      answer(config, exchange, req, res, locate(config, req.url ?? '/'));
    } catch {
      // locate() turns filesystem errors into statuses; what is left is a
      // bug, answered rather than left to crash the server.
      if (!res.headersSent) sendStatus(res, 500);
      else res.destroy();
    }
  };
}

function answer(config: DocrootConfig, exchange: PhpExchange, req: IncomingMessage, res: ServerResponse, decision: Decision): void {
  switch (decision.kind) {
    case 'status':
      sendStatus(res, decision.status);
      return;
    case 'redirect': {
      // The query is kept, as nginx keeps $args when it adds the slash.
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      sendStatus(res, 301, { location: mountPath(req) + encodeUrlPath(decision.path) + (query === -1 ? '' : url.slice(query)) });
      return;
    }
    case 'static':
      // nginx answers other methods on a static file with 405 as well.
      if (req.method !== 'GET' && req.method !== 'HEAD') sendStatus(res, 405, { allow: 'GET, HEAD' });
      else serveStatic(req, res, decision.root, decision.file);
      return;
    case 'php':
      runScript(config, exchange, req, res, decision.target);
  }
}

function runScript(config: DocrootConfig, exchange: PhpExchange, req: IncomingMessage, res: ServerResponse, target: PhpTarget): void {
  const base = decodeUrlPath(mountPath(req))?.replace(/\/$/, '') ?? '';
  exchange(req, res, (_req, _body, headers) => ({
    // Paths as bytes, one character each, like every string of `server`.
    docroot: { script: bytes(target.filename), cwd: bytes(dirname(target.filename)) },
    server: cgiParams({ req, requestUri: requestUrl(req), headers, documentRoot: config.root, target, base, serverName: config.serverName }),
    headers,
  }), multipartIntake(config, req));
}

/**
 * A POST multipart/form-data body that no framework read yet is taken
 * apart in Node, its files streamed to disk (multipart-intake.ts): the job
 * carries `upload` and an empty body, as php://input is empty for such a
 * request under php-fpm. PHP parses multipart for POST only.
 */
function multipartIntake(config: DocrootConfig, req: IncomingMessage): BodyIntake | undefined {
  if (req.method !== 'POST' || !/^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '') || bodyReadByFramework(req) !== null) return undefined;
  return async (request, limits) => {
    const received = await receiveMultipart(request, config.upload, limits);
    return received && { body: Buffer.alloc(0), context: { upload: received.upload }, done: received.done };
  };
}

/** Express's mount path (req.baseUrl, still percent-encoded), or ''. */
function mountPath(req: IncomingMessage): string {
  const { baseUrl } = req as IncomingMessage & { baseUrl?: unknown };
  return typeof baseUrl === 'string' ? baseUrl : '';
}
