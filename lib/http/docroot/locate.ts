/**
 * locate(config, target): what a request target means in a document
 * root, decided as nginx + php-fpm decide it with the usual
 *
 *   location / { try_files $uri $uri/ /index.php?$args; }
 *   location ~ \.php(/|$) {
 *       fastcgi_split_path_info ^(.+?\.php)(/.*)$;
 *       try_files $fastcgi_script_name =404;
 *   }
 *
 * in this order:
 *   1. a target that does not decode to a clean path (url-path.ts): 400;
 *   2. a dotfile or a --deny match (access.ts): 403;
 *   3. a path with a `.php` segment end: the script up to there runs,
 *      the rest is PATH_INFO, if the script is a file; else 404;
 *   4. a file: static; a directory: a 301 to add the slash, or with it
 *      its first index file (a .php one runs, another is static), or 403
 *      when it has none (try_files matched `$uri/`, then nginx's index
 *      module found no index and autoindex is off); nothing: the
 *      fallback script, else 404.
 *
 * URL paths under an alias prefix map into the alias's directory, all
 * others into the root. An alias is nginx's
 *
 *   location ^~ /wp-content/ { alias /var/lib/wordpress/wp-content/; }
 *
 * (Debian's examples/nginx-wordpress.conf): no try_files of its own, so
 * what is missing below it (a file, a script) is a 404, never the
 * fallback; a missing stylesheet does not boot the whole app.
 *
 * The file path is built from the decoded segments by concatenation and
 * checked to lie lexically inside that directory; it is never passed
 * through realpath: symlinks the administrator put inside the root are
 * followed (nginx's `disable_symlinks off`, which Debian's DokuWiki needs
 * for lib/tpl and lib/plugins). A URL cannot create a symlink, and no
 * `..` survives decoding, so lexical containment is what a URL can be
 * held to.
 */
import { statSync } from 'node:fs';
import { isForbidden } from './access.js';
import type { Alias, DocrootConfig } from './docroot-options.js';
import { decodeUrlPath } from './url-path.js';

/** A script to run, with its URL and file names. */
export interface PhpTarget {
  /** The URL path of the script: /index.php. */
  readonly scriptName: string;
  /** Its file: /var/www/index.php (or under an alias). */
  readonly filename: string;
  /** What followed the script in the URL path (/foo/bar), or ''. */
  readonly pathInfo: string;
}

export type Decision =
  | { readonly kind: 'php'; readonly target: PhpTarget }
  | { readonly kind: 'static'; readonly root: string; readonly file: string }
  /** `path` is the decoded path with its trailing slash added. */
  | { readonly kind: 'redirect'; readonly path: string }
  | { readonly kind: 'status'; readonly status: 400 | 403 | 404 };

/** fastcgi_split_path_info ^(.+?\.php)(/.*)$, also matching a path that ends in .php. */
const PHP_PATH = /^(.+?\.php)(\/.*)?$/;

const BAD_REQUEST: Decision = Object.freeze({ kind: 'status', status: 400 });
const FORBIDDEN: Decision = Object.freeze({ kind: 'status', status: 403 });
const NOT_FOUND: Decision = Object.freeze({ kind: 'status', status: 404 });

export function locate(config: DocrootConfig, target: string): Decision {
  const path = decodeUrlPath(target);
  if (path === null) return BAD_REQUEST;
  if (isForbidden(config, path)) return FORBIDDEN;

  const php = PHP_PATH.exec(path);
  if (php) {
    const script = phpTarget(config, php[1], php[2] ?? '');
    if (script === 'denied') return FORBIDDEN;
    // nginx's regex location for .php wins over `location /` and its
    // try_files: a missing script is its `try_files $fastcgi_script_name
    // =404`, never the front controller.
    return script !== null ? { kind: 'php', target: script } : NOT_FOUND;
  }

  const mapped = mapPath(config, path);
  if (mapped === null) return NOT_FOUND;
  const found = kindOf(mapped.file);
  if (found === 'file') return { kind: 'static', root: mapped.root, file: mapped.file };
  if (found === 'denied') return FORBIDDEN;
  if (found === 'none') return fallback(config, path);
  if (!path.endsWith('/')) return { kind: 'redirect', path: `${path}/` };
  for (const name of config.index) {
    if (name.endsWith('.php')) {
      const script = phpTarget(config, path + name, '');
      if (script !== null && script !== 'denied') return { kind: 'php', target: script };
    } else if ((kindOf(mapped.file + name)) === 'file') {
      return { kind: 'static', root: mapped.root, file: mapped.file + name };
    }
  }
  // nginx: "directory index of ... is forbidden". Not the fallback: try_files
  // stopped at `$uri/`, so WordPress's index.php never sees /wp-includes/.
  return FORBIDDEN;
}

/** The configured front controller, run for the original URI; 404 without one, when it is missing, or below an alias. */
function fallback(config: DocrootConfig, path: string): Decision {
  if (config.fallback === null || aliasOf(config, path) !== null) return NOT_FOUND;
  const script = phpTarget(config, config.fallback, '');
  return script !== null && script !== 'denied' ? { kind: 'php', target: script } : NOT_FOUND;
}

function phpTarget(config: DocrootConfig, scriptName: string, pathInfo: string): PhpTarget | 'denied' | null {
  const mapped = mapPath(config, scriptName);
  if (mapped === null) return null;
  const found = kindOf(mapped.file);
  if (found === 'denied') return 'denied';
  return found === 'file' ? { scriptName, filename: mapped.file, pathInfo } : null;
}

/** The directory a URL path maps into, and its file there; null if the result would lie outside (it cannot, but this is the last line). */
function mapPath(config: DocrootConfig, path: string): { root: string; file: string } | null {
  let root = config.root;
  let rest = path;
  const alias = aliasOf(config, path);
  if (alias !== null) {
    root = alias.dir;
    rest = path.slice(alias.prefix.length - 1) || '/';
  }
  // Concatenation, not path.join or resolve: nothing is normalised away
  // behind the check below, and a trailing slash (directory wanted) stays.
  const file = root === '/' ? rest : root + rest;
  const inside = root === '/' || file === root || file.startsWith(`${root}/`);
  if (!inside || file.includes('\0') || /\/\.\.?(?:\/|$)/.test(file.slice(root.length))) return null;
  return { root, file };
}

/** The alias whose prefix the URL path lies under (the longest: the list is sorted so), or null. */
function aliasOf(config: DocrootConfig, path: string): Alias | null {
  return config.aliases.find((alias) => path.startsWith(alias.prefix) || path === alias.prefix.slice(0, -1)) ?? null;
}

/**
 * Follows symlinks (stat, not lstat), as nginx does by default.
 * Synchronous, as nginx's own stat is: on a local file system it takes a
 * few microseconds, while the promise version hands each stat to libuv's
 * thread pool and back, two thread wake-ups per request that cost more
 * than the stat (measured on DokuWiki with reused workers). So locate()
 * is synchronous as a whole: no promise or microtask per request either.
 */
function kindOf(file: string): 'file' | 'dir' | 'none' | 'denied' {
  try {
    const info = statSync(file, { throwIfNoEntry: false });
    if (info === undefined) return 'none';
    return info.isFile() ? 'file' : info.isDirectory() ? 'dir' : 'none';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EACCES' ? 'denied' : 'none';
  }
}
