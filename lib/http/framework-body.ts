/**
 * bodyReadByFramework(req): the body of a request that a framework already
 * read off the wire before our handler ran, or null when the stream is
 * still unread and ours to read (the exact bytes are best).
 *
 * Express's body parsers and Fastify's content-type parsers consume the
 * request stream and keep only what they made of it (req.body); waiting
 * for the stream's 'end' after that waits forever. So, in order of
 * fidelity:
 *   1. req.rawBody (Buffer or string): set by raw-body plugins, a
 *      body-parser `verify` hook, or our Fastify plugin: the exact bytes;
 *   2. the stream itself, if nobody has read it;
 *   3. req.body as a Buffer (express.raw) or string (express.text);
 *   4. req.body as an object: form-encoded again for a form content type
 *      (PHP's parse_str reads it back to the same fields), JSON otherwise,
 *      with the content type then saying JSON.
 */
import type { IncomingMessage } from 'node:http';

export interface PrereadBody {
  body: Buffer;
  /** Set when the body was re-serialized into another type than the request declared. */
  contentType?: string;
}

const EMPTY = Buffer.alloc(0);

export function bodyReadByFramework(req: IncomingMessage): PrereadBody | null {
  const { rawBody, body } = req as IncomingMessage & { rawBody?: unknown; body?: unknown };
  if (rawBody instanceof Uint8Array) return { body: bytes(rawBody) };
  if (typeof rawBody === 'string') return { body: Buffer.from(rawBody, charsetOf(req)) };
  // Checked before req.body: Express 4's body-parser sets req.body = {}
  // even for a request it did not read.
  if (!req.readableEnded) return null;
  // body-parser reads an empty JSON body as {}: the client sent nothing.
  if (body === undefined || body === null || req.headers['content-length'] === '0') return { body: EMPTY };
  if (body instanceof Uint8Array) return { body: bytes(body) };
  if (typeof body === 'string') return { body: Buffer.from(body, charsetOf(req)) };
  const type = mediaType(req);
  if (type === 'application/x-www-form-urlencoded' && typeof body === 'object') return { body: Buffer.from(formEncode(body)) };
  const json = Buffer.from(JSON.stringify(body) ?? '');
  return type === 'application/json' || type.endsWith('+json') ? { body: json } : { body: json, contentType: 'application/json' };
}

/**
 * A body-parser `verify` hook that keeps the exact bytes as req.rawBody:
 * express.json({ verify: keepRawBody }). The PHP side then gets the body
 * the client sent instead of one serialized again from req.body.
 */
export function keepRawBody(req: IncomingMessage, _res: unknown, buffer: Buffer): void {
  (req as IncomingMessage & { rawBody?: Buffer }).rawBody = buffer;
}

function bytes(view: Uint8Array): Buffer {
  return Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** The declared charset when Buffer can encode it (the string was decoded with it), else UTF-8. */
function charsetOf(req: IncomingMessage): BufferEncoding {
  const charset = /;\s*charset="?([\w-]+)"?/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  return charset !== undefined && Buffer.isEncoding(charset) ? charset : 'utf8';
}

/**
 * Fields encoded so that PHP's parse_str rebuilds them: nested keys in
 * brackets, arrays as `key[]`, as http_build_query does. A top-level key
 * that already holds brackets comes from a flat parser (Express 5's
 * default `extended: false` keeps `list[]` as the key, with an array of
 * the repeated values): repeating that key gives PHP what the client sent.
 */
function formEncode(fields: object): string {
  const parts: string[] = [];
  const add = (key: string, value: unknown, literal: boolean): void => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      for (const item of value) add(literal ? key : `${key}[]`, item, false);
      return;
    }
    if (typeof value === 'object') {
      for (const [sub, inner] of Object.entries(value)) add(`${key}[${sub}]`, inner, false);
      return;
    }
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  };
  for (const [key, value] of Object.entries(fields)) add(key, value, key.includes('['));
  return parts.join('&');
}
