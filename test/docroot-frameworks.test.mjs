import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { once } from 'node:events';
import express from 'express';
import Fastify from 'fastify';
import { WorkerPool, createDocrootHandler, fastifyPhpZygote } from 'php-zygote';
import { killAll, within } from './helpers.mjs';
import { fixtures, makeSite } from './docroot-site.mjs';

const test = suite('Document root mounted in Express 5 and Fastify 5: paths below the mount, full URLs for PHP');

let cleanups = [];
test.after.each(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  await killAll();
});

async function start() {
  const site = makeSite();
  cleanups.push(site.remove);
  const pool = new WorkerPool({ script: `${fixtures}apps/docroot-echo.php`, workers: 1 });
  cleanups.push(() => pool.close({ timeout: 2000 }));
  await within(pool.ready(), 20000, 'pool ready');
  return { site, pool };
}

/** The same requests through either framework, mounted at /wiki. */
async function checkMountedAtWiki(url) {
  assert.is(await (await fetch(`${url}/wiki/assets/style.css`)).text(), 'body { color: red; }\n');
  const page = await (await fetch(`${url}/wiki/sub/page.php/x?y=1`)).json();
  assert.is(page.server.SCRIPT_NAME, '/wiki/sub/page.php');
  assert.is(page.server.PATH_INFO, '/x');
  assert.is(page.server.REQUEST_URI, '/wiki/sub/page.php/x?y=1');
  const posted = await (await fetch(`${url}/wiki/index.php`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'raw body' })).json();
  assert.is(posted.body, 'raw body');
  const redirect = await fetch(`${url}/wiki/sub?a=1`, { redirect: 'manual' });
  assert.is(redirect.status, 301);
  assert.is(redirect.headers.get('location'), '/wiki/sub/?a=1');
}

test('Express: app.use(\'/wiki\', createDocrootHandler(...)) maps below the mount; SCRIPT_NAME, REQUEST_URI and redirects keep it', async () => {
  const { site, pool } = await start();
  const app = express();
  app.use('/wiki', createDocrootHandler(pool, { docroot: site.www }));
  const server = app.listen(0, '127.0.0.1');
  cleanups.push(async () => {
    server.closeAllConnections();
    await within(new Promise((resolve) => server.close(resolve)), 5000, 'the server to close');
  });
  await once(server, 'listening');
  await checkMountedAtWiki(`http://127.0.0.1:${server.address().port}`);
});

test('Fastify: the plugin with a docroot option under prefix /wiki serves the document root the same way', async () => {
  const { site, pool } = await start();
  const app = Fastify();
  app.register(fastifyPhpZygote, { pool, prefix: '/wiki', docroot: site.www });
  cleanups.push(async () => {
    app.server.closeAllConnections();
    await within(app.close(), 5000, 'fastify to close');
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  await checkMountedAtWiki(url);
});

test.run();
