import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { killAll, statusPage } from './helpers.mjs';
import { bytes, exchange } from './raw-http.mjs';
import { serveSite } from './docroot-site.mjs';

const test = suite('Document root: which URL runs which script, and which is a file');

let cleanups = [];
test.after.each(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  await killAll();
});

const manual = { redirect: 'manual' };
/** The echo fixture's answer: what PHP was given. */
const seen = async (res) => {
  assert.is(res.status, 200);
  return res.json();
};

test('a .php path runs that script; the rest of the path after .php is PATH_INFO', async () => {
  const { url, site } = await serveSite(cleanups);
  const page = await seen(await fetch(`${url}/sub/page.php`));
  assert.is(page.server.SCRIPT_NAME, '/sub/page.php');
  assert.is(page.docroot.script, `${site.www}/sub/page.php`);
  assert.is(page.server.PATH_INFO, undefined);
  const split = await seen(await fetch(`${url}/index.php/foo/bar`));
  assert.is(split.server.SCRIPT_NAME, '/index.php');
  assert.is(split.server.PATH_INFO, '/foo/bar');
  assert.is(split.server.PHP_SELF, '/index.php/foo/bar');
});

test('a missing .php script is a 404, with a fallback too, as nginx\'s .php location answers it before try_files', async () => {
  const plain = await serveSite(cleanups);
  assert.is((await fetch(`${plain.url}/missing.php`)).status, 404);
  assert.is((await fetch(`${plain.url}/missing.php/x`)).status, 404);
  assert.is((await fetch(`${plain.url}/no/such/page`)).status, 404);
  const withFallback = await serveSite(cleanups, () => ({ fallback: '/index.php' }));
  assert.is((await fetch(`${withFallback.url}/missing.php?a=1`)).status, 404);
  assert.is((await fetch(`${withFallback.url}/missing.php/x`)).status, 404);
  const page = await seen(await fetch(`${withFallback.url}/no/such/page?a=1`));
  assert.is(page.server.SCRIPT_NAME, '/index.php', 'what is not a script still goes to the fallback');
  assert.is(page.server.REQUEST_URI, '/no/such/page?a=1');
});

test('nothing matched: the fallback runs with the original REQUEST_URI and query, as try_files does', async () => {
  const { url, site } = await serveSite(cleanups, () => ({ fallback: '/index.php' }));
  const page = await seen(await fetch(`${url}/blog/2026/hello-world?p=1&q=x`));
  assert.is(page.docroot.script, `${site.www}/index.php`);
  assert.is(page.server.SCRIPT_NAME, '/index.php');
  assert.is(page.server.REQUEST_URI, '/blog/2026/hello-world?p=1&q=x');
  assert.is(page.server.QUERY_STRING, 'p=1&q=x');
  assert.is(page.server.PATH_INFO, undefined);
  assert.is(page.server.DOCUMENT_URI, '/index.php');
});

test('a directory without its slash is a 301 to the slash, query kept; with it, the index runs (PHP) or is served (HTML)', async () => {
  const { url, site } = await serveSite(cleanups);
  const redirect = await fetch(`${url}/sub?x=1&y=2`, manual);
  assert.is(redirect.status, 301);
  assert.is(redirect.headers.get('location'), '/sub/?x=1&y=2');
  const html = await fetch(`${url}/sub/`);
  assert.is(html.status, 200);
  assert.is(html.headers.get('content-type'), 'text/html');
  assert.match(await html.text(), /sub index/);
  const root = await seen(await fetch(`${url}/`));
  assert.is(root.server.SCRIPT_NAME, '/index.php');
  assert.is(root.docroot.script, `${site.www}/index.php`);
  assert.is(root.docroot.cwd, site.www);
});

test('--index order decides: html first serves the HTML index; a directory with no index is a 403, fallback or not, as nginx\'s try_files $uri/ then its index module answer', async () => {
  const { url } = await serveSite(cleanups, () => ({ index: ['index.html', 'index.php'] }));
  assert.is((await fetch(`${url}/noindex/`)).status, 403);
  const withFallback = await serveSite(cleanups, () => ({ index: ['index.html'], fallback: '/index.php' }));
  assert.is((await fetch(`${withFallback.url}/`)).status, 403);
  assert.is((await fetch(`${withFallback.url}/noindex/`)).status, 403);
  const missing = await seen(await fetch(`${withFallback.url}/no/such/page`));
  assert.is(missing.server.SCRIPT_NAME, '/index.php', 'what does not exist still goes to the fallback');
});

