// stats() timings and events, and pool.metrics(): a real pool's metrics
// in the Prometheus text format, read back by a Prometheus text parser.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Registry } from 'prom-client';
import { WorkerPool, statusText } from 'php-zygote';
import { sleep, until, within } from './helpers.mjs';

const script = fileURLToPath(new URL('./fixtures/apps/echo.php', import.meta.url));
const test = suite('observability: stats timings, events and Prometheus metrics');

let pools = [];
test.after.each(async () => {
  await Promise.all(pools.map((p) => within(p.close({ timeout: 2000 }), 15000, 'pool close')));
  pools = [];
});
function pool(options) {
  const p = new WorkerPool({ script, restartDelay: 1, ...options });
  pools.push(p);
  return p;
}
const act = (action, body = '') => [String(body), { context: { action } }];

/** name -> { labels JSON -> value } from the text format, via the parser. */
async function scrape(registry) {
  const families = parsePrometheusTextFormat(await registry.metrics());
  const byName = {};
  for (const family of families) {
    byName[family.name] = { type: family.type, samples: family.metrics };
  }
  return byName;
}
const value = (family, labels = {}) => {
  const sample = family.samples.find((m) => JSON.stringify(m.labels ?? {}) === JSON.stringify(labels));
  return sample ? Number(sample.value) : undefined;
};

test('stats() has completed, utilization and run/wait time percentiles; workerCreate and workerDestroy fire', async () => {
  const p = pool({ workers: 2 });
  const created = [];
  const destroyed = [];
  p.on('workerCreate', (info) => created.push(info));
  p.on('workerDestroy', (info) => destroyed.push(info));
  await p.ready();
  assert.is(created.length, 2);
  assert.ok(created.every((c) => c.pid > 0 && c.master > 0));
  await Promise.all(Array.from({ length: 20 }, () => p.run(...act('sleep', 20))));
  await p.run(...act('exit', 1)).catch(() => {});
  const stats = p.stats();
  assert.is(stats.completed, 21);
  assert.is(stats.runTime.count, 21);
  assert.ok(stats.runTime.p50 >= 19, `p50 run time ${stats.runTime.p50} ms for 20 ms sleeps`);
  assert.ok(stats.runTime.p99 >= stats.runTime.p50 && stats.runTime.max >= stats.runTime.p99);
  assert.ok(stats.waitTime.count === 21 && stats.waitTime.max >= 19, 'with 2 workers, some of 20 jobs waited for one');
  assert.ok(stats.utilization > 0 && stats.utilization <= 1, `utilization ${stats.utilization}`);
  await until(() => destroyed.length === 1, 5000, 'workerDestroy');
  assert.is(destroyed[0].reason, 'crashed');
});

test('metrics(): workers, queue, jobs by outcome, exits by reason, boots and time histograms, in the Prometheus text format', async () => {
  const p = pool({ workers: 2 });
  const registry = p.metrics();
  assert.instance(registry, Registry);
  assert.is(p.metrics(), registry, 'the same registry every time');
  await p.ready();
  for (let i = 0; i < 5; i++) await p.run('ok');
  await p.run(...act('throw')).catch(() => {});
  await p.run(...act('exit', 2)).catch(() => {});
  await until(() => p.stats().workers.idle === 2, 10000, 'the replacement');
  const m = await scrape(registry);
  assert.is(m.php_zygote_jobs_total.type, 'COUNTER');
  assert.is(value(m.php_zygote_jobs_total, { outcome: 'done' }), 5);
  assert.is(value(m.php_zygote_jobs_total, { outcome: 'ERR_JOB_FAILED' }), 1);
  assert.is(value(m.php_zygote_jobs_total, { outcome: 'ERR_WORKER_EXITED' }), 1);
  assert.is(value(m.php_zygote_worker_exits_total, { reason: 'crashed' }), 1);
  assert.is(value(m.php_zygote_master_boots_total), 1);
  assert.is(value(m.php_zygote_workers, { state: 'idle' }), 2);
  assert.is(value(m.php_zygote_workers, { state: 'busy' }), 0);
  assert.is(value(m.php_zygote_queue_length), 0);
  assert.is(value(m.php_zygote_state, { state: 'running' }), 1);
  assert.is(m.php_zygote_job_run_seconds.type, 'HISTOGRAM');
  assert.is(Number(m.php_zygote_job_run_seconds.samples[0].count), 7);
  assert.ok(Number(m.php_zygote_fork_seconds.samples[0].count) >= 1, 'the replacement fork was timed');
  const memory = m.php_zygote_worker_memory_bytes.samples;
  assert.ok(memory.length >= 2 && memory.every((s) => Number(s.value) > 0), 'PSS and RSS of measured workers');
});

