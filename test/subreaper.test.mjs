import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessHandle, isChildSubreaper, reapPidfd, pidfdOpen, closeFd, setChildSubreaper } from 'php-zygote';
import { killAll, parentPid, procState, spawnShell, until, within } from './helpers.mjs';

const test = suite('child subreaper and reaping through pidfds');
test.after.each(async () => {
  await killAll();
  setChildSubreaper(false);
});

/** Starts `sh` that backgrounds `script`, prints its pid and exits at once: an orphan. */
async function orphan(script) {
  // The orphan runs `script` only once its first parent is gone and it
  // was reparented (to Node, or to init without the subreaper): were it to
  // exit first, that shell could reap it and the test would race.
  const flag = join(mkdtempSync(join(tmpdir(), 'php-zygote-orphan-')), 'go');
  const { child, lines, exit } = await spawnShell(`sh -c 'while [ ! -e ${flag} ]; do sleep 0.01; done; ${script}' & echo $!`);
  await within(exit, 5000, 'the intermediate shell to exit');
  const pid = Number(lines[0]);
  await until(() => parentPid(pid) !== null && parentPid(pid) !== child.pid, 5000, 'the orphan to be reparented');
  writeFileSync(flag, '');
  return pid;
}

test('the subreaper flag can be set and cleared', () => {
  setChildSubreaper(true);
  assert.is(isChildSubreaper(), true);
  setChildSubreaper(false);
  assert.is(isChildSubreaper(), false);
  assert.throws(() => setChildSubreaper(1), (e) => e.code === 'ERR_INVALID_ARG_TYPE' && /"on"/.test(e.message));
});

test('an orphan reparented to Node is reaped with its exit code and leaves no zombie', async () => {
  setChildSubreaper(true);
  const pid = await orphan('sleep 0.2; exit 7');
  await until(() => parentPid(pid) === process.pid, 5000, 'the orphan to reparent to Node');
  const handle = new ProcessHandle(pid, { reap: true });
  const info = await within(handle.exited, 5000, 'orphan exit');
  handle.close();
  assert.equal(info, { pid, code: 7, signal: null, coreDumped: false, reaped: true });
  assert.is(procState(pid), null, 'no /proc entry: reaped, not a zombie');
});

test('an orphan killed by a signal is reported with the signal name', async () => {
  setChildSubreaper(true);
  const pid = await orphan('sleep 30');
  await until(() => parentPid(pid) === process.pid, 5000, 'the orphan to reparent to Node');
  const handle = new ProcessHandle(pid, { reap: true });
  handle.kill('SIGKILL');
  const info = await within(handle.exited, 5000, 'orphan exit');
  handle.close();
  assert.is(info.code, null);
  assert.is(info.signal, 'SIGKILL');
  assert.is(info.reaped, true);
  assert.is(procState(pid), null);
});

test('an orphan that died before we looked is still reaped from its zombie', async () => {
  setChildSubreaper(true);
  const pid = await orphan('exit 5');
  assert.is(parentPid(pid), process.pid);
  await until(() => procState(pid) === 'Z', 5000, 'a zombie under Node');
  const pidfd = pidfdOpen(pid);
  assert.equal(reapPidfd(pidfd), { pid, code: 5, signal: null, coreDumped: false });
  closeFd(pidfd);
  assert.is(procState(pid), null);
});

test('without the subreaper an orphan is not reparented to Node', async () => {
  const pid = await orphan('sleep 30');
  await until(() => parentPid(pid) !== null, 5000, 'the orphan to show up');
  assert.is.not(parentPid(pid), process.pid);
});

test('reaping a process that is not our child fails with ECHILD and reaps nothing', async () => {
  const { child, lines } = await spawnShell('sleep 30 & echo $!; wait');
  const pid = Number(lines[0]);
  const pidfd = pidfdOpen(pid);
  assert.throws(() => reapPidfd(pidfd), (e) => e.code === 'ECHILD' && e.syscall === 'waitid' && e.errno === -10);
  closeFd(pidfd);
  assert.is(parentPid(pid), child.pid);
});

test('a running child is not reaped: reapPidfd returns null', async () => {
  setChildSubreaper(true);
  const pid = await orphan('sleep 30');
  await until(() => parentPid(pid) === process.pid, 5000, 'the orphan to reparent to Node');
  const pidfd = pidfdOpen(pid);
  assert.is(reapPidfd(pidfd), null);
  process.kill(pid, 'SIGKILL');
  const status = await until(() => reapPidfd(pidfd), 5000, 'the kill to be reapable');
  assert.is(status.signal, 'SIGKILL');
  closeFd(pidfd);
});

test('child_process keeps reporting exit codes while the subreaper reaps orphans', async () => {
  setChildSubreaper(true);
  const orphans = await Promise.all([1, 2, 3, 4].map((n) => orphan(`sleep 0.1; exit ${n}`)));
  const handles = orphans.map((pid) => new ProcessHandle(pid, { reap: true }));
  const children = [11, 12, 13, 14].map((code) => {
    const child = spawn('sh', ['-c', `sleep 0.1; exit ${code}`]);
    return once(child, 'exit').then(([exitCode]) => exitCode);
  });
  const codes = await within(Promise.all(children), 5000, 'child_process exits');
  assert.equal(codes, [11, 12, 13, 14]);
  const infos = await within(Promise.all(handles.map((h) => h.exited)), 5000, 'orphan exits');
  assert.equal(infos.map((i) => i.code), [1, 2, 3, 4]);
  for (const h of handles) h.close();
});

test.run();
