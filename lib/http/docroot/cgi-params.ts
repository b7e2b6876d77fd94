/**
 * cgiParams(...): the CGI/1.1 variables of one PHP request, filled as
 * nginx's fastcgi_params (with fastcgi_split_path_info) and php-fpm fill
 * them, so code written for php-fpm finds in $_SERVER what it finds
 * there. HTTP_* variables are not here: the PHP side derives them from
 * the header pairs, which keep every byte.
 *
 * Every value is a string of bytes, one character per byte (U+0000 to
 * U+00FF), the form header values travel in (docs/protocol.md "Header
 * bytes"): paths with non-ASCII names are sent as their UTF-8 bytes, and
 * a Content-Type or Host holding any byte arrives unchanged. For ASCII,
 * which nearly every value is, this is the text itself.
 */
import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import type { RequestHeaders } from '../php-exchange.js';
import type { PhpTarget } from './locate.js';

export type CgiParams = Record<string, string>;

/** Read once; the package refers to itself by name (its exports list ./package.json). */
export const SERVER_SOFTWARE = `php-zygote/${(createRequire(__filename)('php-zygote/package.json') as { version: string }).version}`;

export interface CgiRequest {
  readonly req: IncomingMessage;
  /** The request target as the client sent it (Express: req.originalUrl). */
  readonly requestUri: string;
  /** The header pairs PHP gets (Content-Length corrected for a body a framework read). */
  readonly headers: RequestHeaders;
  /** The document root, absolute. */
  readonly documentRoot: string;
  /** The script, its file, PATH_INFO. */
  readonly target: PhpTarget;
  /** The mount path in front of every URL path (Express's req.baseUrl), or ''. */
  readonly base: string;
  /** The configured SERVER_NAME, or null for the Host's. */
  readonly serverName: string | null;
}

export function cgiParams({ req, requestUri, headers, documentRoot, target, base, serverName }: CgiRequest): CgiParams {
  const https = (req.socket as { encrypted?: boolean }).encrypted === true;
  const query = requestUri.indexOf('?');
  const scriptName = bytes(base + target.scriptName);
  const pathInfo = bytes(target.pathInfo);
  const serverAddr = req.socket.localAddress ?? '';
  const params: CgiParams = {
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE,
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_SCHEME: https ? 'https' : 'http',
    REQUEST_METHOD: req.method ?? 'GET',
    REQUEST_URI: requestUri,
    QUERY_STRING: query === -1 ? '' : requestUri.slice(query + 1),
    DOCUMENT_ROOT: bytes(documentRoot),
    DOCUMENT_URI: scriptName + pathInfo,
    SCRIPT_NAME: scriptName,
    SCRIPT_FILENAME: bytes(target.filename),
    PHP_SELF: scriptName + pathInfo,
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    REMOTE_PORT: String(req.socket.remotePort ?? ''),
    SERVER_ADDR: serverAddr,
    SERVER_PORT: String(req.socket.localPort ?? ''),
    SERVER_NAME: serverName ?? hostName(headers) ?? serverAddr,
    // php-cgi refuses to run without it (cgi.force_redirect); php-fpm
    // apps test it. nginx's fastcgi_params sets it to 200.
    REDIRECT_STATUS: '200',
  };
  if (https) params.HTTPS = 'on';
  if (pathInfo !== '') {
    params.PATH_INFO = pathInfo;
    // php-fpm's own rule: the document root followed by PATH_INFO.
    params.PATH_TRANSLATED = bytes(documentRoot) + pathInfo;
  }
  const contentType = header(headers, 'content-type');
  if (contentType !== undefined) params.CONTENT_TYPE = contentType;
  const contentLength = header(headers, 'content-length');
  if (contentLength !== undefined) params.CONTENT_LENGTH = contentLength;
  return params;
}

/** The first value of a header, in its byte form. */
function header(headers: RequestHeaders, name: string): string | undefined {
  return headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

/** nginx's $host: the Host without its port, lower-cased; an IPv6 literal keeps its brackets. */
function hostName(headers: RequestHeaders): string | undefined {
  const host = header(headers, 'host')?.trim();
  if (!host) return undefined;
  const match = /^(\[[^\]]*\]|[^:]*)/.exec(host);
  return match?.[1] ? match[1].toLowerCase() : undefined;
}

/** Text as its UTF-8 bytes, one character per byte. */
export function bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}
