/**
 * reusedDocrootPreload(ini): what PHP preloads for reused docroot workers
 * (`serve --docroot --max-jobs N`). Such a worker goes through PHP's
 * request shutdown after every request, which undoes everything the
 * request declared; preloaded classes and FFI scopes stay for the life of
 * the process, as php-fpm's C code does:
 *
 * - opcache.preload: php/docroot-preload.php, the runtime's classes (a
 *   preload file of the user's, given in `ini`, is required from there,
 *   named by PHP_ZYGOTE_PRELOAD);
 * - ffi.preload: php/ffi/sapi.h (symbols of PHP itself) and the request
 *   loop's declarations. Those name the loop's library (FFI_LIB), whose
 *   path is wherever this package is installed, so a copy of
 *   php/ffi/request-loop.h with that path is written to a directory of
 *   this user's alone (below). Without it, each request parses them again
 *   (php/src/Classic/RequestLoop.php), slower and otherwise the same.
 */
import { createHash } from 'node:crypto';
import { chownSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PHP_RUNTIME_DIR } from '../../zygote/master-options.js';

export interface ReusedDocrootPreload {
  /** php.ini settings for the pool's `ini` (the user's own, merged). */
  ini: Record<string, string>;
  /** Environment for the pool's `env`: the user's opcache.preload, if any. */
  env: Record<string, string>;
}

/**
 * @param ini the pool's own ini settings (kept: a user's opcache.preload and ffi.preload)
 * @param uid the uid PHP runs as (the pool's `user`), when Node runs as root and switches to it
 */
export function reusedDocrootPreload(ini: Record<string, string | number | boolean> = {}, uid: number = process.getuid?.() ?? 0): ReusedDocrootPreload {
  if (ini === null || typeof ini !== 'object' || Array.isArray(ini)) throw new TypeError('ini must be an object of php.ini settings (the pool\'s ini option)');
  if (!Number.isInteger(uid) || uid < 0) throw new TypeError(`uid must be the uid PHP runs as, a non-negative integer (got ${String(uid)})`);
  const userPreload = ini['opcache.preload'];
  const userFfi = ini['ffi.preload'];
  const headers = [join(PHP_RUNTIME_DIR, 'ffi', 'sapi.h')];
  const loop = requestLoopHeader(uid);
  if (loop !== null) {
    headers.push(loop);
    keepWritten(uid);
  }
  return {
    ini: {
      'opcache.preload': join(PHP_RUNTIME_DIR, 'docroot-preload.php'),
      'ffi.preload': [...(typeof userFfi === 'string' && userFfi !== '' ? [userFfi] : []), ...headers].join(':'),
    },
    env: typeof userPreload === 'string' && userPreload !== '' ? { PHP_ZYGOTE_PRELOAD: userPreload } : {},
  };
}

/**
 * Every PHP master started later (a reload, a crash, a full opcache)
 * reads the header again, and PHP refuses to start at all when an
 * ffi.preload file is missing ("Unable to start FFI module"). A temp
 * directory cleaner (systemd-tmpfiles: files untouched for 10 days) may
 * remove it from under a long-running server: so it is written again
 * every hour, while this process runs, if it is gone.
 */
const keptFor = new Set<number>();
function keepWritten(uid: number): void {
  if (keptFor.has(uid)) return;
  keptFor.add(uid);
  setInterval(() => requestLoopHeader(uid), 3_600_000).unref();
}

/** The library of reused workers, as php/src/Classic/RequestLoop.php::library() finds it. */
function requestLoopLibrary(): string {
  return join(PHP_RUNTIME_DIR, '..', 'prebuilds', `linux-${arch()}`, 'php-request-loop.so');
}

/**
 * php/ffi/request-loop.h with an FFI_LIB line naming the library, in
 * <tmpdir>/php-zygote-<uid>/, or null if it cannot be written safely.
 *
 * ffi.preload loads whatever library the header names, as the user PHP
 * runs as (uid): the directory must be that user's own and closed to
 * everyone else (mode 0700, not a symbolic link), or another local user
 * could plant a header. Root writes it for another uid and hands the
 * directory to it; a header PHP cannot read would stop PHP at start-up.
 * The file name is a hash of its content, so servers of different
 * installations share the directory without clashing, and a file once
 * written is never changed (written aside, then renamed).
 */
function requestLoopHeader(uid: number): string | null {
  try {
    const library = requestLoopLibrary();
    lstatSync(library); // missing: PHP names the problem when it starts
    const template = readFileSync(join(PHP_RUNTIME_DIR, 'ffi', 'request-loop.h'), 'utf8');
    const newline = template.indexOf('\n');
    if (!template.startsWith('#define FFI_SCOPE') || newline < 0 || /["\n\\]/.test(library)) return null;
    const content = `${template.slice(0, newline + 1)}#define FFI_LIB "${library}"\n${template.slice(newline + 1)}`;
    const self = process.getuid?.() ?? 0;
    if (uid !== self && self !== 0) return null;
    const dir = join(tmpdir(), `php-zygote-${uid}`);
    try {
      mkdirSync(dir, { mode: 0o700 });
      if (uid !== self) chownSync(dir, uid, -1);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return null;
    }
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) return null;
    const file = join(dir, `request-loop-${createHash('sha256').update(content).digest('hex').slice(0, 16)}.h`);
    try {
      if (readFileSync(file, 'utf8') === content) return file;
    } catch {
      // not written yet
    }
    const aside = `${file}.${process.pid}`;
    writeFileSync(aside, content, { mode: 0o600 });
    if (uid !== self) chownSync(aside, uid, -1);
    renameSync(aside, file);
    return file;
  } catch {
    return null;
  }
}
