import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { killAll } from './helpers.mjs';
import { bytes, exchange } from './raw-http.mjs';
import { SECRET, serveSite } from './docroot-site.mjs';

const test = suite('Document root: no URL reaches a file outside the root, a dotfile or a denied path');

let cleanups = [];
test.after.each(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  await killAll();
});

/** A GET sent byte for byte as written: fetch would normalise these targets before sending. */
const get = (port, target) => exchange(port, bytes(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));

/** What no answer may contain: the secret next to the root, dotfile contents, PHP source. */
const LEAKS = [SECRET, 'DB_PASSWORD', '[core]', 'Deny from all', '<?php'];

const HOSTILE = [
  '/../outside/secret.txt',
  '/../../../../etc/passwd',
  '/%2e%2e/outside/secret.txt',
  '/%2E%2E/outside/secret.txt',
  '/%2e%2e%2foutside%2fsecret.txt',
  '/..%2foutside%2fsecret.txt',
  '/sub/../../outside/secret.txt',
  '/sub/%2e%2e/%2e%2e/outside/secret.txt',
  '/./../outside/secret.txt',
  '//../outside/secret.txt',
  '/linked/../../outside/secret.txt',
  '/%252e%252e/outside/secret.txt',
  '/..\\outside\\secret.txt',
  '/%5c..%5coutside%5csecret.txt',
  '/sub%5c..%5c..%5coutside%5csecret.txt',
  '/%c0%ae%c0%ae/outside/secret.txt',
  '/%c0%ae%c0%ae%c0%afoutside%c0%afsecret.txt',
  '/%e0%80%ae%e0%80%ae/outside/secret.txt',
  '/%ff/../outside/secret.txt',
  '/index.php%00.css',
  '/assets/style.css%00',
  '/%00/../outside/secret.txt',
  '/%2',
  '/%zz',
  'http://localhost/../outside/secret.txt',
  'outside/secret.txt',
  '/.env',
  '/.htaccess',
  '/.git/config',
  '/.git/',
  '/%2egit/config',
  '/.git%2fconfig',
  '/assets/..%2f.env',
  '/.well-known/../.env',
  '/.well-known/.hidden',
  '/sub/.htaccess',
  '/index.php/.git/config',
  '/wp-content/../../outside/secret.txt',
  '/wp-content/%2e%2e/%2e%2e/outside/secret.txt',
];

test('hostile targets (traversal, encoded dots and slashes, backslashes, NUL, overlong UTF-8, dotfiles) get 400, 403 or 404 and never a file', async () => {
  const { port } = await serveSite(cleanups, (s) => ({ aliases: { '/wp-content/': s.extra } }));
  for (const target of HOSTILE) {
    const { status, body } = await get(port, target);
    assert.ok([400, 403, 404].includes(status), `${target} answered ${status}`);
    for (const leak of LEAKS) assert.not.ok(body.toString('latin1').includes(leak), `${target} leaked ${leak}`);
  }
});

test('dotfiles and dot-directories are 403 whether they exist or not; /.well-known/ is served', async () => {
  const { port } = await serveSite(cleanups);
  assert.is((await get(port, '/.env')).status, 403);
  assert.is((await get(port, '/.no-such-file')).status, 403);
  assert.is((await get(port, '/.git/config')).status, 403);
  const wellKnown = await get(port, '/.well-known/security.txt');
  assert.is(wellKnown.status, 200);
  assert.match(wellKnown.body.toString(), /Contact:/);
});

test('`..` that stays inside the root is resolved, not refused; one that climbs above it is a 400', async () => {
  const { port } = await serveSite(cleanups);
  const inside = await get(port, '/sub/../assets/style.css');
  assert.is(inside.status, 200);
  assert.is(inside.body.toString(), 'body { color: red; }\n');
  assert.is((await get(port, '/assets/../../www/assets/style.css')).status, 400);
});

test('--deny expressions match the decoded, normalised path: encodings and dot segments do not get past them', async () => {
  const { port } = await serveSite(cleanups, () => ({ deny: ['^/sub/.*\\.php$', /^\/assets\/logo/] }));
  for (const target of ['/sub/page.php', '/sub/pag%65.php', '/assets/../sub/page.php', '//sub/./page.php', '/assets/logo.png', '/assets/%6cogo.png']) {
    assert.is((await get(port, target)).status, 403, target);
  }
  assert.is((await get(port, '/assets/style.css')).status, 200);
});

test.run();
