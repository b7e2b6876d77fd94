import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { WorkerExitedError, WorkerPool } from 'php-zygote';
import { childrenOf, openFdCount, procState, sleep, until, within } from './helpers.mjs';

const script = fileURLToPath(new URL('./fixtures/apps/echo.php', import.meta.url));
const test = suite('chaos: jobs keep settling while workers and the master are killed');
let pool;
test.after(async () => {
  await pool?.close({ timeout: 1000 });
});

test('5,000 jobs under random SIGKILLs of workers and once of the master: all settle, nothing leaks', async () => {
  // Node opens some fds on first use of child processes and sockets.
  const warmUp = new WorkerPool({ script, workers: 1 });
  await warmUp.ready();
  await warmUp.run('warm');
  await warmUp.close();
  await sleep(50);
  const fdsBefore = openFdCount();

  pool = new WorkerPool({ script, workers: 4, crashLimit: 1_000_000, restartDelay: 1 });
  await within(pool.ready(), 20000, 'ready');
  const seenPids = new Set();
  const masters = new Set();
  pool.on('exit', (e) => seenPids.add(e.pid));

  let killing = true;
  let masterKilled = false;
  let kills = 0;
  const killer = (async () => {
    while (killing) {
      await sleep(15);
      const workers = pool.stats().list.filter((w) => w.state === 'busy');
      if (workers.length === 0) continue;
      const victim = workers[Math.floor(Math.random() * workers.length)];
      try { process.kill(victim.pid, 'SIGKILL'); kills++; } catch { /* already gone */ }
      if (!masterKilled && kills === 20) {
        const who = await pool.run('', { context: { action: 'whoami' } }).catch(() => null);
        if (who) {
          const { ppid } = JSON.parse(String(who.body));
          masters.add(ppid);
          process.kill(ppid, 'SIGKILL');
          masterKilled = true;
        }
      }
    }
  })();

  const total = 5000;
  let resolved = 0;
  let crashed = 0;
  const unexpected = [];
  let next = 0;
  const runner = async () => {
    while (next < total) {
      const i = next++;
      const body = `job ${i}`;
      try {
        const result = await pool.run(body, { context: { action: 'slow-echo' } });
        if (String(result.body) !== body) unexpected.push(new Error(`job ${i} got ${String(result.body)}`));
        resolved++;
      } catch (err) {
        if (err instanceof WorkerExitedError) crashed++;
        else unexpected.push(err);
      }
    }
  };
  await within(Promise.all(Array.from({ length: 32 }, runner)), 240000, '5,000 jobs to settle');
  killing = false;
  await killer;

  assert.equal(unexpected, [], 'only results or WorkerExitedError');
  assert.is(resolved + crashed, total);
  assert.ok(masterKilled, 'the master was killed once');
  assert.ok(kills >= 20, `workers were killed (${kills})`);
  assert.ok(crashed > 0 && resolved > crashed, `${resolved} resolved, ${crashed} crashed`);
  console.log(`      chaos: ${resolved} resolved, ${crashed} WorkerExitedError, ${kills} workers killed, master killed once`);

  for (const w of pool.stats().list) seenPids.add(w.pid);
  await within(pool.close(), 20000, 'close');
  assert.equal(childrenOf(process.pid), [], 'no child (or zombie) left under Node');
  for (const pid of [...seenPids, ...masters]) assert.is(procState(pid), null, `process ${pid} is gone`);
  await until(() => openFdCount() === fdsBefore, 5000, `fd count back to ${fdsBefore} (now ${openFdCount()})`);
});

test.run();