test('metrics() registers in a registry you give, under your prefix; a bad prefix is refused naming the option', async () => {
  const registry = new Registry();
  const p = pool({ workers: 1 });
  assert.is(p.metrics({ registry, prefix: 'shop_php_' }), registry);
  await p.ready();
  await p.run('x');
  const m = await scrape(registry);
  assert.is(value(m.shop_php_jobs_total, { outcome: 'done' }), 1);
  const other = pool({ workers: 1 });
  assert.throws(() => other.metrics({ prefix: 'has space' }), (e) => e instanceof TypeError && /options\.prefix/.test(e.message));
});

test('slowlogTimeout: a job running too long gets its PHP stack logged under its worker pid, and runs on', async () => {
  const p = pool({ workers: 1, slowlogTimeout: 150 });
  const lines = [];
  p.on('log', (l) => lines.push(l));
  await p.ready();
  const result = await within(p.run(...act('spin', 600)), 10000, 'the slow job');
  assert.match(String(result.body), /^spun \d+$/, 'the job finished: the slow log does not kill');
  const pid = JSON.parse(String((await p.run(...act('whoami'))).body)).pid;
  await until(() => lines.some((l) => /spin_inner\(\)/.test(l.line)), 5000, 'the stack in the log');
  assert.ok(lines.some((l) => l.stream === 'pool' && /has run for 150 ms \(slowlogTimeout\)/.test(l.line)));
  const stack = lines.filter((l) => l.pid === pid).map((l) => l.line).join('\n');
  assert.match(stack, /php-zygote slowlog: worker \d+ is still running a job/);
  assert.match(stack, /#0 spin_inner\(\) .*echo\.php:\d+\n\s+#1 spin_outer\(\)/);
  // A quick job gets no stack.
  const before = lines.length;
  await p.run('quick');
  await sleep(300);
  assert.not.ok(lines.slice(before).some((l) => /slowlog/.test(l.line)));
});

test('status(): php-fpm\'s figures, and per worker the job it runs (its label, for how long), its last job, CPU and memory', async () => {
  const p = pool({ workers: 2 });
  await p.ready();
  const running = [1, 2, 3].map((n) => p.run(...act('sleep', 400)).then(() => {}));
  // The labelled ones: as the HTTP front labels requests.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const during = await p.status({ full: true });
  assert.is(during.active, 2);
  assert.is(during.queue, 1);
  assert.ok(during.maxQueue >= 1);
  assert.is(during.maxChildrenReached, 1, 'a job waited with all workers busy');
  assert.is(during.workers.length, 2);
  for (const w of during.workers) {
    assert.is(w.state, 'busy');
    assert.ok(w.current.ms >= 50, `running for ${w.current.ms} ms`);
    assert.ok(w.pss > 0 && w.rss >= w.pss && w.cpuSeconds >= 0);
  }
  await Promise.all(running);
  await p.run('x', { label: 'GET /labelled?x=1' });
  const after = await p.status({ full: true });
  assert.is(after.acceptedJobs, 4);
  assert.is(after.maxActive, 2);
  assert.ok(after.workers.some((w) => w.last?.label === 'GET /labelled?x=1'));
  const text = statusText(after);
  assert.match(text, /^pool:\s+php-zygote$/m);
  assert.match(text, /^accepted conn:\s+4$/m);
  assert.match(text, /^max children reached:\s+1$/m);
  assert.match(text, /^last request:\s+GET \/labelled\?x=1 \(\d+ ms\)$/m);
  const brief = await p.status();
  assert.is(brief.workers, undefined, 'rows only with full');
});

test.run();
