// Docroot mode (php/docroot.php): unmodified php-fpm style scripts, one
// request per fork, driven with job contexts shaped as the HTTP front
// builds them. Every request here runs in a real forked PHP worker.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Master, MasterStartError, WorkerPool } from 'php-zygote';
import { killAll, within } from './helpers.mjs';

const root = fileURLToPath(new URL('./fixtures/classic-docroot', import.meta.url));
const docrootScript = fileURLToPath(new URL('../php/docroot.php', import.meta.url));
const runtime = fileURLToPath(new URL('../php', import.meta.url));
const test = suite('docroot mode: php-fpm style scripts in forked CLI workers');

let cleanups = [];
test.after.each(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  await killAll();
});

/** An isolated pool on docroot.php; resolves with it and the log lines it printed. */
async function start({ docroot = root, env = {}, ini = {}, workers = 2 } = {}) {
  const scratch = mkdtempSync(join(tmpdir(), 'zygote-classic-'));
  const pool = new WorkerPool({
    script: docrootScript,
    isolated: true,
    workers,
    env: { ...process.env, PHP_ZYGOTE_DOCROOT: docroot, ...env },
    ini: { 'session.save_path': scratch, ...ini },
  });
  const logs = [];
  pool.on('log', ({ pid, line }) => logs.push({ pid, line }));
  cleanups.push(async () => {
    await pool.close({ timeout: 2000 });
    rmSync(scratch, { recursive: true, force: true });
  });
  await within(pool.ready(), 20000, 'docroot pool ready');
  return { pool, logs, scratch };
}

/** A job context as the HTTP front builds it for <docroot>/<name>. */
function request(name, { method = 'GET', query = '', headers = [['Host', 'example.test']], server = {}, docroot = root } = {}) {
  const file = `${docroot}/${name}`;
  return {
    docroot: { script: file, cwd: file.slice(0, file.lastIndexOf('/')) },
    server: {
      REQUEST_METHOD: method, QUERY_STRING: query, REQUEST_URI: `/${name}${query ? `?${query}` : ''}`,
      SCRIPT_NAME: `/${name}`, SCRIPT_FILENAME: file, PHP_SELF: `/${name}`, DOCUMENT_ROOT: docroot,
      REMOTE_ADDR: '127.0.0.1', REMOTE_PORT: '50000', SERVER_NAME: 'example.test', SERVER_PORT: '80',
      SERVER_PROTOCOL: 'HTTP/1.1', SERVER_SOFTWARE: 'php-zygote', GATEWAY_INTERFACE: 'CGI/1.1',
      REQUEST_SCHEME: 'http', REDIRECT_STATUS: '200', ...server,
    },
    headers,
  };
}

const run = (pool, name, options = {}, body = '', onChunk) =>
  within(pool.run(body, { context: request(name, options), onChunk }), 10000, `request for ${name}`);

/** Header values by lower-case name, in order. */
function headerMap(context) {
  const map = {};
  for (const [name, value] of context.headers) (map[name.toLowerCase()] ??= []).push(value);
  return map;
}

test('a script runs at global scope in a fresh fork: globals, require_once, the boot file, no $argv, warmed opcache', async () => {
  // sub/ also holds a file with a parse error and one whose compilation is a
  // fatal error ("Cannot redeclare"); warm.php comes after them.
  const { pool } = await start({ env: { PHP_ZYGOTE_BOOT: `${root}/boot.php` } });
  const first = await run(pool, 'globals.php');
  const second = await run(pool, 'globals.php');
  for (const res of [first, second]) {
    assert.is(res.context.status, 200);
    const seen = JSON.parse(String(res.body));
    assert.is(seen.title, 'wiki');
    assert.ok(seen.inGlobals);
    assert.is(seen.loads, 1, 'require_once loads once per request: each request is a fresh fork');
    assert.is(seen.argv, false);
    assert.is(typeof seen.booted, 'number');
    assert.is.not(seen.booted, seen.pid, 'the boot file ran in the master, not in the worker');
    assert.ok(seen.cached, 'sub/warm.php was compiled by the warm-up, never run, after the broken files');
  }
  assert.is.not(JSON.parse(String(first.body)).pid, JSON.parse(String(second.body)).pid);
});

