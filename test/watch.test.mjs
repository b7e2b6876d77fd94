// watch: a changed PHP file reloads the pool; a syntax error keeps the old
// code serving. Real files, real fs events, real PHP.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerPool } from 'php-zygote';
import { until, within } from './helpers.mjs';

const test = suite('watch: reload on change, not on a syntax error');

let dir;
let pool;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'php-zygote-watch-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'version.php'), "<?php\nfunction version(): string { return 'one'; }\n");
  writeFileSync(join(dir, 'app.php'), "<?php\nrequire __DIR__ . '/src/version.php';\n\\Zygote\\Zygote::serve(fn () => version());\n");
});
test.after.each(async () => {
  await pool?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ask = async () => String((await within(pool.run(''), 10000, 'a job')).body);

test('changing a PHP file under the app\'s directory reloads: new code, no failed job; a syntax error is logged and the old code serves on', async () => {
  pool = new WorkerPool({ script: join(dir, 'app.php'), workers: 1, watch: true });
  const notices = [];
  pool.on('log', (l) => { if (l.stream === 'pool') notices.push(l.line); });
  await pool.ready();
  assert.is(await ask(), 'one');
  writeFileSync(join(dir, 'src', 'version.php'), "<?php\nfunction version(): string { return 'two'; }\n");
  await until(async () => (await ask()) === 'two', 10000, 'the new code');
  assert.ok(notices.some((n) => /version\.php changed: reloading/.test(n)), notices.join('\n'));
  writeFileSync(join(dir, 'src', 'version.php'), "<?php\nfunction version(): string { return 'three' }\n"); // missing ;
  await until(() => notices.some((n) => /not reloading, the old code keeps serving: .*syntax error/.test(n)), 10000, 'the lint notice');
  assert.is(await ask(), 'two', 'still the old code');
  assert.is(pool.stats().jobs.failed, 0);
  writeFileSync(join(dir, 'notes.txt'), 'not PHP');
  writeFileSync(join(dir, 'src', 'version.php'), "<?php\nfunction version(): string { return 'four'; }\n");
  await until(async () => (await ask()) === 'four', 10000, 'fixed code');
});

test('watch must be a boolean or existing directories', () => {
  assert.throws(() => new WorkerPool({ script: join(dir, 'app.php'), watch: ['/no/such/dir'] }), (e) => /options\.watch must be/.test(e.message));
});

test.run();