test('static files are served by Node, never by PHP; other methods than GET and HEAD on them get 405', async () => {
  const { url } = await serveSite(cleanups);
  const css = await fetch(`${url}/assets/style.css`);
  assert.is(css.status, 200);
  assert.is(css.headers.get('x-script'), null);
  assert.is(await css.text(), 'body { color: red; }\n');
  const spaced = await fetch(`${url}/with%20space.css`);
  assert.is(await spaced.text(), 'a { }\n');
  const post = await fetch(`${url}/assets/style.css`, { method: 'POST', body: 'x' });
  assert.is(post.status, 405);
  assert.is(post.headers.get('allow'), 'GET, HEAD');
});

test('a symlinked directory inside the root is followed, for static files and scripts alike', async () => {
  const { url, site } = await serveSite(cleanups);
  assert.is(await (await fetch(`${url}/linked/tpl.css`)).text(), '.tpl { }\n');
  const plugin = await seen(await fetch(`${url}/linked/plugin.php`));
  // The lexical path, not the symlink's target: what nginx gives too.
  assert.is(plugin.server.SCRIPT_FILENAME, `${site.www}/linked/plugin.php`);
});

test('an alias maps its URL prefix into another directory; DOCUMENT_ROOT stays the root, SCRIPT_FILENAME is the real file; longest prefix wins', async () => {
  const { url, site } = await serveSite(cleanups, (s) => ({ aliases: { '/wp-content/': s.extra, '/wp-content/sub/': `${s.www}/sub` } }));
  assert.is(await (await fetch(`${url}/wp-content/extra.css`)).text(), '.extra { }\n');
  const script = await seen(await fetch(`${url}/wp-content/extra.php/more`));
  assert.is(script.server.SCRIPT_FILENAME, `${site.extra}/extra.php`);
  assert.is(script.server.SCRIPT_NAME, '/wp-content/extra.php');
  assert.is(script.server.PATH_INFO, '/more');
  assert.is(script.server.DOCUMENT_ROOT, site.www);
  assert.is(script.docroot.cwd, site.extra);
  assert.match(await (await fetch(`${url}/wp-content/sub/`)).text(), /sub index/);
  const redirect = await fetch(`${url}/wp-content`, manual);
  assert.is(redirect.status, 301);
  assert.is(redirect.headers.get('location'), '/wp-content/');
});

test('below an alias nothing missing runs the fallback, as under nginx\'s location ^~ /wp-content/ { alias ...; }: a missing file or script is the server\'s 404', async () => {
  const { url } = await serveSite(cleanups, (s) => ({ fallback: '/index.php', aliases: { '/wp-content/': s.extra } }));
  for (const path of ['/wp-content/no-such.css', '/wp-content/no/such/page', '/wp-content/no-such.php', '/wp-content/no-such.php/info']) {
    const res = await fetch(`${url}${path}`);
    assert.is(res.status, 404, path);
    assert.is(await res.text(), statusPage('404 Not Found'), path);
  }
  // Outside the alias the fallback still runs.
  assert.is((await seen(await fetch(`${url}/no-such.css`))).server.SCRIPT_NAME, '/index.php');
});

test('the server\'s own answers (404, 403, 400, 405, 301) are nginx\'s kind of HTML page, text/html without a charset; a HEAD gets its headers alone', async () => {
  const { url, port } = await serveSite(cleanups);
  const answers = {
    '/no/such/page': [404, 'Not Found'],
    '/missing.php': [404, 'Not Found'],
    '/.git/config': [403, 'Forbidden'],
    '/noindex/': [403, 'Forbidden'],
    '/a%5cb': [400, 'Bad Request'],
  };
  for (const [path, [status, phrase]] of Object.entries(answers)) {
    const res = await fetch(`${url}${path}`, manual);
    assert.is(res.status, status, path);
    assert.is(res.headers.get('content-type'), 'text/html', path);
    const body = await res.text();
    assert.is(body, statusPage(`${status} ${phrase}`), path);
    assert.is(res.headers.get('content-length'), String(Buffer.byteLength(body)), path);
  }
  const post = await fetch(`${url}/assets/style.css`, { method: 'POST', body: 'x' });
  assert.is(await post.text(), statusPage('405 Method Not Allowed'));
  assert.is(post.headers.get('content-type'), 'text/html');
  const redirect = await fetch(`${url}/sub`, manual);
  assert.is(redirect.headers.get('location'), '/sub/');
  assert.is(await redirect.text(), statusPage('301 Moved Permanently'));
  // Over a bare socket, so that a body sent after the headers would show.
  const head = await exchange(port, bytes('HEAD /no/such/page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  assert.is(head.status, 404);
  assert.is(head.headers['content-type'].toString(), 'text/html');
  assert.is(head.headers['content-length'].toString(), String(statusPage('404 Not Found').length));
  assert.is(head.body.length, 0);
});

test('a streamed answer of a script passes through as with createRequestHandler', async () => {
  const { url } = await serveSite(cleanups);
  const res = await fetch(`${url}/stream.php`);
  assert.is(res.headers.get('transfer-encoding'), 'chunked');
  assert.is(await res.text(), 'one two end');
});

test.run();