test('header(), header_remove(), setcookie(), setrawcookie(), http_response_code() and headers_sent() behave as under php-fpm', async () => {
  const { pool, logs } = await start();
  const res = await run(pool, 'headers.php');
  assert.is(res.context.status, 201);
  const headers = headerMap(res.context);
  assert.equal(headers['x-one'], ['1']);
  assert.equal(headers['x-multi'], ['a', 'b']);
  assert.is(headers['x-gone'], undefined);
  assert.is(headers['x-late'], undefined);
  assert.equal(headers['set-cookie'], ['plain=a%20b%3Bc', 'raw=x%20y']);
  assert.equal(headers['content-type'], ['text/html; charset=UTF-8']);
  const [inside, after] = String(res.body).split('}{').map((part, i) => JSON.parse(i === 0 ? `${part}}` : `{${part}`));
  assert.is(inside.before, false);
  assert.is(inside.code, 201);
  assert.equal(inside.list, ['X-One: 1', 'X-Multi: a', 'X-Multi: b', 'Set-Cookie: plain=a%20b%3Bc', 'Set-Cookie: raw=x%20y']);
  assert.is(after.after, true);
  // The warning travels on the stderr socket, the answer on the channel: either can be read first.
  await within((async () => { while (!logs.some(({ line }) => line.includes('Cannot modify header information - headers already sent'))) await new Promise((r) => setTimeout(r, 10)); })(), 5000, 'the warning in the log');
});

test('session_start() sends its cookie and the session is written before the answer', async () => {
  const { pool } = await start();
  const first = await run(pool, 'session.php');
  assert.is(String(first.body), '1');
  const cookie = headerMap(first.context)['set-cookie'].find((c) => c.startsWith('PHPSESSID='));
  assert.ok(cookie);
  const id = cookie.split(';')[0];
  // At once, on another fresh fork: the first worker wrote the session before answering.
  const second = await run(pool, 'session.php', { headers: [['Host', 'example.test'], ['Cookie', id]] });
  assert.is(String(second.body), '2');
});

test('exit after a redirect, die() deep in a function, exit(3) with a status: each ends the request with its output and status', async () => {
  const { pool } = await start();
  const redirect = await run(pool, 'redirect.php');
  assert.is(redirect.context.status, 302);
  assert.equal(headerMap(redirect.context).location, ['/elsewhere']);
  assert.is(String(redirect.body), '');

  const died = await run(pool, 'die.php');
  assert.is(died.context.status, 200);
  // Shutdown functions the script registered still print and send headers, as under php-fpm.
  assert.is(String(died.body), 'before bye shutdown');
  assert.equal(headerMap(died.context)['x-from-shutdown'], ['yes']);

  const exited = await run(pool, 'exit-code.php');
  assert.is(exited.context.status, 503);
  assert.is(String(exited.body), 'unavailable');
  assert.is(pool.stats().jobs.failed, 0);
});

test('a fatal error answers 500 with the output produced before it, and the worker is not counted as crashed', async () => {
  const { pool, logs } = await start();
  const exits = [];
  pool.on('exit', (info) => exits.push(info));
  const res = await run(pool, 'fatal.php');
  assert.is(res.context.status, 500);
  assert.is(String(res.body), 'partial');
  // The log line travels on the stderr socket, the answer on the channel:
  // either can be read first.
  await within((async () => { while (!logs.some(({ line }) => line.includes('Call to undefined function undefined_function()'))) await new Promise((r) => setTimeout(r, 10)); })(), 5000, 'the fatal error in the log');
  await within((async () => { while (exits.length === 0) await new Promise((r) => setTimeout(r, 10)); })(), 5000, 'the worker to exit');
  assert.is(exits[0].reason, 'maxJobs');
  assert.is(exits[0].code, 255);
});

test('flush() sends status, headers and the output so far while the script still runs; the rest follows', async () => {
  const { pool, scratch } = await start();
  const marker = join(scratch, 'first-part-arrived');
  const parts = [];
  const res = await run(pool, 'flush.php', { query: `marker=${encodeURIComponent(marker)}` }, '', (chunk, context) => {
    parts.push({ chunk: String(chunk), context });
    writeFileSync(marker, '');
  });
  assert.is(parts.length, 1);
  assert.is(parts[0].chunk, 'first');
  assert.is(parts[0].context.status, 200);
  assert.equal(headerMap(parts[0].context)['content-type'], ['text/plain;charset=UTF-8']);
  assert.is(String(res.body), ' second');
  assert.equal(res.context, {});
});

test('output past 1 MiB is streamed in parts without a flush()', async () => {
  const { pool } = await start();
  const parts = [];
  const res = await run(pool, 'big.php', {}, '', (chunk, context) => parts.push({ size: chunk.length, context }));
  const total = parts.reduce((sum, p) => sum + p.size, 0) + res.body.length;
  assert.is(total, 3 * 1024 * 1024);
  assert.ok(parts.length >= 2);
  assert.is(parts[0].context.status, 200);
});

