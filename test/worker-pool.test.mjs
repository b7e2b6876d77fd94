import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AbortError, CrashLoopError, JobTimeoutError, MasterStartError, PoolClosedError, ProtocolError, QueueFullError,
  QueueTimeoutError, WorkerExitedError, WorkerPool,
} from 'php-zygote';
import { parentPid, procState, sleep, until, within } from './helpers.mjs';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const script = `${fixtures}apps/echo.php`;
const test = suite('WorkerPool: scheduling, supervision and guarantees');

let pools = [];
function pool(options) {
  const p = new WorkerPool({ script, ...options });
  pools.push(p);
  return p;
}
test.after.each(async () => {
  await Promise.all(pools.map((p) => within(p.close({ timeout: 2000 }), 15000, 'pool close')));
  pools = [];
});

const act = (action, body = '', extra = {}) => [String(body), { context: { action }, ...extra }];
const pidOf = async (promise) => Number(String((await promise).body));
const exits = (p) => {
  const list = [];
  p.on('exit', (e) => list.push(e));
  return list;
};

test('ready() boots the master and the minimum workers; run() returns the response', async () => {
  const p = pool({ workers: 2 });
  await within(p.ready(), 20000, 'ready');
  assert.equal(p.stats().workers, { total: 2, starting: 0, idle: 2, busy: 0, retiring: 0 });
  assert.is(String((await p.run('hello')).body), 'hello');
  assert.is(p.stats().jobs.done, 1);
});

test('jobs run one at a time per worker, in FIFO order', async () => {
  const p = pool({ workers: 1 });
  await p.ready();
  const order = [];
  await Promise.all([0, 1, 2, 3, 4].map((i) => p.run(...act('sleep', 20)).then(() => order.push(i))));
  assert.equal(order, [0, 1, 2, 3, 4]);
});

test('the least recently used idle worker gets the next job', async () => {
  const p = pool({ workers: 3 });
  await p.ready();
  const who = [];
  for (let i = 0; i < 6; i++) who.push(JSON.parse(String((await p.run(...act('whoami'))).body)).pid);
  assert.is(new Set(who.slice(0, 3)).size, 3, 'three different workers in a row');
  assert.equal(who.slice(3), who.slice(0, 3), 'then the same rotation');
});

test('maxJobs recycles a worker after its last job, and the job still succeeds', async () => {
  const p = pool({ workers: 1, maxJobs: 3 });
  const gone = exits(p);
  await p.ready();
  const pids = [];
  for (let i = 0; i < 7; i++) pids.push(JSON.parse(String((await p.run(...act('whoami'))).body)).pid);
  assert.is(new Set(pids).size, 3);
  assert.equal(pids.slice(0, 3), [pids[0], pids[0], pids[0]]);
  await until(() => gone.length >= 2, 5000, 'two recycles');
  assert.ok(gone.every((e) => e.reason === 'maxJobs' && e.code === 0 && e.jobs === 3));
});

test('a handler that leaks memory is recycled at maxMemory, after its job', async () => {
  const p = pool({ workers: 1, maxMemory: '48M', ini: { memory_limit: '512M' } });
  const gone = exits(p);
  await p.ready();
  const pids = [];
  for (let i = 0; i < 6; i++) pids.push(await pidOf(p.run(...act('leak', 16 * 1024 * 1024))));
  await until(() => gone.length >= 1, 5000, 'a recycle');
  assert.is(gone[0].reason, 'maxMemory');
  assert.ok(gone[0].jobs >= 2 && gone[0].jobs <= 4, `recycled after ${gone[0].jobs} jobs of 16 MB`);
  assert.ok(new Set(pids).size >= 2);
});

test('an infinite loop is killed at execTimeout and the next job runs on a new worker', async () => {
  const p = pool({ workers: 1, execTimeout: 300 });
  const gone = exits(p);
  await p.ready();
  const first = JSON.parse(String((await p.run(...act('whoami'))).body)).pid;
  const err = await p.run(...act('loop')).then(() => null, (e) => e);
  assert.instance(err, JobTimeoutError);
  assert.is(err.code, 'ERR_JOB_TIMEOUT');
  const nextJob = await within(p.run(...act('whoami')), 10000, 'next job');
  const next = JSON.parse(String(nextJob.body)).pid;
  assert.is.not(next, first);
  await until(() => gone.length === 1, 5000, 'the exit event');
  assert.equal([gone[0].reason, gone[0].signal], ['execTimeout', 'SIGKILL']);
  assert.is(procState(first), null);
});

