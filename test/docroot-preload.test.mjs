// reusedDocrootPreload(): what reused docroot workers preload, and the
// copy of the request loop's header it writes for ffi.preload, which
// must never come from a directory another user can write.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reusedDocrootPreload, PHP_RUNTIME_DIR } from '../dist/lib/index.js';

const uid = process.getuid();

function withTmpdir(run) {
  const dir = mkdtempSync(join(tmpdir(), 'php-zygote-preload-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return run(dir);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(dir, { recursive: true, force: true });
  }
}

test('preloads the runtime and the C declarations, after a preload of the user\'s', () => {
  withTmpdir(() => {
    const { ini, env } = reusedDocrootPreload({ 'opcache.preload': '/srv/app/preload.php', 'ffi.preload': '/srv/app/lib.h' });
    assert.is(ini['opcache.preload'], join(PHP_RUNTIME_DIR, 'docroot-preload.php'));
    assert.equal(env, { PHP_ZYGOTE_PRELOAD: '/srv/app/preload.php' }, 'the user\'s preload file, required by the runtime\'s');
    const headers = ini['ffi.preload'].split(':');
    assert.is(headers[0], '/srv/app/lib.h', 'the user\'s headers first');
    assert.is(headers[1], join(PHP_RUNTIME_DIR, 'ffi', 'sapi.h'));
    assert.is(headers.length, 3);
  });
});

test('the loop\'s header names the library, in a directory of the user\'s alone', () => {
  withTmpdir((dir) => {
    const header = reusedDocrootPreload().ini['ffi.preload'].split(':')[1];
    assert.is(header.startsWith(join(dir, `php-zygote-${uid}`) + '/'), true);
    assert.is(statSync(join(dir, `php-zygote-${uid}`)).mode & 0o777, 0o700);
    const lines = readFileSync(header, 'utf8').split('\n');
    assert.is(lines[0], '#define FFI_SCOPE "zygote_request_loop"');
    const library = /^#define FFI_LIB "(.*)"$/.exec(lines[1])?.[1];
    assert.ok(library && existsSync(library), `FFI_LIB names the library (${lines[1]})`);
    assert.is(reusedDocrootPreload().ini['ffi.preload'].split(':')[1], header, 'the same file next time');
  });
});

test('a directory others can write is not used: each request parses the declarations instead', () => {
  withTmpdir((dir) => {
    mkdirSync(join(dir, `php-zygote-${uid}`));
    chmodSync(join(dir, `php-zygote-${uid}`), 0o777);
    assert.equal(reusedDocrootPreload().ini['ffi.preload'].split(':'), [join(PHP_RUNTIME_DIR, 'ffi', 'sapi.h')]);
  });
});

test('bad arguments are refused, naming what was wrong', () => {
  assert.throws(() => reusedDocrootPreload('opcache.preload=x'), /ini must be an object/);
  assert.throws(() => reusedDocrootPreload({}, -1), /uid must be the uid PHP runs as/);
});

test.run();