test('$_GET, $_POST, $_COOKIE, $_REQUEST, $_SERVER and php://input are filled from the job as php-fpm fills them', async () => {
  const { pool } = await start();
  const name = Buffer.from('Jürgen').toString('latin1'); // one code point per byte, as the front carries headers
  const res = await run(pool, 'request.php', {
    method: 'POST',
    query: 'a=1&list[]=x&list[]=y&both=get',
    headers: [
      ['Host', 'example.test'], ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', '19'],
      ['Cookie', 'sid=a%2Bb+c; the.name=1'], ['Cookie', 'sid=second; arr[k]=v'], ['X-Name', name],
      ['X_Real_IP', '6.6.6.6'], ['Proxy', 'http://evil'],
    ],
    server: { CONTENT_TYPE: 'application/x-www-form-urlencoded', CONTENT_LENGTH: '19' },
  }, 'b=2&both=post&c=%41');
  const seen = JSON.parse(String(res.body));
  assert.equal(seen.get, { a: '1', list: ['x', 'y'], both: 'get' });
  assert.equal(seen.post, { b: '2', both: 'post', c: 'A' });
  // PHP's cookie rules: raw-URL-decoded values ("+" stays), mangled names, the first of a name wins.
  assert.equal(seen.cookie, { sid: 'a+b+c', the_name: '1', arr: { k: 'v' } });
  assert.equal(seen.request, { a: '1', list: ['x', 'y'], both: 'post', b: '2', c: 'A' });
  assert.is(seen.input, 'b=2&both=post&c=%41');
  assert.is(seen.inputAgain, seen.input);
  assert.is(seen.server.REQUEST_METHOD, 'POST');
  assert.is(seen.server.CONTENT_TYPE, 'application/x-www-form-urlencoded');
  assert.is(seen.server.HTTP_HOST, 'example.test');
  assert.is(seen.server.HTTP_COOKIE, 'sid=a%2Bb+c; the.name=1; sid=second; arr[k]=v');
  assert.is(seen.server.HTTP_X_REAL_IP, undefined, 'a header name with "_" is dropped, as nginx does');
  assert.is(seen.server.HTTP_PROXY, undefined, 'httpoxy');
  assert.is(seen.xName, Buffer.from('Jürgen').toString('hex'));
  assert.is(seen.server.SCRIPT_FILENAME, `${root}/request.php`);
  assert.ok(seen.hasTime);
  assert.is(seen.cwd, root);
});

test('getenv() sees the request\'s CGI variables, as under php-fpm, for that request alone; names and values putenv() cannot hold are left out', async () => {
  const { pool } = await start({ workers: 1 });
  const first = JSON.parse(String((await run(pool, 'getenv.php', {
    method: 'POST',
    query: 'a=1',
    headers: [['Host', 'example.test'], ['X-Name', 'zygote'], ['Proxy', 'http://evil'], ['Content-Type', 'text/plain']],
    // A name with "=" would be read by putenv() as A set to "B=bad"; a NUL would cut the value short.
    server: { CONTENT_TYPE: 'text/plain', 'A=B': 'bad', NUL_VALUE: 'a\u0000b' },
  })).body));
  assert.equal(first.getenv, {
    REQUEST_METHOD: 'POST',
    REQUEST_URI: '/getenv.php?a=1',
    QUERY_STRING: 'a=1',
    SCRIPT_NAME: '/getenv.php',
    SCRIPT_FILENAME: `${root}/getenv.php`,
    DOCUMENT_ROOT: root,
    SERVER_NAME: 'example.test',
    HTTP_HOST: 'example.test',
    HTTP_X_NAME: 'zygote',
    HTTP_PROXY: false, // httpoxy: never in the environment of what the script starts
    CONTENT_TYPE: 'text/plain',
    REQUEST_TIME: false, // PHP's, in $_SERVER only, as under php-fpm
    A: false,
    NUL_VALUE: false,
    PATH: process.env.PATH, // the process environment is still there
  });
  // getenv() without a name lists them too, as fpm's does.
  assert.equal(first.all, Object.fromEntries(Object.entries(first.getenv).filter(([, v]) => v !== false)));
  const second = JSON.parse(String((await run(pool, 'getenv.php', { headers: [['Host', 'other.test']] })).body));
  assert.is.not(second.pid, first.pid);
  assert.is(second.getenv.REQUEST_METHOD, 'GET');
  assert.is(second.getenv.HTTP_HOST, 'other.test');
  assert.is(second.getenv.HTTP_X_NAME, false, 'the previous request\'s header is gone');
  assert.is(second.getenv.CONTENT_TYPE, false);
});

