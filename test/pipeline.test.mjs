// pipeline: with every worker busy and jobs waiting, a worker gets its
// next job at once; nothing is lost, a job behind a dying worker's runs
// elsewhere, and aborts stay exact. Real PHP workers (they run jobs one
// after another, as the pipelining relies on).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { AbortError, WorkerExitedError, WorkerPool } from 'php-zygote';
import { sleep, until, within } from './helpers.mjs';

const script = fileURLToPath(new URL('./fixtures/apps/echo.php', import.meta.url));
const test = suite('pipeline: a busy worker gets its next job at once');

let pools = [];
test.after.each(async () => {
  await Promise.all(pools.map((p) => within(p.close({ timeout: 2000 }), 15000, 'close')));
  pools = [];
});
const pool = (options) => {
  const p = new WorkerPool({ script, restartDelay: 1, ...options });
  pools.push(p);
  return p;
};
const act = (action, body = '', extra = {}) => [String(body), { context: { action }, ...extra }];


test('the job behind is sent while the first runs, and both finish in order', async () => {
  const p = pool({ workers: 1, pipeline: true });
  await p.ready();
  const first = p.run(...act('sleep', 300));
  const second = p.run('second');
  await until(() => p.stats().jobs.queued === 0, 2000, 'the second job sent');
  assert.is(p.stats().jobs.running, 2, 'two jobs in flight on one worker');
  const order = [];
  await Promise.all([first.then(() => order.push('first')), second.then((r) => order.push(String(r.body)))]);
  assert.equal(order, ['first', 'second']);
});

test('without pipeline the job waits in the queue', async () => {
  const p = pool({ workers: 1 });
  await p.ready();
  const first = p.run(...act('sleep', 200));
  const second = p.run('second');
  await sleep(50);
  assert.is(p.stats().jobs.queued, 1);
  await Promise.all([first, second]);
});

test('a worker that dies running the first job hands the one behind it back: it runs on the replacement', async () => {
  const p = pool({ workers: 1, pipeline: true, crashLimit: 100 });
  await p.ready();
  const dying = p.run(...act('exit', 3));
  const behind = p.run(...act('whoami'));
  const err = await dying.then(() => null, (e) => e);
  assert.instance(err, WorkerExitedError);
  const result = await within(behind, 10000, 'the job behind');
  assert.ok(JSON.parse(String(result.body)).pid > 0, 'it ran, once, on another worker');
  assert.is(p.stats().jobs.done, 1);
  assert.is(p.stats().jobs.failed, 1);
});

test('execTimeout of a job behind another counts from when it starts, and a job with an AbortSignal is never sent ahead', async () => {
  const p = pool({ workers: 1, pipeline: true, execTimeout: 400 });
  await p.ready();
  const first = p.run(...act('sleep', 300));
  const second = p.run(...act('sleep', 300)); // 600 ms after being sent, but only 300 ms of its own
  await Promise.all([first, second]);
  const controller = new AbortController();
  const busy = p.run(...act('sleep', 200));
  const abortable = p.run(...act('sleep', 10, { signal: controller.signal }));
  await sleep(50);
  assert.is(p.stats().jobs.queued, 1, 'the abortable job stays in the queue');
  controller.abort();
  assert.instance(await abortable.then(() => null, (e) => e), AbortError);
  await busy;
});

test('a streamed job sent behind another streams in order once it runs; many jobs on two workers all settle', async () => {
  const p = pool({ workers: 2, pipeline: true });
  await p.ready();
  const parts = [];
  const ahead = [p.run(...act('sleep', 100)), p.run(...act('sleep', 100))];
  const streamed = p.run(...act('stream', '', { onChunk: (chunk) => { parts.push(String(chunk)); } }));
  const result = await within(streamed, 10000, 'the streamed job');
  assert.equal(parts, ['part 0;', 'part 1;', 'part 2;']);
  assert.is(String(result.body), 'end');
  await Promise.all(ahead);
  const many = await Promise.all(Array.from({ length: 500 }, (_, i) => p.run(`job ${i}`)));
  assert.equal(many.map((r) => String(r.body)), Array.from({ length: 500 }, (_, i) => `job ${i}`));
  assert.is(p.stats().jobs.running, 0);
});

test.run();
