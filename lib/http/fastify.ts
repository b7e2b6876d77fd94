/**
 * fastifyPhpZygote: a Fastify plugin that serves every route under its
 * prefix through createRequestHandler.
 *
 *   fastify.register(fastifyPhpZygote, { pool, prefix: '/php' });
 *
 * Fastify parses JSON and text bodies itself (consuming the request
 * stream) and refuses other content types with 415 before a route runs.
 * Inside this plugin's context, which Fastify encapsulates, so the rest of
 * the app keeps its parsers, every content type is instead read as a
 * Buffer and handed on as req.rawBody: PHP gets the bytes the client sent.
 * Fastify enforces maxBodySize there (bodyLimit) with its own 413.
 *
 * With a `docroot` option it serves a document root instead
 * (createDocrootHandler, with its options); under a prefix, URL paths are
 * then matched below the prefix, as Express matches them below a mount
 * path, and PHP still sees the full URL.
 *
 * It never imports fastify: the few members it uses are typed here, so the
 * package has no runtime dependency on it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WorkerPool } from '../pool/worker-pool.js';
import { createRequestHandler, type RequestHandler, type RequestHandlerOptions } from './request-handler.js';
import { createDocrootHandler } from './docroot/docroot-handler.js';
import type { DocrootOptions } from './docroot/docroot-options.js';

export interface FastifyPhpZygoteOptions extends RequestHandlerOptions, Partial<Omit<DocrootOptions, keyof RequestHandlerOptions>> {
  /** The pool that serves the requests. */
  pool: WorkerPool;
}

/** The members of a Fastify instance the plugin uses. */
export interface FastifyInstanceLike {
  /** The prefix the plugin was registered under ('' for none). */
  readonly prefix?: string;
  removeAllContentTypeParsers(): void;
  addContentTypeParser(
    contentType: string,
    options: { parseAs: 'buffer'; bodyLimit: number },
    parser: (request: unknown, body: Buffer, done: (error: Error | null, body?: Buffer) => void) => void,
  ): void;
  all(path: string, handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => void): unknown;
}

interface FastifyRequestLike {
  raw: IncomingMessage;
  body?: unknown;
}

interface FastifyReplyLike {
  raw: ServerResponse;
  hijack(): unknown;
}

const DEFAULT_MAX_BODY_SIZE = 16 * 1024 * 1024;

export function fastifyPhpZygote(fastify: FastifyInstanceLike, options: FastifyPhpZygoteOptions, done: (error?: Error) => void): void {
  let handler: RequestHandler;
  try {
    if (typeof options?.pool?.run !== 'function') throw new TypeError('options.pool must be a WorkerPool');
    handler = options.docroot !== undefined ? mounted(createDocrootHandler(options.pool, options as DocrootOptions), fastify.prefix ?? '') : createRequestHandler(options.pool, options);
  } catch (error) {
    done(error as Error);
    return;
  }
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE }, (_request, body, parsed) => parsed(null, body));
  const route = (request: FastifyRequestLike, reply: FastifyReplyLike): void => {
    if (Buffer.isBuffer(request.body)) (request.raw as IncomingMessage & { rawBody?: Buffer }).rawBody = request.body;
    // The handler writes the response itself; Fastify must not send one.
    reply.hijack();
    handler(request.raw, reply.raw);
  };
  fastify.all('/', route);
  fastify.all('/*', route);
  done();
}

/**
 * Fastify leaves the prefix in req.url; a document root maps the path
 * below it. So the request is presented as Express presents a mounted one
 * (url below the mount, originalUrl and baseUrl), which the handler reads.
 */
function mounted(handler: RequestHandler, prefix: string): RequestHandler {
  if (prefix === '') return handler;
  return (req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith(prefix)) {
      const rest = url.slice(prefix.length);
      Object.assign(req, { originalUrl: url, baseUrl: prefix, url: rest.startsWith('/') ? rest : `/${rest}` });
    }
    handler(req, res);
  };
}

// Fastify names plugins by this symbol in its errors and its plugin tree.
Object.defineProperty(fastifyPhpZygote, Symbol.for('fastify.display-name'), { value: 'php-zygote' });
