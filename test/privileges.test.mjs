// user/group: PHP runs as an unprivileged user while Node stays root, and
// everything Node does to PHP processes (pidfds, signals, reaping, reload)
// still works. Needs root (CI runs as root); skipped with a reason otherwise.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JobTimeoutError, WorkerPool } from 'php-zygote';
import { procState, within } from './helpers.mjs';

const script = fileURLToPath(new URL('./fixtures/apps/echo.php', import.meta.url));
const test = suite('privilege separation: user and group');
const isRoot = process.getuid() === 0;

let pools = [];
let dir;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'php-zygote-priv-'));
});
test.after.each(async () => {
  await Promise.all(pools.map((p) => within(p.close({ timeout: 2000 }), 15000, 'pool close')));
  pools = [];
  rmSync(dir, { recursive: true, force: true });
});

const uidOf = (pid) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const identity = async (pool, file = '/nonexistent') => JSON.parse(String((await pool.run(file, { context: { action: 'identity' } })).body));

if (!isRoot) {
  test.skip('PHP runs as the given user (needs root: this test process is not)');
} else {
  test('the master and its workers run as the given user and group, and cannot read a root-only file', async () => {
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'root only');
    chmodSync(secret, 0o600);
    const pool = new WorkerPool({ script, workers: 2, user: 'nobody', group: 'nogroup', execTimeout: 500 });
    pools.push(pool);
    await pool.ready();
    const seen = await identity(pool, secret);
    assert.equal([seen.uid, seen.euid, seen.gid], [65534, 65534, 65534]);
    assert.not.ok(seen.groups.includes(0), `no supplementary root group: ${seen.groups}`);
    assert.is(seen.read, false, 'a 0600 root file is out of reach');
    assert.is(uidOf(seen.ppid), 65534, 'the master too');
    // Node (root) still kills through pidfds, reaps, reloads and closes.
    const err = await pool.run('', { context: { action: 'loop' } }).then(() => null, (e) => e);
    assert.instance(err, JobTimeoutError);
    await within(pool.reload(), 20000, 'reload');
    const after = await identity(pool);
    assert.is(after.uid, 65534);
    assert.is.not(after.ppid, seen.ppid, 'a new master');
    const pids = pool.stats().list.map((w) => w.pid);
    await pool.close();
    for (const pid of pids) assert.is(procState(pid), null);
  });

  test('a user given by uid works, and the group defaults to the user\'s primary group', async () => {
    const pool = new WorkerPool({ script, workers: 1, user: 65534 });
    pools.push(pool);
    await pool.ready();
    const seen = await identity(pool);
    assert.equal([seen.uid, seen.gid], [65534, 65534]);
  });
}

test('unknown users and groups are refused, naming the option', () => {
  assert.throws(() => new WorkerPool({ script, user: 'no-such-user-here' }), (e) => e instanceof TypeError && /options\.user is not a user/.test(e.message));
  if (isRoot) assert.throws(() => new WorkerPool({ script, user: 'nobody', group: 'no-such-group-here' }), (e) => e instanceof TypeError && /options\.group is not a group/.test(e.message));
  assert.throws(() => new WorkerPool({ script, group: 'nogroup' }), (e) => e instanceof TypeError && /options\.group needs options\.user/.test(e.message));
  assert.throws(() => new WorkerPool({ script, user: '' }), (e) => e instanceof TypeError && /options\.user must be/.test(e.message));
});

test.run();
