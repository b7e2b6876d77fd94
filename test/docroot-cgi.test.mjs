import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { killAll } from './helpers.mjs';
import { bytes, exchange } from './raw-http.mjs';
import { serveSite } from './docroot-site.mjs';

const test = suite('Document root: the job PHP receives (script, CGI variables, raw headers, body)');

let cleanups = [];
test.after.each(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  await killAll();
});

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

test('a GET with PATH_INFO gets the CGI variables nginx fastcgi_params + php-fpm give, as strings, and no HTTP_* among them', async () => {
  const { port, site } = await serveSite(cleanups);
  const { status, body } = await exchange(port, bytes('GET /sub/page.php/foo/bar?x=1&y=%20 HTTP/1.1\r\nHost: Example.COM:8080\r\nX-Test: a\r\nConnection: close\r\n\r\n'));
  assert.is(status, 200);
  const { docroot, server } = JSON.parse(body.toString());
  assert.equal(docroot, { script: `${site.www}/sub/page.php`, cwd: `${site.www}/sub` });
  const { REMOTE_PORT, SERVER_PORT, ...fixed } = server;
  assert.equal(fixed, {
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE: `php-zygote/${version}`,
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_SCHEME: 'http',
    REQUEST_METHOD: 'GET',
    REQUEST_URI: '/sub/page.php/foo/bar?x=1&y=%20',
    QUERY_STRING: 'x=1&y=%20',
    DOCUMENT_ROOT: site.www,
    DOCUMENT_URI: '/sub/page.php/foo/bar',
    SCRIPT_NAME: '/sub/page.php',
    SCRIPT_FILENAME: `${site.www}/sub/page.php`,
    PHP_SELF: '/sub/page.php/foo/bar',
    PATH_INFO: '/foo/bar',
    PATH_TRANSLATED: `${site.www}/foo/bar`,
    REMOTE_ADDR: '127.0.0.1',
    SERVER_ADDR: '127.0.0.1',
    SERVER_NAME: 'example.com',
    REDIRECT_STATUS: '200',
  });
  assert.match(REMOTE_PORT, /^\d+$/);
  assert.is(SERVER_PORT, String(port));
  assert.ok(Object.values(server).every((v) => typeof v === 'string'));
});

test('a POST carries CONTENT_TYPE and CONTENT_LENGTH, the raw body, and the header pairs byte for byte in order', async () => {
  const { port } = await serveSite(cleanups);
  const request = bytes(
    'POST /index.php HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n',
    'X-Name: ', Buffer.from('Jürgen', 'utf8'), '\r\nX-Dup: 1\r\nX-Dup: 2\r\nConnection: close\r\n\r\na=1&b=2',
  );
  const { body } = await exchange(port, request);
  const seen = JSON.parse(body.toString());
  assert.is(seen.server.REQUEST_METHOD, 'POST');
  assert.is(seen.server.CONTENT_TYPE, 'application/x-www-form-urlencoded');
  assert.is(seen.server.CONTENT_LENGTH, '7');
  assert.is(seen.body, 'a=1&b=2');
  // Each header byte one character, as createRequestHandler sends them.
  assert.equal(seen.headers, [
    ['Host', 'localhost'],
    ['Content-Type', 'application/x-www-form-urlencoded'],
    ['Content-Length', '7'],
    ['X-Name', Buffer.from('Jürgen', 'utf8').toString('latin1')],
    ['X-Dup', '1'],
    ['X-Dup', '2'],
    ['Connection', 'close'],
  ]);
});

test('without a body there is no CONTENT_TYPE or CONTENT_LENGTH, without PATH_INFO no PATH_INFO or PATH_TRANSLATED, and HTTPS is absent over http', async () => {
  const { url } = await serveSite(cleanups);
  const { server } = await (await fetch(`${url}/index.php`)).json();
  for (const name of ['CONTENT_TYPE', 'CONTENT_LENGTH', 'PATH_INFO', 'PATH_TRANSLATED', 'HTTPS']) assert.is(server[name], undefined, name);
  assert.is(server.QUERY_STRING, '');
  assert.is(server.PHP_SELF, '/index.php');
});

test('serverName replaces the Host as SERVER_NAME; a non-ASCII script path travels as its UTF-8 bytes, one character each', async () => {
  const { port, site } = await serveSite(cleanups, () => ({ serverName: 'wiki.example.org' }));
  writeFileSync(`${site.www}/café.php`, '<?php\n');
  const { status, body } = await exchange(port, bytes('GET /caf%C3%A9.php HTTP/1.1\r\nHost: other.example:81\r\nConnection: close\r\n\r\n'));
  assert.is(status, 200);
  const { server, docroot } = JSON.parse(body.toString());
  assert.is(server.SERVER_NAME, 'wiki.example.org');
  const asBytes = (text) => Buffer.from(text, 'utf8').toString('latin1');
  assert.is(server.SCRIPT_NAME, asBytes('/café.php'));
  assert.is(docroot.script, asBytes(`${site.www}/café.php`));
});

test.run();