test('a per-job timeout overrides execTimeout', async () => {
  const p = pool({ workers: 1 });
  await p.ready();
  const err = await p.run(...act('sleep', 5000, { timeout: 100 })).then(() => null, (e) => e);
  assert.instance(err, JobTimeoutError);
  assert.is(err.timeout, 100);
});

test('AbortSignal cancels a queued job and kills a running one', async () => {
  const p = pool({ workers: 1 });
  const gone = exits(p);
  await p.ready();
  const running = new AbortController();
  const queued = new AbortController();
  const a = p.run(...act('sleep', 10000, { signal: running.signal }));
  const b = p.run(...act('set-global', 'should never run', { signal: queued.signal }));
  await sleep(50);
  queued.abort();
  const errB = await b.then(() => null, (e) => e);
  assert.instance(errB, AbortError);
  assert.is(errB.name, 'AbortError');
  running.abort('changed my mind');
  const errA = await a.then(() => null, (e) => e);
  assert.instance(errA, AbortError);
  assert.is(errA.cause, 'changed my mind');
  await until(() => gone.length === 1, 5000, 'the aborted worker to exit');
  assert.equal([gone[0].reason, gone[0].signal], ['aborted', 'SIGKILL']);
  assert.is(String((await p.run(...act('get-global'))).body), 'null', 'the queued job never ran');
  const already = AbortSignal.abort();
  assert.instance(await p.run('x', { signal: already }).then(() => null, (e) => e), AbortError);
});

test('maxQueue rejects with QueueFullError, queueTimeout with QueueTimeoutError', async () => {
  const p = pool({ workers: 1, maxQueue: 2, queueTimeout: 200 });
  await p.ready();
  const busy = p.run(...act('sleep', 600));
  const waiting = [p.run('q1'), p.run('q2')];
  const full = await p.run('q3').then(() => null, (e) => e);
  assert.instance(full, QueueFullError);
  assert.is(full.code, 'ERR_QUEUE_FULL');
  for (const w of waiting) assert.instance(await w.then(() => null, (e) => e), QueueTimeoutError);
  await busy;
});

test('a worker crashing mid-job rejects that job with its exit code and last output, and is replaced', async () => {
  const p = pool({ workers: 1 });
  const gone = exits(p);
  await p.ready();
  const err = await p.run(...act('fatal')).then(() => null, (e) => e);
  assert.instance(err, WorkerExitedError);
  assert.is(err.exitCode, 255);
  assert.match(err.logs.join('\n'), /Allowed memory size/);
  const after = await within(p.run('after'), 10000, 'a job on the replacement');
  assert.is(String(after.body), 'after');
  assert.is(gone[0].reason, 'crashed');
});

test('a crashed worker is replaced only after restartDelay (back-off)', async () => {
  const p = pool({ workers: 1, restartDelay: 1000, crashLimit: 100 });
  await p.ready();
  const crashedAt = Date.now();
  await p.run(...act('exit', 1)).catch(() => {});
  await until(() => p.stats().workers.idle === 1, 10000, 'the replacement');
  // A lower bound only: timers never fire early, so this cannot flake.
  // (The back-off's doubling is tested exactly in pool-scheduling.test.mjs.)
  assert.ok(Date.now() - crashedAt >= 1000, 'replaced after the delay');
});

test('scales up under load to max, and back down to min after the idle timeout', async () => {
  const p = pool({ workers: { min: 1, max: 4, spare: 0 }, idleTimeout: 300, tick: 50 });
  await p.ready();
  assert.is(p.stats().workers.total, 1);
  const load = Array.from({ length: 8 }, () => p.run(...act('sleep', 300)));
  await until(() => p.stats().workers.total === 4, 10000, 'scale up to 4');
  const pids = new Set(await Promise.all(load.map(pidOf)));
  assert.is(pids.size, 4);
  await until(() => p.stats().workers.total === 1, 10000, 'scale down to 1');
});

test('a script that cannot boot fails ready() and stops at crashLimit instead of looping', async () => {
  const p = pool({ script: `${fixtures}boot-fails.php`, workers: 1, crashLimit: 3, restartDelay: 10 });
  const err = await p.ready().then(() => null, (e) => e);
  assert.instance(err, MasterStartError);
  // The job waits while the pool retries the boot, and fails once the
  // retries make a crash loop.
  const loop = await within(p.run('x').then(() => null, (e) => e), 20000, 'the crash loop to be declared');
  assert.instance(loop, CrashLoopError);
  assert.match(loop.message, /crashLimit 3/);
  assert.instance(await p.run('y').then(() => null, (e) => e), CrashLoopError, 'new jobs fail fast');
});

