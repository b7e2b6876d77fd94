// serve --docroot end to end: the Node router, the CGI variables and the
// PHP runtime (php/docroot.php) together, driven as a browser would, on
// scripts written for php-fpm.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startCli } from './cli-process.mjs';
import { killAll } from './helpers.mjs';
import { exitAtTheEndStillAnswers, filterInputSeesTheRequest, finishRequestAnswersAtOnce } from './docroot-checks.mjs';

const site = fileURLToPath(new URL('./fixtures/classic-docroot', import.meta.url));
const test = suite('serve --docroot: php-fpm scripts run unchanged behind the Node router');

let cleanups = [];
let url;
test.before(async () => {
  ({ url } = await startCli(cleanups, ['serve', '--docroot', site, '--boot', `${site}/boot.php`, '--fallback', '/request.php', '--port', '0', '--workers', '2']));
});
test.after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await killAll();
});

const get = (path, init) => fetch(`${url}${path}`, { redirect: 'manual', ...init });

test('a script runs at global scope in a fresh fork of the booted master, per request', async () => {
  const first = await (await get('/globals.php')).json();
  const second = await (await get('/globals.php')).json();
  assert.is(first.title, 'wiki');
  assert.is(first.inGlobals, true);
  assert.is(first.loads, 1, 'require_once ran once in this request');
  assert.ok(first.booted > 0, 'the boot file ran in the master');
  assert.is(second.booted, first.booted, 'the same master');
  assert.is.not(second.pid, first.pid, 'a fresh fork per request');
  assert.is(first.cached, true, 'opcache was warmed for the docroot');
});

test('a class declared below the top-level code that uses it is hoisted, as in a plain include (the opcache warm-up leaves such files out)', async () => {
  const res = await get('/hoisted.php');
  assert.is(await res.text(), 'hoisted');
  assert.is(res.status, 200);
});

test('header(), setcookie(), http_response_code() and sessions reach the client', async () => {
  const res = await get('/headers.php');
  assert.is(res.status, 201);
  assert.is(res.headers.get('x-one'), '1');
  assert.is(res.headers.get('x-multi'), 'a, b');
  assert.is(res.headers.get('x-gone'), null);
  assert.equal(res.headers.getSetCookie().map((c) => c.split(';')[0]), ['plain=a%20b%3Bc', 'raw=x%20y']);
  const one = await get('/session.php');
  const cookie = one.headers.getSetCookie()[0].split(';')[0];
  assert.match(cookie, /^PHPSESSID=/);
  assert.is(await one.text(), '1');
  assert.is(await (await get('/session.php', { headers: { cookie } })).text(), '2', 'the session lives across requests and forks');
});

test('exit() after a redirect and die() deep in a function end the request with their output, not a 502', async () => {
  const redirect = await get('/redirect.php');
  assert.is(redirect.status, 302);
  assert.is(redirect.headers.get('location'), '/elsewhere');
  const die = await get('/die.php');
  assert.is(die.status, 200);
  assert.is(await die.text(), 'before bye shutdown');
  assert.is(die.headers.get('x-from-shutdown'), 'yes');
});

test('the request\'s destructors run before its answer, and their output is part of it, as under php-fpm', async () => {
  const res = await get('/destruct.php');
  assert.is(await res.text(), 'body destructed, kept by a static property');
});

test('the CGI variables, GET and POST as php-fpm gives them; PATH_INFO split; the fallback keeps REQUEST_URI', async () => {
  const posted = await (await get('/request.php/extra/path?x=1', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-name': 'zygote' },
    body: 'a=1&b[]=2&b[]=3',
  })).json();
  assert.is(posted.server.REQUEST_METHOD, 'POST');
  assert.is(posted.server.SCRIPT_NAME, '/request.php');
  assert.is(posted.server.SCRIPT_FILENAME, `${site}/request.php`);
  assert.is(posted.server.DOCUMENT_ROOT, site);
  assert.is(posted.server.REQUEST_URI, '/request.php/extra/path?x=1');
  assert.is(posted.server.HTTP_X_NAME, 'zygote');
  assert.equal(posted.get, { x: '1' });
  assert.equal(posted.post, { a: '1', b: ['2', '3'] });
  assert.is(posted.cwd, site);
  const pretty = await (await get('/some/pretty/url?q=1')).json();
  assert.is(pretty.server.SCRIPT_NAME, '/request.php');
  assert.is(pretty.server.REQUEST_URI, '/some/pretty/url?q=1');
  assert.equal(pretty.get, { q: '1' });
});

test('getenv() reads the request as under php-fpm: method, Host, SCRIPT_NAME, a header', async () => {
  const { getenv } = await (await get('/getenv.php?q=1', { headers: { 'x-name': 'zygote' } })).json();
  assert.is(getenv.REQUEST_METHOD, 'GET');
  assert.is(getenv.HTTP_HOST, new URL(url).host);
  assert.is(getenv.SCRIPT_NAME, '/getenv.php');
  assert.is(getenv.QUERY_STRING, 'q=1');
  assert.is(getenv.HTTP_X_NAME, 'zygote');
});

test('static files come from Node, dotfiles are refused, a missing page goes to the fallback and a missing script is a 404', async () => {
  const css = await get('/style.css');
  assert.is(css.status, 200);
  assert.is(css.headers.get('content-type'), 'text/css');
  assert.ok(css.headers.get('etag'));
  // node:http, not fetch: fetch adds Cache-Control: no-cache to a conditional request (Fetch spec), which rightly defeats the 304.
  const conditional = await new Promise((resolve, reject) => {
    http.get(`${url}/style.css`, { headers: { 'if-none-match': css.headers.get('etag') } }, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
  });
  assert.is(conditional, 304);
  assert.is((await get('/.htaccess')).status, 403);
  // With --fallback, a missing page goes to the front controller, as try_files does;
  // a missing script is nginx's .php location's 404.
  assert.is((await (await get('/missing/page')).json()).server.REQUEST_URI, '/missing/page');
  assert.is((await get('/missing.php')).status, 404);
});

test('fastcgi_finish_request() answers at once with what was printed; the script goes on and its later output is dropped', () => finishRequestAnswersAtOnce(get, tmpdir()));

test('exit() in a shutdown function, a destructor, an output buffer\'s callback or a session handler at the request\'s end still answers with the output', () => exitAtTheEndStillAnswers(get));

test('filter_input() sees GET, POST and COOKIE as under php-fpm, for its own request only', () => filterInputSeesTheRequest(get));

test('a child forked by a script never answers the request: the client gets the parent\'s answer', async () => {
  const res = await get('/fork.php');
  assert.is(res.status, 200);
  assert.match(await res.text(), /^parent done \d+ \d+$/);
});

test.run();
