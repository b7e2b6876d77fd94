// workers: { max: 'auto' }: the pool grows only while the next worker fits
// in the memory budget, counting workers at their measured PSS; the budget
// is memoryBudget, or a real cgroup limit when Node runs in one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WorkerPool } from 'php-zygote';
import { until, within } from './helpers.mjs';

const script = fileURLToPath(new URL('./fixtures/apps/echo.php', import.meta.url));
const heavy = fileURLToPath(new URL('./fixtures/apps/heavy.php', import.meta.url));
const test = suite('memory budget: max auto');

let pools = [];
test.after.each(async () => {
  await Promise.all(pools.map((p) => within(p.close({ timeout: 2000 }), 15000, 'close')));
  pools = [];
});
const pool = (options) => {
  const p = new WorkerPool({ script, tick: 50, idleTimeout: 60_000, ...options });
  pools.push(p);
  return p;
};

test('with memoryBudget, the pool grows under load only as far as workers fit, counted at their PSS', async () => {
  // In a fresh Node: "in use" counts Node's own RSS, which in this test
  // process swings by tens of MB with what other suites left to collect.
  const child = spawn(process.execPath, ['-e', `
    const { WorkerPool } = require(${JSON.stringify(fileURLToPath(new URL('../dist/lib/index.js', import.meta.url)))});
    const heavy = ${JSON.stringify(heavy)};
    const until = async (check) => { while (!check()) await new Promise((r) => setTimeout(r, 20)); };
    (async () => {
      // Measure what this app costs here, then give room for a few more
      // workers (the second pool's own figures differ by a worker or so).
      const probe = new WorkerPool({ script: heavy, workers: { min: 1, max: 'auto' }, memoryBudget: '64G', tick: 50 });
      await probe.ready();
      await until(() => probe.stats().memoryBudget);
      const { used, perWorker } = probe.stats().memoryBudget;
      await probe.close();
      const budget = Math.round((used + 6 * perWorker) / 0.9);
      const p = new WorkerPool({ script: heavy, workers: { min: 1, max: 'auto', spare: 0 }, memoryBudget: budget, tick: 50, idleTimeout: 60000 });
      await p.ready();
      await until(() => p.stats().memoryBudget);
      let peak = 0;
      let allowed = 0;
      const watch = setInterval(() => {
        peak = Math.max(peak, p.stats().workers.total);
        allowed = Math.max(allowed, p.stats().memoryBudget.allowed);
      }, 10);
      await Promise.all(Array.from({ length: 12 }, () => p.run('800')));
      clearInterval(watch);
      console.log(JSON.stringify({ budget, peak, allowed, done: p.stats().jobs.done, reading: p.stats().memoryBudget }));
      await p.close();
    })();
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c) => { out += c; });
  const [code] = await within(once(child, 'exit'), 60000, 'the child');
  assert.is(code, 0);
  const { budget, peak, allowed, done, reading } = JSON.parse(out);
  assert.is(reading.source, 'memoryBudget');
  assert.is(reading.limit, budget);
  assert.ok(reading.perWorker > 20 * 1024 * 1024, `a worker measured at its PSS: ${reading.perWorker}`);
  assert.ok(peak >= 2, `grew under load (peak ${peak})`);
  assert.ok(allowed < 12, `the budget allowed fewer workers than the load wanted: ${allowed}`);
  assert.ok(peak <= allowed + 1 && peak < 12, `stayed within the budget: peak ${peak} workers, at most ${allowed} allowed (${JSON.stringify(reading)})`);
  assert.is(done, 12, 'every job ran, the rest waited');
});

test('fresh forks, small until they serve, do not let more workers in: a worker costs the highest median PSS measured', async () => {
  const { MemoryBudget } = await import(new URL('../dist/lib/pool/memory-budget.js', import.meta.url).href);
  // Stand-ins for workers: this Node process (tens of MB of PSS) and idle
  // shell processes (a few hundred KB), real processes with real PSS.
  const small = Array.from({ length: 5 }, () => spawn('sleep', ['30'], { stdio: 'ignore' }));
  try {
    await Promise.all(small.map((child) => once(child, 'spawn')));
    const budget = new MemoryBudget(8 * 1024 ** 3, 1, 256, { cgroup: null });
    const served = await budget.measure([], [process.pid, process.pid, process.pid]);
    const joined = await budget.measure([], [process.pid, process.pid, process.pid, ...small.map((c) => c.pid)]);
    assert.ok(joined.perWorker >= served.perWorker, `the cost did not fall: ${served.perWorker} then ${joined.perWorker}`);
    assert.ok(joined.allowed <= served.allowed, `no more workers allowed: ${served.allowed} then ${joined.allowed}`);
  } finally {
    for (const child of small) child.kill();
  }
});

test('an isolated pool counts each worker the budget allows as two processes: the one running a job and its ready fork', async () => {
  // The class itself (internal): its arithmetic, on one reading, is what changed.
  const { MemoryBudget } = await import(new URL('../dist/lib/pool/memory-budget.js', import.meta.url).href);
  const pids = [process.pid, process.pid, process.pid, process.pid]; // four processes of a known PSS
  const limit = 4 * 1024 ** 3;
  const expect = ({ used, perWorker }, perProcess) =>
    Math.max(1, Math.min(256, Math.floor((pids.length + Math.floor((limit * 0.9 - used) / perWorker)) / perProcess)));
  const plain = await new MemoryBudget(limit, 1, 256, { cgroup: null }).measure([], pids);
  const isolated = await new MemoryBudget(limit, 1, 256, { cgroup: null, processesPerWorker: 2 }).measure([], pids);
  assert.is(plain.allowed, expect(plain, 1));
  assert.is(isolated.allowed, expect(isolated, 2));
  assert.ok(isolated.allowed > 2 && isolated.allowed < plain.allowed, `about half: ${isolated.allowed} of ${plain.allowed}`);
});

test('options: memoryBudget needs max auto; bad values are refused naming the option', () => {
  assert.throws(() => new WorkerPool({ script, workers: 2, memoryBudget: '512M' }), (e) => /options\.memoryBudget needs workers: \{ max: 'auto' \}/.test(e.message));
  assert.throws(() => new WorkerPool({ script, workers: { max: 'auto' }, memoryBudget: 'lots' }), (e) => /options\.memoryBudget must be/.test(e.message));
  assert.throws(() => new WorkerPool({ script, workers: { max: 'many' } }), (e) => /options\.workers\.max must be a positive integer or 'auto'/.test(e.message));
});

/** A child memory cgroup (v2 or v1) with `limit` bytes, or null when this machine does not allow one. */
function makeCgroup(limit) {
  if (process.getuid() !== 0) return null;
  const lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  const v1 = lines.find((l) => l.split(':')[1].split(',').includes('memory'));
  const candidates = [];
  if (v1) candidates.push([`/sys/fs/cgroup/memory${v1.split(':')[2]}`, 'memory.limit_in_bytes']);
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (v2) candidates.push([`/sys/fs/cgroup${v2.slice(3) === '/' ? '' : v2.slice(3)}`, 'memory.max']);
  for (const [parent, file] of candidates) {
    const dir = `${parent}/php-zygote-test-${process.pid}`;
    try {
      mkdirSync(dir);
      writeFileSync(`${dir}/${file}`, String(limit));
      return dir;
    } catch {
      try { rmdirSync(dir); } catch { /* not made */ }
    }
  }
  return null;
}

const cgroupDir = makeCgroup(300 * 1024 * 1024);
if (cgroupDir) {
  test('in a container (a real memory cgroup of 300 MB), max auto reads its limit and use', async () => {
    const child = spawn('sh', ['-c', `echo $$ > ${cgroupDir}/cgroup.procs && exec "$0" -e "$1"`, process.execPath, `
      const { WorkerPool } = require(${JSON.stringify(fileURLToPath(new URL('../dist/lib/index.js', import.meta.url)))});
      const pool = new WorkerPool({ script: ${JSON.stringify(script)}, workers: { min: 1, max: 'auto' }, tick: 50 });
      pool.ready().then(async () => {
        while (!pool.stats().memoryBudget) await new Promise((r) => setTimeout(r, 20));
        console.log(JSON.stringify(pool.stats().memoryBudget));
        await pool.close();
      });
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    const [code] = await within(once(child, 'exit'), 20000, 'the child');
    try { rmdirSync(cgroupDir); } catch { /* still busy */ }
    assert.is(code, 0);
    const reading = JSON.parse(out);
    assert.is(reading.source, 'cgroup');
    assert.is(reading.limit, 300 * 1024 * 1024);
    assert.ok(reading.used > 20 * 1024 * 1024 && reading.used < reading.limit, `the group's own use: ${reading.used}`);
    const fit = Math.floor((reading.limit * 0.9 - reading.used) / reading.perWorker);
    assert.ok(Math.abs(reading.allowed - Math.min(256, 1 + fit)) <= 1, JSON.stringify(reading));
  });
} else {
  test.skip('a real memory cgroup (needs root and a writable cgroup tree)');
}

test.run();
