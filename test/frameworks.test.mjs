import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import express from 'express';
import Fastify from 'fastify';
import { WorkerPool, createRequestHandler, fastifyPhpZygote, keepRawBody } from 'php-zygote';
import { killAll, within } from './helpers.mjs';
import { exchange } from './raw-http.mjs';
import { createApp as expressExample } from '../examples/express.mjs';
import { createApp as fastifyExample } from '../examples/fastify.mjs';

const fixtures = fileURLToPath(new URL('./fixtures/apps/', import.meta.url));
const examples = fileURLToPath(new URL('../examples/', import.meta.url));
const test = suite('HTTP in Express 5 and Fastify 5: bodies the framework read, mount paths, no hangs');

let cleanups = [];
test.after.each(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  await killAll();
});

async function startPool(script = `${fixtures}frameworks.php`) {
  const pool = new WorkerPool({ script, workers: 2 });
  cleanups.push(() => pool.close({ timeout: 2000 }));
  await within(pool.ready(), 20000, 'pool ready');
  return pool;
}

async function listenExpress(app) {
  const server = app.listen(0, '127.0.0.1');
  cleanups.push(async () => {
    server.closeAllConnections();
    await within(new Promise((resolve) => server.close(resolve)), 5000, 'the server to close');
  });
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${server.address().port}`, port: server.address().port };
}

async function listenFastify(app) {
  cleanups.push(async () => {
    // Requests still hanging (a failed test) would hold close() forever.
    app.server.closeAllConnections();
    await within(app.close(), 5000, 'fastify to close');
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, port: app.server.address().port };
}

/** POSTs and resolves with what the PHP fixture saw; every wait bounded. */
async function post(url, contentType, body) {
  const res = await within(fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body }), 10000, `POST ${url}`);
  assert.is(res.status, 200, `POST ${url} ${contentType}: ${res.status}`);
  return res.json();
}

const hex = (text) => Buffer.from(text).toString('hex');
const BINARY = Buffer.from([0x00, 0xff, 0x80, 0x0a, 0xc3, 0x28]);

/** The four kinds of body, and the GET, through one mount point. */
async function checkBodies(base, { exactJson }) {
  const json = await post(`${base}/json?x=1`, 'application/json', '{ "hello" : "wörld", "n": [1, 2] }');
  assert.is(json.uri, '/php/json?x=1');
  assert.equal(json.parsedBody, { hello: 'wörld', n: [1, 2] });
  if (exactJson) assert.is(json.body, hex('{ "hello" : "wörld", "n": [1, 2] }'));
  assert.is(Number(json.contentLength), json.body.length / 2);

  const form = await post(`${base}/form`, 'application/x-www-form-urlencoded', 'b=20&d=w%C3%B6rld&list[]=a&list[]=b');
  assert.is(form.uri, '/php/form');
  assert.equal(form.parsedBody, { b: '20', d: 'wörld', list: ['a', 'b'] });
  assert.is(Number(form.contentLength), form.body.length / 2);

  const text = await post(`${base}/text`, 'text/plain; charset=utf-8', 'héllo\nwörld');
  assert.is(text.body, hex('héllo\nwörld'));

  const binary = await post(`${base}/binary`, 'application/octet-stream', BINARY);
  assert.is(binary.body, BINARY.toString('hex'));

  const get = await (await within(fetch(`${base}/page?q=1`), 10000, 'GET')).json();
  assert.is(get.method, 'GET');
  assert.is(get.uri, '/php/page?q=1');
  assert.is(get.body, '');
}

test('Express 5: with json, urlencoded and text parsers mounted before the handler, POSTs reach PHP, under its mount path with the full URL', async () => {
  const pool = await startPool();
  const app = express();
  app.use(express.json());
  app.use(express.urlencoded());
  app.use(express.text());
  app.use('/php', createRequestHandler(pool));
  const { url } = await listenExpress(app);
  await checkBodies(`${url}/php`, { exactJson: false });
  const empty = await post(`${url}/php/empty`, 'application/json', '');
  assert.is(empty.body, '');
  // A parsed object serialized again keeps its fields, not its spacing.
  const nested = await post(`${url}/php/x`, 'application/json', '{"a":{"b":[true,null]}}');
  assert.equal(nested.parsedBody, { a: { b: [true, null] } });
});

test('Express 5: keepRawBody hands PHP the exact bytes a body parser read', async () => {
  const pool = await startPool();
  const app = express();
  app.use(express.json({ verify: keepRawBody }));
  app.use(express.urlencoded({ extended: true, verify: keepRawBody }));
  app.use('/php', createRequestHandler(pool));
  const { url } = await listenExpress(app);
  await checkBodies(`${url}/php`, { exactJson: true });
  const form = await post(`${url}/php/form`, 'application/x-www-form-urlencoded', 'a[b]=1&a[c][]=2');
  assert.is(form.body, hex('a[b]=1&a[c][]=2'));
  assert.equal(form.parsedBody, { a: { b: '1', c: ['2'] } });
});

test('Express 5: nested fields parsed by express.urlencoded({ extended: true }) reach PHP as the same fields', async () => {
  const pool = await startPool();
  const app = express();
  app.use(express.urlencoded({ extended: true }));
  app.use('/php', createRequestHandler(pool));
  const { url } = await listenExpress(app);
  const form = await post(`${url}/php/form`, 'application/x-www-form-urlencoded', 'a[b]=1&a[c][]=2&a[c][]=3&list[]=x&s=t');
  assert.equal(form.parsedBody, { a: { b: '1', c: ['2', '3'] }, list: ['x'], s: 't' });
});

test('a body that never arrives ends in 408 after bodyTimeout, in Express too', async () => {
  const pool = await startPool();
  const app = express();
  app.use('/php', createRequestHandler(pool, { bodyTimeout: 300 }));
  const { port } = await listenExpress(app);
  const res = await exchange(port, 'POST /php/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\npartial');
  assert.is(res.status, 408);
});

test('Fastify 5: the plugin under a prefix hands PHP JSON, form, text and binary bodies byte-exact, with the full URL; the rest of the app keeps its parsers', async () => {
  const pool = await startPool();
  const app = Fastify();
  app.post('/own', async (request) => ({ parsedByFastify: request.body }));
  app.register(fastifyPhpZygote, { pool, prefix: '/php' });
  const { url } = await listenFastify(app);
  await checkBodies(`${url}/php`, { exactJson: true });
  const head = await within(fetch(`${url}/php/page`, { method: 'HEAD' }), 10000, 'HEAD');
  assert.is(head.status, 200);
  const own = await within(fetch(`${url}/own`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' }), 10000, 'own route');
  assert.equal(await own.json(), { parsedByFastify: { a: 1 } });
});

test('Fastify 5: the plugin refuses a missing pool, naming the option', async () => {
  const app = Fastify();
  app.register(fastifyPhpZygote, {});
  try {
    await within(app.ready(), 10000, 'fastify ready');
    assert.unreachable('ready() should have failed');
  } catch (error) {
    assert.match(error.message, /options\.pool must be a WorkerPool/);
  } finally {
    await app.close();
  }
});

test('examples/express.mjs serves examples/app.php behind express.json()', async () => {
  const pool = await startPool(`${examples}app.php`);
  const { url } = await listenExpress(expressExample(pool));
  const echo = await post(`${url}/echo?q=1`, 'application/json', '{"a":[1,2]}');
  assert.equal(echo.body, { a: [1, 2] });
  assert.equal(echo.query, { q: '1' });
  const form = await post(`${url}/echo`, 'application/x-www-form-urlencoded', 'a=1&b=2');
  assert.equal(form.body, { a: '1', b: '2' });
  const health = await (await within(fetch(`${url}/health`), 10000, 'health')).json();
  assert.is(health.ok, true);
});

test('examples/fastify.mjs serves examples/app.php through the plugin', async () => {
  const pool = await startPool(`${examples}app.php`);
  const { url } = await listenFastify(fastifyExample(pool));
  const echo = await post(`${url}/echo?q=1`, 'application/json', '{"a":[1,2]}');
  assert.equal(echo.body, { a: [1, 2] });
  const text = await post(`${url}/echo`, 'text/plain', 'plain words');
  assert.is(text.body, 'plain words');
  assert.is((await within(fetch(`${url}/missing`), 10000, 'missing')).status, 404);
  const health = await (await within(fetch(`${url}/health`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' }), 10000, 'health')).json();
  assert.equal(health, { ok: true, parsed: { x: 1 } });
});

test.run();