test('php://input holds a JSON body byte for byte', async () => {
  const { pool } = await start();
  const body = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0, 0xff, 0xfe]), Buffer.from('"}')]);
  const res = await within(pool.run(body, {
    context: request('request.php', { method: 'PUT', headers: [['Content-Type', 'application/json']], server: { CONTENT_TYPE: 'application/json' } }),
  }), 10000, 'PUT');
  const seen = JSON.parse(String(res.body));
  assert.equal(seen.post, [], 'a JSON body is not parsed into $_POST');
  assert.is(seen.input, Buffer.from(body).toString('utf8'), 'JSON_INVALID_UTF8_SUBSTITUTE turns 0xff 0xfe into U+FFFD each');
  assert.ok(seen.input.startsWith('{"a":"\u0000'));
  assert.is(seen.server.REQUEST_METHOD, 'PUT');
});

test('a missing script is 404 and a non-.php one 403, as php-fpm answers', async () => {
  const { pool } = await start();
  const missing = await run(pool, 'nope.php');
  assert.is(missing.context.status, 404);
  assert.is(String(missing.body), 'File not found.\n');
  const other = await run(pool, 'lib/counter.txt');
  assert.is(other.context.status, 403);
});

test('web ini defaults in the worker (128M, 30 s, html_errors) unless the command line sets them', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'zygote-classic-ini-'));
  cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
  writeFileSync(join(scratch, 'ini.php'), '<?php echo json_encode([ini_get("memory_limit"), ini_get("max_execution_time"), ob_get_level(), ini_get("html_errors")]);');
  const { pool } = await start({ docroot: scratch });
  const defaults = await run(pool, 'ini.php', { docroot: scratch });
  assert.equal(JSON.parse(String(defaults.body)), ['128M', '30', 1, '1'], 'php.ini-production\'s values, where the CLI has its own');
  const { pool: custom } = await start({ docroot: scratch, ini: { memory_limit: '64M', max_execution_time: 5, output_buffering: 0, html_errors: 0 } });
  const set = await run(custom, 'ini.php', { docroot: scratch });
  assert.equal(JSON.parse(String(set.body)), ['64M', '5', 0, '0']);
});

test('the warm-up caches a file written a moment before the master started (file_update_protection)', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'zygote-classic-fresh-'));
  cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
  writeFileSync(join(scratch, 'fresh.php'), '<?php return 1;');
  writeFileSync(join(scratch, 'probe.php'), '<?php echo json_encode(opcache_is_script_cached(__DIR__ . "/fresh.php"));');
  const { pool } = await start({ docroot: scratch });
  const res = await run(pool, 'probe.php', { docroot: scratch });
  assert.is(String(res.body), 'true');
});

test('without usable FFI the master refuses before writing anything: one line naming ffi.enable, exit code 78', async () => {
  const err = await Master.start({
    script: docrootScript,
    ini: { 'ffi.enable': 0 },
    env: { ...process.env, PHP_ZYGOTE_DOCROOT: root },
    startTimeout: 10000,
  }).then(() => null, (e) => e);
  assert.instance(err, MasterStartError);
  const lines = err.logs.filter((l) => l.includes('php-zygote docroot:'));
  assert.is(lines.length, 1, err.message);
  assert.match(lines[0], /FFI is not usable .*ffi\.enable is '0'/);
  // MasterStartError does not carry the exit code: the same command line, run directly.
  const php = spawnSync('php', ['-d', 'ffi.enable=0', '-d', `auto_prepend_file=${runtime}/autoload.php`, docrootScript], {
    env: { ...process.env, PHP_ZYGOTE: '1', PHP_ZYGOTE_DOCROOT: root },
    encoding: 'utf8',
    timeout: 10000,
  });
  assert.is(php.status, 78);
  assert.is(php.stderr.trim().split('\n').length, 1);
  assert.match(php.stderr, /^php-zygote docroot: cannot make the CLI SAPI keep headers/);
});

test('a master without a document root refuses with exit code 78', async () => {
  const php = spawnSync('php', ['-d', `auto_prepend_file=${runtime}/autoload.php`, docrootScript], {
    env: { ...process.env, PHP_ZYGOTE: '1', PHP_ZYGOTE_DOCROOT: join(root, 'no-such-dir') },
    encoding: 'utf8',
    timeout: 10000,
  });
  assert.is(php.status, 78);
  assert.match(php.stderr, /PHP_ZYGOTE_DOCROOT must name the document root directory/);
});

test.run();