test('workers that keep crashing trip the crash-loop limit', async () => {
  const p = pool({ workers: 1, crashLimit: 3, restartDelay: 10 });
  await p.ready();
  const errors = [];
  p.on('error', (e) => errors.push(e));
  for (let i = 0; i < 3; i++) await p.run(...act('exit', 1)).catch(() => {});
  await until(() => errors.length === 1, 10000, 'the error event');
  assert.instance(errors[0], CrashLoopError);
  assert.is(errors[0].code, 'ERR_CRASH_LOOP');
  assert.instance(await p.run('x').then(() => null, (e) => e), CrashLoopError);
  await within(p.reload(), 20000, 'reload after the crash loop');
  assert.is(String((await p.run('back')).body), 'back', 'reload() brings a stopped pool back');
});

test('the counters agree the moment run() resolves, with and without maxMemory', async () => {
  for (const options of [{}, { maxMemory: '1G' }]) {
    const p = pool({ workers: 1, ...options });
    await p.ready();
    await p.run('x');
    const { jobs, workers } = p.stats();
    assert.equal([jobs.done, jobs.running, workers.busy, workers.idle], [1, 0, 0, 1], JSON.stringify(options));
  }
});

test('a worker killed while writing a frame is a WorkerExitedError with its signal, counted as a crash', async () => {
  const p = pool({ workers: 1 });
  const gone = exits(p);
  await p.ready();
  const err = await p.run(...act('truncate', 'kill')).then(() => null, (e) => e);
  assert.instance(err, WorkerExitedError);
  assert.is(err.signal, 'SIGKILL');
  await until(() => gone.length === 1, 5000, 'the exit event');
  assert.is(gone[0].reason, 'crashed');
  assert.is(String((await within(p.run('after'), 10000, 'the replacement')).body), 'after');
});

test('a worker that exits 0 in the middle of a frame broke the protocol: ProtocolError', async () => {
  const p = pool({ workers: 1 });
  await p.ready();
  const err = await p.run(...act('truncate', 'exit0')).then(() => null, (e) => e);
  assert.instance(err, ProtocolError);
  assert.match(err.message, /exited 0 in the middle of writing a frame/);
});

test('after a crash loop a fresh master is tried after recoveryDelay, and the pool serves again', async () => {
  const p = pool({ workers: 1, crashLimit: 2, restartDelay: 10, recoveryDelay: 300 });
  const errors = [];
  p.on('error', (e) => errors.push(e));
  await p.ready();
  for (let i = 0; i < 2; i++) await p.run(...act('exit', 1)).catch(() => {});
  await until(() => errors.length === 1, 10000, 'the crash loop');
  assert.instance(errors[0], CrashLoopError);
  assert.instance(await p.run('x').then(() => null, (e) => e), CrashLoopError);
  await until(() => p.stats().state === 'running', 10000, 'the recovery');
  assert.is(String((await within(p.run('back'), 10000, 'a job after the recovery')).body), 'back');
});

test('isolated mode gives every job a fresh fork: globals never leak between jobs', async () => {
  const p = pool({ workers: 2, isolated: true });
  await p.ready();
  const a = await pidOf(p.run(...act('set-global', 'secret of job 1')));
  assert.is(String((await p.run(...act('get-global'))).body), 'null');
  assert.is(String((await p.run(...act('get-global'))).body), 'null');
  const b = await pidOf(p.run(...act('set-global', 'x')));
  assert.is.not(a, b);
  await until(() => p.stats().workers.idle === 2, 5000, 'spare forks ready again');
});

