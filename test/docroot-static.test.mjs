import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAll, statusPage } from './helpers.mjs';
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
  assert.is(css.headers.get('content-type'), 'text/css');
  assert.ok(css.headers.get('etag'));
  assert.ok(css.headers.get('last-modified'));
  const png = await fetch(`${url}/assets/logo.png`);
  assert.is(png.headers.get('content-type'), 'image/png');
  assert.is(Buffer.from(await png.arrayBuffer()).subarray(1, 4).toString(), 'PNG');
});

// What Debian 12's nginx 1.22 (include mime.types; default_type
// application/octet-stream; no charset directive) answers, read off the
// wire, except .mjs: stock nginx says application/octet-stream, which
// browsers refuse for a module script.
const NGINX_TYPES = {
  'page.html': 'text/html', 'page.htm': 'text/html', 'style.css': 'text/css', 'app.js': 'application/javascript',
  'module.mjs': 'application/javascript', 'data.json': 'application/json', 'icon.svg': 'image/svg+xml',
  'a.png': 'image/png', 'a.jpg': 'image/jpeg', 'a.jpeg': 'image/jpeg', 'a.gif': 'image/gif', 'a.webp': 'image/webp',
  'favicon.ico': 'image/x-icon', 'f.woff': 'font/woff', 'f.woff2': 'font/woff2', 'notes.txt': 'text/plain',
  'feed.xml': 'text/xml', 'doc.pdf': 'application/pdf', 'pack.zip': 'application/zip', 'clip.mp4': 'video/mp4',
  'clip.webm': 'video/webm', 'code.wasm': 'application/wasm', 'song.mp3': 'audio/mpeg',
  // nginx's list lacks these: its default_type, where send would say font/ttf, application/json, text/csv...
  'f.ttf': 'application/octet-stream', 'app.js.map': 'application/octet-stream', 'table.csv': 'application/octet-stream',
  'README': 'application/octet-stream', 'odd.': 'application/octet-stream',
  // The extension is looked up lower-cased, as nginx does.
  'LOGO.PNG': 'image/png', 'Page.HTML': 'text/html',
};

test('static files carry nginx\'s types, without a charset; an extension nginx does not list is application/octet-stream', async () => {
  const { url, site } = await serveSite(cleanups);
  for (const name of Object.keys(NGINX_TYPES)) writeFileSync(join(site.www, 'assets', name), 'x');
  const got = {};
  for (const name of Object.keys(NGINX_TYPES)) {
    const res = await fetch(`${url}/assets/${encodeURIComponent(name)}`);
    assert.is(res.status, 200, name);
    await res.arrayBuffer();
    got[name] = res.headers.get('content-type');
  }
  assert.equal(got, NGINX_TYPES);
  // A type survives a range, and a HEAD says what a GET would.
  assert.is((await fetch(`${url}/assets/app.js`, { headers: { range: 'bytes=0-0' } })).headers.get('content-type'), 'application/javascript');
  assert.is((await fetch(`${url}/assets/page.html`, { method: 'HEAD' })).headers.get('content-type'), 'text/html');
});

const NGINX_MIME_TYPES = '/etc/nginx/mime.types';
if (existsSync(NGINX_MIME_TYPES)) {
  test('every extension of the installed nginx\'s mime.types gets that type (.mjs aside)', async () => {
    const { url, site } = await serveSite(cleanups);
    const expected = {};
    const body = readFileSync(NGINX_MIME_TYPES, 'utf8').replace(/#.*$/gm, '').match(/types\s*\{([^}]*)\}/)[1];
    for (const entry of body.split(';')) {
      const [type, ...extensions] = entry.trim().split(/\s+/);
      for (const extension of type ? extensions : []) expected[`file.${extension}`] = type;
    }
    assert.ok(Object.keys(expected).length > 100, 'the file was read');
    const got = {};
    for (const name of Object.keys(expected)) {
      writeFileSync(join(site.www, 'assets', name), 'x');
      const res = await fetch(`${url}/assets/${name}`, { method: 'HEAD' });
      got[name] = res.headers.get('content-type');
    }
    assert.equal(got, expected);
  });
} else {
  test.skip(`every extension of nginx's mime.types (${NGINX_MIME_TYPES} is not installed)`);
}

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
  assert.is(beyond.headers.get('content-type'), 'text/html');
  assert.is(await beyond.text(), statusPage('416 Range Not Satisfiable'));
});

test('HEAD has the headers of a GET and no body', async () => {
  const { url } = await serveSite(cleanups);
  const head = await fetch(`${url}/assets/style.css`, { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(head.headers.get('content-length'), '21');
  assert.is(await head.text(), '');
});

test.run();
