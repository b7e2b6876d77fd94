// Opcache health: the master reports opcache's shared state; when it is
// full (every worker would compile into private memory), the pool reloads
// for a fresh cache, and a cache too small to hold the app is reported
// instead of reloaded in a loop. Real PHP with a small opcache.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Master, WorkerPool, statusText } from 'php-zygote';
import { until, within } from './helpers.mjs';

const script = fileURLToPath(new URL('./fixtures/apps/echo.php', import.meta.url));
const test = suite('opcache health: status, reload when full, too small reported');
const ini = { 'opcache.memory_consumption': 16, 'opcache.interned_strings_buffer': 2 };

let dir;
let cleanups = [];
test.before(() => {
  // 60 files of ~300 KB of code: about 52 fit in 16 MB of opcache.
  dir = mkdtempSync(join(tmpdir(), 'php-zygote-opcache-'));
  for (let i = 0; i < 60; i++) {
    const body = Array.from({ length: 3000 }, (_, j) => `    $v${j} = $a * ${j} + strlen('s${i}_${j}_padpadpadpadpadpadpad');`).join('\n');
    writeFileSync(join(dir, `f${i}.php`), `<?php\nfunction big_${i}($a) {\n${body}\n    return $a;\n}\n`);
    // opcache.file_update_protection: files changed in the last 2 s are not cached.
    utimesSync(join(dir, `f${i}.php`), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  }
});
test.after.each(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const compile = (pool, i) => pool.run(join(dir, `f${i}.php`), { context: { action: 'compile' } });

test('the master reports opcache\'s shared state, which workers fill', async () => {
  const master = await Master.start({ script, ini });
  cleanups.push(() => master.close());
  const before = await master.opcacheStatus();
  assert.ok(before && before.usedMemory > 0 && before.freeMemory > 0);
  const worker = await master.fork();
  await worker.run(join(dir, 'f0.php'), { context: { action: 'compile' } });
  const after = await master.opcacheStatus();
  assert.ok(after.cachedScripts > before.cachedScripts, 'a script compiled in a worker is in the shared cache the master sees');
  assert.ok(after.usedMemory > before.usedMemory + 100_000);
});

test('a full cache triggers a reload (fresh shared memory), logged and counted; filling it again at once is reported as too small', async () => {
  const pool = new WorkerPool({ script, ini, workers: 1, tick: 20, opcacheCheck: 50, opcacheReloadInterval: 60_000 });
  cleanups.push(() => pool.close());
  const notices = [];
  pool.on('log', (line) => { if (line.stream === 'pool') notices.push(line.line); });
  pool.metrics();
  await pool.ready();
  const firstMaster = JSON.parse(String((await pool.run('', { context: { action: 'whoami' } })).body)).ppid;
  for (let i = 0; i < 60; i++) await compile(pool, i);
  await until(() => pool.stats().opcacheReloads === 1, 10000, 'the reload for a full cache');
  assert.match(notices.join('\n'), /opcache's shared memory is full .*reloading for a fresh cache/);
  const masterNow = async () => JSON.parse(String((await pool.run('', { context: { action: 'whoami' } })).body)).ppid;
  await until(async () => (await masterNow()) !== firstMaster, 20000, 'a worker of a new master');
  await until(() => pool.stats().masters === 1, 20000, 'the old master to be closed');
  // The next check reports the new master's cache: room again.
  await until(() => pool.stats().opcache.freeMemory > 10 * 1024 * 1024, 5000, 'the new master\'s cache to be reported with room');
  // Filled again within opcacheReloadInterval: too small, not a reload loop.
  for (let i = 0; i < 60; i++) await compile(pool, i);
  await until(() => pool.stats().opcacheTooSmall, 10000, 'too small');
  assert.is(pool.stats().opcacheReloads, 1, 'no second reload');
  assert.match(notices.join('\n'), /raise opcache\.memory_consumption/);
  const status = await pool.status();
  assert.is(status.opcacheTooSmall, true);
  assert.match(statusText(status), /^opcache reloads:\s+1 \(too small: raise opcache\.memory_consumption\)$/m);
  assert.match(statusText(status), /^opcache memory:\s+[\d.]+ MB used, [\d.]+ MB free/m);
  const text = await pool.metrics().metrics();
  assert.match(text, /php_zygote_opcache_reloads_total 1/);
  assert.match(text, /php_zygote_opcache_memory_bytes\{kind="free"\} \d+/);
});

test.run();