test('isolated mode forks each running job\'s successor while it runs, runs at most max jobs at once, and close() leaves no process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ready-forks-'));
  try {
    const p = pool({ workers: 2, isolated: true });
    const created = [];
    const destroyed = [];
    p.on('workerCreate', ({ pid }) => created.push(pid));
    p.on('workerDestroy', ({ pid }) => destroyed.push(pid));
    await p.ready();
    assert.is(created.length, 2);
    // Six jobs that run until the gate opens: two run, four wait.
    let settled = 0;
    const jobs = Array.from({ length: 6 }, () => p.run(...act('gate', dir)).then((r) => { settled++; return Number(String(r.body)); }));
    for (const job of jobs) job.catch(() => {}); // a failed assertion below closes the pool: its jobs' rejections are not the news
    await until(() => p.stats().workers.idle === 2 && p.stats().jobs.running === 2, 10000, 'two ready forks while two jobs run');
    assert.is(settled, 0, 'no job ended: the ready forks were forked while the jobs ran, not after them');
    assert.is(created.length, 4);
    assert.equal(p.stats().workers, { total: 4, starting: 0, idle: 2, busy: 2, retiring: 0 });
    assert.is(p.stats().jobs.queued, 4, 'idle ready forks do not take jobs beyond max');
    for (const pid of created.slice(2)) assert.ok(procState(pid) !== null, `ready fork ${pid} is a live process`);
    await until(() => readFileSync(join(dir, 'count'), 'utf8') === '2 2', 10000, 'PHP to count both running jobs');
    writeFileSync(join(dir, 'open'), '');
    const pids = await within(Promise.all(jobs), 20000, 'every job');
    assert.is(new Set(pids).size, 6, 'a fresh fork per job');
    const [now, peak] = readFileSync(join(dir, 'count'), 'utf8').split(' ').map(Number);
    assert.is(now, 0);
    assert.is(peak, 2, 'PHP never saw more than max jobs at once');
    await within(p.close(), 15000, 'close');
    assert.equal(p.stats().workers, { total: 0, starting: 0, idle: 0, busy: 0, retiring: 0 });
    assert.equal([...destroyed].sort(), [...created].sort(), 'every worker created was destroyed');
    for (const pid of created) assert.is(procState(pid), null, `worker ${pid} was reaped`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reload under continuous load loses nothing and replaces every worker', async () => {
  const p = pool({ workers: 2 });
  await p.ready();
  const before = new Set(p.stats().list.map((w) => w.pid));
  let stop = false;
  let ok = 0;
  const failures = [];
  const load = (async () => {
    while (!stop) {
      await Promise.all([0, 1, 2].map(() => p.run(...act('sleep', 5)).then(() => ok++, (e) => failures.push(e))));
    }
  })();
  await sleep(100);
  await within(p.reload(), 20000, 'reload');
  await sleep(100);
  stop = true;
  await load;
  assert.equal(failures, []);
  assert.ok(ok > 10);
  const after = p.stats().list.map((w) => w.pid);
  assert.ok(after.every((pid) => !before.has(pid)), 'all workers are new');
  assert.is(p.stats().masters, 1);
});

test('close() lets in-flight jobs finish, rejects queued ones, and leaves no process', async () => {
  const p = pool({ workers: 1 });
  await p.ready();
  const { list } = p.stats();
  const inFlight = p.run(...act('sleep', 200));
  const queued = p.run('never');
  await sleep(50);
  const closing = p.close();
  assert.instance(await queued.then(() => null, (e) => e), PoolClosedError);
  assert.ok(Number(String((await inFlight).body)) > 0, 'the in-flight job finished');
  await closing;
  assert.instance(await p.run('late').then(() => null, (e) => e), PoolClosedError);
  for (const w of list) assert.is(procState(w.pid), null, `worker ${w.pid} is gone, not a zombie`);
});

test('close() kills jobs that outlast its timeout', async () => {
  const p = pool({ workers: 1 });
  await p.ready();
  const stuck = p.run(...act('loop')).then(() => null, (e) => e);
  await sleep(50);
  await within(p.close({ timeout: 200 }), 5000, 'close with timeout');
  const err = await stuck;
  assert.instance(err, WorkerExitedError);
  assert.is(err.signal, 'SIGKILL');
});

test('a SIGKILLed master orphans no worker: in-flight jobs finish, workers are reaped, a new master takes over', async () => {
  const p = pool({ workers: 2, crashLimit: 100 });
  const gone = exits(p);
  await p.ready();
  const oldWorkers = p.stats().list.map((w) => w.pid);
  const masterPid = JSON.parse(String((await p.run(...act('whoami'))).body)).ppid;
  const inFlight = [p.run(...act('sleep', 300)), p.run(...act('sleep', 300))];
  await sleep(50);
  process.kill(masterPid, 'SIGKILL');
  const results = await within(Promise.all(inFlight), 10000, 'in-flight jobs');
  assert.equal(results.map((r) => Number(String(r.body))).sort(), [...oldWorkers].sort(), 'both finished on the old workers');
  const after = await within(p.run(...act('whoami')), 20000, 'a job after the master died');
  const who = JSON.parse(String(after.body));
  await until(() => oldWorkers.every((pid) => procState(pid) === null), 10000, 'old workers to be reaped');
  assert.is.not(who.bootPid, masterPid, 'served by a worker of a new master');
  assert.ok(gone.filter((e) => oldWorkers.includes(e.pid)).every((e) => e.reason === 'orphaned' && e.code === 0));
  await until(() => procState(masterPid) === null, 5000, 'the killed master to be reaped');
});

