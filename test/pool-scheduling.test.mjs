// The pool's scheduling, scaling, back-off and crash-loop recovery, on a
// fake master (WorkerPool's startMaster hook): no PHP, no kernel, so each
// rule is tested exactly. What the kernel and PHP do is tested for real in
// worker-pool.test.mjs and master.test.mjs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { CrashLoopError, MasterStartError, PoolClosedError, WorkerExitedError, WorkerPool } from 'php-zygote';
import { sleep, until, within } from './helpers.mjs';

const script = fileURLToPath(new URL('./fixtures/apps/echo.php', import.meta.url));
const test = suite('WorkerPool scheduling on a fake master');

let nextPid = 100_000;
/** Answers of 'hold' jobs, waiting for releaseHeld(). */
const held = [];
const releaseHeld = () => held.splice(0).forEach((answer) => answer());

/**
 * A worker that answers jobs by their body: 'crash' exits 1, 'hang' never
 * answers, 'hold' answers at releaseHeld(), anything else echoes.
 */
class FakeWorker extends EventEmitter {
  exitSeen = false;
  #settleExit;
  #pending = new Set();
  constructor(log) {
    super();
    this.pid = nextPid++;
    this.log = log;
    this.exited = new Promise((resolve) => (this.#settleExit = resolve));
  }
  run(body) {
    this.log.push(['run', this.pid, String(body)]);
    return new Promise((resolve, reject) => {
      const job = { resolve, reject };
      this.#pending.add(job);
      if (String(body) === 'crash') setImmediate(() => this.die(1, null));
      else if (String(body) === 'hold') held.push(() => { if (this.#pending.delete(job)) resolve({ body: Buffer.from(body), context: {} }); });
      else if (String(body) !== 'hang') setImmediate(() => { this.#pending.delete(job); resolve({ body: Buffer.from(body), context: {} }); });
    });
  }
  die(code, signal) {
    if (this.exitSeen) return;
    this.exitSeen = true;
    this.log.push(['died', this.pid, Date.now(), code]);
    for (const job of this.#pending) job.reject(new WorkerExitedError(this.pid, code, signal, []));
    this.#pending.clear();
    setImmediate(() => this.#settleExit({ pid: this.pid, code, signal }));
  }
  kill(signal) {
    if (this.exitSeen) return false;
    this.die(null, signal);
    return true;
  }
  close() {
    this.die(0, null);
    return this.exited;
  }
}

class FakeMaster extends EventEmitter {
  alive = true;
  workers = [];
  constructor(log) {
    super();
    this.pid = nextPid++;
    this.log = log;
    this.exited = new Promise((resolve) => (this.die = () => { this.alive = false; resolve({}); }));
  }
  async fork() {
    if (!this.alive) throw new Error('master is dead');
    const worker = new FakeWorker(this.log);
    this.workers.push(worker);
    this.log.push(['fork', worker.pid, Date.now()]);
    return worker;
  }
  async close() {
    for (const w of this.workers) w.kill('SIGKILL');
    this.die();
  }
  lastLogs() {
    return [];
  }
}

/** A pool on fake masters; `boots` fail with MasterStartError while `bootFails.value` is true. */
function fakePool(options = {}) {
  const log = [];
  const masters = [];
  const bootFails = { value: false };
  const pool = new WorkerPool({ script, workers: 1, adoptOrphans: false, ...options }, {
    startMaster: async () => {
      log.push(['boot', Date.now()]);
      if (bootFails.value) throw new MasterStartError('the app did not boot', ['PHP Parse error: syntax error']);
      const master = new FakeMaster(log);
      masters.push(master);
      return master;
    },
  });
  pools.push(pool);
  return { pool, log, masters, bootFails };
}

let pools = [];
test.after.each(async () => {
  await Promise.all(pools.map((p) => within(p.close({ timeout: 500 }), 5000, 'pool close')));
  pools = [];
  held.length = 0;
});

/** The invariants stats() must hold at every moment a user can observe. */
function assertCoherent(stats, when) {
  const { workers, jobs } = stats;
  assert.is(jobs.running, workers.busy, `${when}: running jobs ${jobs.running} but busy workers ${workers.busy}`);
  assert.is(workers.total, workers.starting + workers.idle + workers.busy + workers.retiring, `${when}: total is not the sum of the states`);
  assert.is(workers.idle + workers.busy + workers.retiring, stats.list.length, `${when}: the list disagrees`);
}

test('counters agree at every moment: right after run() settles, and while jobs run, fail and are killed', async () => {
  const { pool } = fakePool({ workers: { min: 1, max: 3 }, execTimeout: 50 });
  await pool.ready();
  await pool.run('one');
  assert.is(pool.stats().jobs.done, 1);
  assert.is(pool.stats().jobs.running, 0);
  assert.is(pool.stats().workers.busy, 0);
  const bodies = ['a', 'crash', 'b', 'hang', 'c', 'crash', 'd', 'e'];
  const all = bodies.map((body) => pool.run(body).then(
    () => assertCoherent(pool.stats(), `after ${body} resolved`),
    () => assertCoherent(pool.stats(), `after ${body} rejected`),
  ));
  assertCoherent(pool.stats(), 'with jobs queued');
  await within(Promise.all(all), 5000, 'all jobs settled');
  const { jobs } = pool.stats();
  assert.is(jobs.done + jobs.failed, 1 + bodies.length);
  assert.is(jobs.failed, 3, 'two crashes and one execTimeout');
});

test('a crashed worker is replaced after restartDelay, and the delay doubles per crash in a row', async () => {
  const { pool, log } = fakePool({ restartDelay: 100, crashLimit: 100 });
  await pool.ready();
  const forkTimes = () => log.filter((e) => e[0] === 'fork').map((e) => e[2]);
  const crashedAt1 = Date.now();
  await pool.run('crash').catch(() => {});
  await until(() => forkTimes().length === 2, 5000, 'the first replacement');
  // Timers never fire early, so these lower bounds cannot flake.
  assert.ok(forkTimes()[1] - crashedAt1 >= 99, `replaced after ${forkTimes()[1] - crashedAt1} ms, before restartDelay`);
  const crashedAt2 = Date.now();
  await pool.run('crash').catch(() => {});
  await until(() => forkTimes().length === 3, 5000, 'the second replacement');
  assert.ok(forkTimes()[2] - crashedAt2 >= 199, `second replacement after ${forkTimes()[2] - crashedAt2} ms, before 2 x restartDelay`);
  // A job answered resets the back-off.
  await pool.run('fine');
  const crashedAt3 = Date.now();
  await pool.run('crash').catch(() => {});
  await until(() => forkTimes().length === 4, 5000, 'the third replacement');
  assert.ok(forkTimes()[3] - crashedAt3 >= 99 && forkTimes()[3] - crashedAt3 < 1000, 'back to restartDelay after a success');
});

test('a crash loop fails new jobs fast, then a fresh master is booted after recoveryDelay and the pool serves again', async () => {
  const { pool, log } = fakePool({ restartDelay: 1, crashLimit: 3, recoveryDelay: 200 });
  const errors = [];
  let loopAt = 0;
  pool.on('error', (e) => {
    errors.push(e);
    loopAt ||= Date.now();
  });
  await pool.ready();
  for (let i = 0; i < 3; i++) await pool.run('crash').catch(() => {});
  await until(() => errors.length === 1, 5000, 'the crash loop');
  assert.instance(errors[0], CrashLoopError);
  assert.is(pool.stats().state, 'crash-loop');
  assert.instance(await pool.run('x').then(() => null, (e) => e), CrashLoopError, 'jobs fail fast meanwhile');
  const bootsBefore = log.filter((e) => e[0] === 'boot').length;
  await until(() => pool.stats().state === 'running', 5000, 'recovery');
  const recoveredBoot = log.filter((e) => e[0] === 'boot')[bootsBefore];
  assert.ok(recoveredBoot[1] - loopAt >= 199, 'not before recoveryDelay');
  assert.is(String((await within(pool.run('back'), 5000, 'a job after recovery')).body), 'back');
});

test('a recovery whose master cannot boot is reported as MasterStartError and retried later, at a growing interval', async () => {
  const { pool, log, bootFails } = fakePool({ restartDelay: 1, crashLimit: 2, recoveryDelay: 100 });
  const errors = [];
  pool.on('error', (e) => errors.push(e));
  await pool.ready();
  bootFails.value = true;
  for (let i = 0; i < 2; i++) await pool.run('crash').catch(() => {});
  await until(() => errors.filter((e) => e instanceof MasterStartError).length >= 2, 5000, 'two failed recoveries');
  assert.instance(errors[0], CrashLoopError);
  const boots = log.filter((e) => e[0] === 'boot').map((e) => e[1]);
  const gaps = boots.slice(1).map((t, i) => t - boots[i]);
  assert.ok(gaps.at(-1) >= 199, `the second recovery waited ${gaps.at(-1)} ms, not twice recoveryDelay`);
  bootFails.value = false;
  await until(() => pool.stats().state === 'running', 5000, 'recovery once the app boots again');
  assert.is(String((await pool.run('ok')).body), 'ok');
});

test('reload() ends a crash loop at once', async () => {
  const { pool } = fakePool({ restartDelay: 1, crashLimit: 2, recoveryDelay: 60_000 });
  pool.on('error', () => {});
  await pool.ready();
  for (let i = 0; i < 2; i++) await pool.run('crash').catch(() => {});
  await until(() => pool.stats().state === 'crash-loop', 5000, 'the crash loop');
  await within(pool.reload(), 5000, 'reload');
  assert.is(pool.stats().state, 'running');
  assert.is(String((await pool.run('again')).body), 'again');
});

test('jobs run FIFO, each on the least recently used idle worker', async () => {
  const { pool, log } = fakePool({ workers: 3 });
  await pool.ready();
  for (const body of ['1', '2', '3', '4', '5', '6']) await pool.run(body);
  const runs = log.filter((e) => e[0] === 'run');
  assert.equal(runs.map((e) => e[2]), ['1', '2', '3', '4', '5', '6']);
  const pids = runs.map((e) => e[1]);
  assert.is(new Set(pids.slice(0, 3)).size, 3, 'three workers in turn');
  assert.equal(pids.slice(3), pids.slice(0, 3), 'then the same order again');
});

test('close() rejects queued jobs, waits for running ones and for forks in flight', async () => {
  const { pool } = fakePool({ workers: 1 });
  await pool.ready();
  const running = pool.run('slow-but-fine');
  const queued = pool.run('queued');
  const closing = pool.close({ timeout: 1000 });
  assert.instance(await queued.then(() => null, (e) => e), PoolClosedError);
  assert.is(String((await running).body), 'slow-but-fine');
  await within(closing, 5000, 'close');
  assert.is(pool.stats().state, 'closed');
  assert.is(pool.stats().workers.total, 0);
  await sleep(10);
});

test('isolated: the running jobs\' successors are forked while they run, and no more than max jobs run however many wait', async () => {
  const { pool, log } = fakePool({ workers: 2, isolated: true });
  let mostRunning = 0;
  const look = (when) => {
    const stats = pool.stats();
    assertCoherent(stats, when);
    mostRunning = Math.max(mostRunning, stats.jobs.running);
  };
  pool.on('workerCreate', () => look('at a workerCreate'));
  pool.on('workerDestroy', () => look('at a workerDestroy'));
  await pool.ready();
  const jobs = Array.from({ length: 8 }, (_, i) => pool.run('hold').then(() => look(`after job ${i}`)));
  for (const job of jobs) job.catch(() => {}); // if an assertion fails, the close that follows is not the news
  look('with 8 jobs submitted');
  for (let round = 0; round < 4; round++) {
    await until(() => held.length === 2 && pool.stats().workers.idle === 2, 5000, `round ${round}: two jobs held, two ready forks`);
    assert.equal(pool.stats().workers, { total: 4, starting: 0, idle: 2, busy: 2, retiring: 0 });
    assert.is(pool.stats().jobs.queued, 6 - 2 * round);
    assert.is(log.filter((e) => e[0] === 'run').length, 2 * (round + 1), 'jobs sent to workers: only as many as max');
    releaseHeld();
  }
  await within(Promise.all(jobs), 5000, 'every job');
  assert.is(mostRunning, 2);
  assert.is(pool.stats().jobs.done, 8);
  // Each job had a worker of its own; two more stand ready.
  await until(() => pool.stats().workers.idle === 2 && pool.stats().workers.total === 2, 5000, 'the pool at rest');
  assert.is(log.filter((e) => e[0] === 'fork').length, 10);
});

test('isolated with max auto: the memory budget caps the running jobs, and the ready forks, at what it allows', async () => {
  // A budget nothing fits in: the pool keeps its minimum, one worker.
  const { pool, log } = fakePool({ workers: { min: 1, max: 'auto' }, memoryBudget: '1M', tick: 10, isolated: true });
  await pool.ready();
  await until(() => pool.stats().memoryBudget !== null, 5000, 'a budget reading');
  assert.is(pool.stats().memoryBudget.allowed, 1);
  const jobs = Array.from({ length: 3 }, () => pool.run('hold'));
  for (const job of jobs) job.catch(() => {}); // awaited below; a failed assertion first is the news
  for (let round = 0; round < 3; round++) {
    await until(() => held.length === 1 && pool.stats().workers.idle === 1, 5000, `round ${round}: one job held, one ready fork`);
    assert.equal(pool.stats().workers, { total: 2, starting: 0, idle: 1, busy: 1, retiring: 0 });
    assert.is(pool.stats().jobs.queued, 2 - round);
    assert.is(log.filter((e) => e[0] === 'run').length, round + 1);
    releaseHeld();
  }
  await within(Promise.all(jobs), 5000, 'every job');
});

test('isolated: workers that die at their first job still wait out the back-off before each fork', async () => {
  const restartDelay = 40;
  const { pool, log } = fakePool({ workers: 1, isolated: true, restartDelay, crashLimit: 100 });
  pool.on('exit', ({ pid, reason }) => log.push(['exit', pid, Date.now(), reason]));
  await pool.ready();
  const results = await within(Promise.all(Array.from({ length: 5 }, () => pool.run('crash').then(() => null, (e) => e))), 10000, 'every job');
  for (const error of results) assert.instance(error, WorkerExitedError);
  // In the order things happened: no fork while a worker that died on its
  // own waits for its exit (where its crash is recorded), and none sooner
  // than restartDelay after the last crash recorded (timers never fire early).
  const dying = new Set();
  let lastCrash = null;
  let forks = 0;
  for (const [what, pid, at, detail] of log) {
    if (what === 'died' && detail === 1) dying.add(pid);
    if (what === 'exit' && detail === 'crashed') {
      dying.delete(pid);
      lastCrash = at;
    }
    if (what !== 'fork') continue;
    forks++;
    assert.is(dying.size, 0, `fork ${forks} came while a crashed worker's exit was not in`);
    if (lastCrash !== null) assert.ok(at - lastCrash >= restartDelay - 1, `fork ${forks} came ${at - lastCrash} ms after a crash (restartDelay ${restartDelay})`);
  }
  assert.ok(forks <= results.length + 2, `${forks} forks for ${results.length} jobs`);
});

test('isolated: close() forks nothing more, retires the ready forks, lets running jobs finish and rejects queued ones', async () => {
  const { pool, log, masters } = fakePool({ workers: 2, isolated: true });
  await pool.ready();
  const running = [pool.run('hold'), pool.run('hold')];
  for (const job of running) job.catch(() => {}); // awaited below; a failed assertion first is the news
  const queued = pool.run('queued');
  await until(() => held.length === 2 && pool.stats().workers.idle === 2, 5000, 'two jobs held, two ready forks');
  const forksBefore = log.filter((e) => e[0] === 'fork').length;
  const closing = pool.close({ timeout: 5000 });
  assert.instance(await queued.then(() => null, (e) => e), PoolClosedError);
  await until(() => pool.stats().workers.retiring === 2 && pool.stats().workers.busy === 2, 5000, 'the ready forks retiring');
  releaseHeld();
  for (const job of running) assert.is(String((await within(job, 5000, 'a running job')).body), 'hold');
  await within(closing, 5000, 'close');
  assert.is(log.filter((e) => e[0] === 'fork').length, forksBefore, 'no fork once closing');
  assert.is(pool.stats().workers.total, 0);
  assert.ok(masters.flatMap((m) => m.workers).every((w) => w.exitSeen), 'every worker exited');
});

test('isolated: reload() forks one ready set from the new master; the running jobs finish on the old one', async () => {
  const { pool, masters } = fakePool({ workers: 2, isolated: true });
  const created = [];
  pool.on('workerCreate', (info) => created.push(info));
  await pool.ready();
  const running = [pool.run('hold'), pool.run('hold')];
  for (const job of running) job.catch(() => {}); // awaited below; a failed assertion first is the news
  await until(() => held.length === 2 && pool.stats().workers.idle === 2, 5000, 'two jobs held, two ready forks');
  const reloading = pool.reload();
  await until(() => masters.length === 2 && pool.stats().workers.idle === 2 && created.some((c) => c.master === masters[1].pid), 5000, 'ready forks of the new master');
  releaseHeld();
  await within(Promise.all(running), 5000, 'the running jobs');
  await within(reloading, 5000, 'reload');
  assert.is(created.filter((c) => c.master === masters[1].pid).length, 2, 'the new master forked the ready set once');
  assert.equal(pool.stats().workers, { total: 2, starting: 0, idle: 2, busy: 0, retiring: 0 });
  assert.is(String((await pool.run('after')).body), 'after');
});

test.run();
