import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { killAll } from './helpers.mjs';
import { bytes, exchange } from './raw-http.mjs';
import { serveSite } from './docroot-site.mjs';

const test = suite('Document root: static files with MIME types, validators, conditional GET, ranges and HEAD');

let cleanups = [];
test.after.each(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  await killAll();
});

test('MIME types come from the extension; ETag and Last-Modified are sent', async () => {
  const { url } = await serveSite(cleanups);
  const css = await fetch(`${url}/assets/style.css`);
  assert.is(css.headers.get('content-type'), 'text/css; charset=utf-8');
  assert.ok(css.headers.get('etag'));
  assert.ok(css.headers.get('last-modified'));
  const png = await fetch(`${url}/assets/logo.png`);
  assert.is(png.headers.get('content-type'), 'image/png');
  assert.is(Buffer.from(await png.arrayBuffer()).subarray(1, 4).toString(), 'PNG');
});

test('a conditional GET with a matching If-None-Match or If-Modified-Since is a 304 without a body', async () => {
  const { url, port } = await serveSite(cleanups);
  const first = await fetch(`${url}/assets/style.css`);
  await first.arrayBuffer();
  // Over a bare socket: fetch adds Cache-Control: no-cache to conditional
  // requests (the Fetch standard's "no-store" mode), which rightly makes
  // any server send the full answer.
  const get = (header) => exchange(port, bytes(`GET /assets/style.css HTTP/1.1\r\nHost: x\r\n${header}\r\nConnection: close\r\n\r\n`));
  const byEtag = await get(`If-None-Match: ${first.headers.get('etag')}`);
  assert.is(byEtag.status, 304);
  assert.is(byEtag.body.length, 0);
  assert.is((await get(`If-Modified-Since: ${first.headers.get('last-modified')}`)).status, 304);
  assert.is((await get('If-None-Match: "other"')).status, 200);
});

test('a byte range is a 206 with Content-Range; an unsatisfiable one is a 416 naming the size', async () => {
  const { url } = await serveSite(cleanups);
  const part = await fetch(`${url}/assets/style.css`, { headers: { range: 'bytes=0-3' } });
  assert.is(part.status, 206);
  assert.is(part.headers.get('content-range'), 'bytes 0-3/21');
  assert.is(await part.text(), 'body');
  const beyond = await fetch(`${url}/assets/style.css`, { headers: { range: 'bytes=500-600' } });
  assert.is(beyond.status, 416);
  assert.is(beyond.headers.get('content-range'), 'bytes */21');
  assert.is(beyond.headers.get('etag'), null);
});

test('HEAD has the headers of a GET and no body', async () => {
  const { url } = await serveSite(cleanups);
  const head = await fetch(`${url}/assets/style.css`, { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(head.headers.get('content-length'), '21');
  assert.is(await head.text(), '');
});

test.run();
