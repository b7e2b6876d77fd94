/**
 * The options of createDocrootHandler, validated once (a sync TypeError
 * naming the option) and frozen into the form the request path uses.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RequestHandlerOptions } from '../php-exchange.js';
import { resolveUploadOptions, type UploadConfig, type UploadOptions } from './upload-options.js';

export interface DocrootOptions extends RequestHandlerOptions, UploadOptions {
  /** The document root: URLs map to files below it (nginx's `root`). Required. */
  docroot: string;
  /** Directory index files tried in order (nginx's `index`). Default ['index.php', 'index.html']. */
  index?: readonly string[];
  /** Script run when nothing else matched, e.g. '/index.php' (try_files' last argument). Default: none, 404. */
  fallback?: string;
  /** URL prefix → directory (nginx's `alias`), e.g. { '/wp-content/': '/var/lib/wordpress/wp-content/' }. Longest prefix wins. */
  aliases?: Readonly<Record<string, string>>;
  /** Decoded URL paths refused with 403, as regular expressions. */
  deny?: ReadonlyArray<RegExp | string>;
  /** SERVER_NAME for PHP. Default: the request's Host without its port. */
  serverName?: string;
}

export interface Alias {
  /** Ends with '/'. */
  readonly prefix: string;
  /** Absolute, without a trailing slash. */
  readonly dir: string;
}

export interface DocrootConfig {
  /** Absolute, without a trailing slash (unless it is '/'). */
  readonly root: string;
  readonly index: readonly string[];
  readonly fallback: string | null;
  /** Longest prefix first, so the first match is the one that wins. */
  readonly aliases: readonly Alias[];
  readonly deny: readonly RegExp[];
  readonly serverName: string | null;
  /** Limits and place of multipart uploads (upload-options.ts). */
  readonly upload: UploadConfig;
}

export const DEFAULT_INDEX: readonly string[] = Object.freeze(['index.php', 'index.html']);

/** A URL path as decodeUrlPath() leaves one: `/`, then segments without `.`, `..` or empty ones. */
const CLEAN_PATH = /^\/(?:(?!\.\.?(?:\/|$))[^/\\\0]+\/)*(?:(?!\.\.?$)[^/\\\0]+)?$/;

export function resolveDocrootOptions(options: DocrootOptions): DocrootConfig {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object with at least options.docroot');
  const { docroot, index = DEFAULT_INDEX, fallback, aliases = {}, deny = [], serverName } = options;
  if (typeof docroot !== 'string' || docroot === '' || !isDirectory(docroot)) throw new TypeError(`options.docroot must be the path of an existing directory (got ${String(docroot)})`);
  if (!Array.isArray(index) || !index.every((name) => typeof name === 'string' && name !== '' && !name.includes('/') && name !== '.' && name !== '..')) throw new TypeError(`options.index must be a list of file names without slashes, like index.php and index.html (got ${String(index)})`);
  if (fallback !== undefined && !(typeof fallback === 'string' && CLEAN_PATH.test(fallback) && fallback.endsWith('.php'))) throw new TypeError(`options.fallback must be the URL path of a .php script, e.g. /index.php (got ${String(fallback)})`);
  if (aliases === null || typeof aliases !== 'object' || Array.isArray(aliases)) throw new TypeError('options.aliases must be an object of URL prefix → directory');
  const resolvedAliases = Object.entries(aliases).map(([prefix, dir]) => alias(prefix, dir));
  if (!Array.isArray(deny)) throw new TypeError('options.deny must be an array of regular expressions');
  const patterns = deny.map(pattern);
  if (serverName !== undefined && !(typeof serverName === 'string' && /^[^\s/]+$/.test(serverName))) throw new TypeError(`options.serverName must be a host name without spaces or slashes (got ${String(serverName)})`);
  const upload = resolveUploadOptions(options);

  return Object.freeze({
    root: withoutTrailingSlash(resolve(docroot)),
    index: Object.freeze([...index]),
    fallback: fallback ?? null,
    aliases: Object.freeze(resolvedAliases.sort((a, b) => b.prefix.length - a.prefix.length)),
    deny: Object.freeze(patterns),
    serverName: serverName ?? null,
    upload,
  });
}

function alias(prefix: string, dir: unknown): Alias {
  // '/wp-content' and '/wp-content/' mean the same: a directory prefix.
  // Matching is on decoded, normalised paths, so the prefix must be one.
  const withSlash = prefix.endsWith('/') ? prefix : `${prefix}/`;
  if (!CLEAN_PATH.test(withSlash)) throw new TypeError(`options.aliases: ${JSON.stringify(prefix)} must be a URL path prefix like /wp-content/ (no . or .. segments)`);
  if (typeof dir !== 'string' || dir === '' || !isDirectory(dir)) throw new TypeError(`options.aliases: ${JSON.stringify(prefix)} must map to an existing directory (got ${String(dir)})`);
  return Object.freeze({ prefix: withSlash, dir: withoutTrailingSlash(resolve(dir)) });
}

function pattern(value: unknown): RegExp {
  // Without the g and y flags: test() on such a RegExp moves lastIndex,
  // and the next request would be matched from there.
  if (value instanceof RegExp) return new RegExp(value.source, value.flags.replace(/[gy]/g, ''));
  if (typeof value !== 'string') throw new TypeError(`options.deny must hold regular expressions or their source strings (got ${String(value)})`);
  try {
    return new RegExp(value);
  } catch (e) {
    throw new TypeError(`options.deny: ${JSON.stringify(value)} is not a regular expression: ${(e as Error).message}`);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