test('processes a worker started and abandoned are reaped by Node, not left as zombies', async () => {
  const p = pool({ workers: 1 });
  await p.ready();
  const orphan = Number(String((await p.run(...act('spawn-orphan'))).body));
  assert.ok(orphan > 0);
  await until(() => parentPid(orphan) === process.pid || procState(orphan) === null, 5000, 'the orphan to reparent to Node');
  await until(() => procState(orphan) === null, 5000, 'the orphan to be reaped after it exits');
});

test('close() ends what the workers started in the background: nothing outlives the pool', async () => {
  const p = pool({ workers: 2 });
  await p.ready();
  const pids = await Promise.all([p.run(...act('spawn-background')), p.run(...act('spawn-background'))].map(pidOf));
  for (const pid of pids) assert.ok(procState(pid) !== null, 'the background process runs');
  await within(p.close(), 10000, 'close');
  for (const pid of pids) assert.is(procState(pid), null, `background process ${pid} is gone, not even a zombie`);
});

test('close() ends background processes even after their master died first', async () => {
  const p = pool({ workers: 1 });
  await p.ready();
  const pid = await pidOf(p.run(...act('spawn-background')));
  const master = parentPid(JSON.parse(String((await p.run(...act('whoami'))).body)).pid);
  process.kill(master, 'SIGKILL');
  await until(() => p.stats().masters === 1 && p.stats().workers.idle === 1, 10000, 'a new master and worker');
  assert.ok(procState(pid) !== null, 'the background process survived its master');
  await within(p.close(), 10000, 'close');
  assert.is(procState(pid), null, `background process ${pid} is gone, not even a zombie`);
});

test('hugePages backs the workers\' PHP heap with transparent huge pages', async () => {
  const plain = pool({ workers: 1 });
  await plain.ready();
  assert.is(JSON.parse(String((await plain.run(...act('env', 'USE_ZEND_ALLOC_HUGE_PAGES'))).body)), false, 'off by default');
  const huge = pool({ workers: 1, hugePages: true });
  await huge.ready();
  assert.is(JSON.parse(String((await huge.run(...act('env', 'USE_ZEND_ALLOC_HUGE_PAGES'))).body)), '1');
  const thp = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
  if (!/\[never\]/.test(thp)) {
    const pid = await pidOf(huge.run(...act('leak', 32 * 1024 * 1024)));
    const kb = Number(/^AnonHugePages:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]);
    assert.ok(kb >= 2048, `the heap is in huge pages (${kb} kB)`);
  }
});

test('options are validated with messages that name the option', () => {
  const bad = [
    [{ workers: 0 }, /options.workers must be a positive integer/],
    [{ workers: { min: 3, max: 2 } }, /options.workers.min/],
    [{ maxJobs: -1 }, /options.maxJobs/],
    [{ maxMemory: 'lots' }, /options.maxMemory/],
    [{ execTimeout: 'soon' }, /options.execTimeout/],
    [{ maxQueue: 1.5 }, /options.maxQueue/],
    [{ crashLimit: 0 }, /options.crashLimit/],
    [{ memoryMetric: 'vsz' }, /options.memoryMetric/],
    [{ script: '/nope.php' }, /options.script does not exist/],
  ];
  for (const [options, message] of bad) assert.throws(() => new WorkerPool({ script, ...options }), message);
});

test('run() refuses bad arguments with errors that name them', async () => {
  const p = pool({ workers: 1 });
  await p.ready();
  assert.match((await p.run('x', { context: [1] }).catch((e) => e)).message, /options.context must be a plain object/);
  assert.match((await p.run('x', { timeout: -1 }).catch((e) => e)).message, /options.timeout/);
  assert.match((await p.run(42).catch((e) => e)).message, /body must be a string/);
});

test('worker output arrives as log events tagged with the worker pid', async () => {
  const p = pool({ workers: 1 });
  await p.ready();
  const lines = [];
  p.on('log', (l) => lines.push(l));
  const pid = JSON.parse(String((await p.run(...act('whoami'))).body)).pid;
  await p.run(...act('echo-output', 5));
  await until(() => lines.some((l) => l.line === 'to stderr'), 5000, 'the stderr line');
  assert.ok(lines.some((l) => l.pid === pid && l.stream === 'stdout' && l.line === 'xxxxx'));
});

test.run();
