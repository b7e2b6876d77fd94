import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HandleClosedError, ProcessHandle, pidfdOpen, pidfdSendSignal, closeFd } from 'php-zygote';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { killAll, parentPid, procState, spawnShell, trackForeign, until, within } from './helpers.mjs';

const index = fileURLToPath(new URL('../dist/lib/index.js', import.meta.url));

const test = suite('ProcessHandle and pidfd exit watching');
test.after.each(killAll);

test('exit of a grandchild (not our child) is observed through its pidfd', async () => {
  // sh stays alive after the grandchild exits, so the event can only come from the grandchild.
  const { child, lines } = await spawnShell('sleep 0.3 & echo $!; wait; exec sleep 30');
  const pid = Number(lines[0]);
  assert.is(parentPid(pid), child.pid, 'the sleep is the shell\'s child, not ours');
  const handle = new ProcessHandle(pid);
  const info = await within(handle.exited, 5000, 'grandchild exit');
  assert.is(info.pid, pid);
  assert.is(info.reaped, false, 'only its parent can reap it');
  assert.is(info.code, null);
  assert.is(child.exitCode, null, 'the shell is still running');
  assert.ok(handle.hasExited);
  handle.close();
});

test('a process that exited before the watch began (a zombie) reports at once', async () => {
  // After exec, the new sleep is the parent and never waits: the child stays a zombie.
  const { lines } = await spawnShell('sleep 0.01 & echo $!; exec sleep 30');
  const pid = Number(lines[0]);
  await until(() => procState(pid) === 'Z', 5000, 'the child to become a zombie');
  const handle = new ProcessHandle(pid);
  const info = await within(handle.exited, 5000, 'exit of a zombie');
  assert.is(info.pid, pid);
  handle.close();
});

test('kill() signals the process behind the pidfd and no other', async () => {
  const { lines } = await spawnShell('sleep 30 & echo $!; sleep 30 & echo $!; wait', 2);
  const [victim, bystander] = lines.map(Number);
  const a = new ProcessHandle(victim);
  const b = new ProcessHandle(bystander);
  assert.ok(a.kill('SIGTERM'));
  await within(a.exited, 5000, 'victim exit');
  assert.is(b.hasExited, false);
  assert.ok(['S', 'R'].includes(procState(bystander)), 'the bystander still runs');
  a.close();
  b.close();
});

test('a reaped pid gives ESRCH errors with code, errno and syscall', async () => {
  const { lines, exit } = await spawnShell('sleep 0.05 & echo $!; wait');
  const pid = Number(lines[0]);
  const pidfd = pidfdOpen(pid);
  await within(exit, 5000, 'shell exit');          // the shell reaped the sleep
  let thrown;
  try { pidfdSendSignal(pidfd, 0); } catch (e) { thrown = e; }
  assert.instance(thrown, Error);
  assert.is(thrown.code, 'ESRCH');
  assert.is(thrown.errno, -3);
  assert.is(thrown.syscall, 'pidfd_send_signal');
  assert.is(thrown.message, 'ESRCH: no such process, pidfd_send_signal');
  closeFd(pidfd);

  try { pidfdOpen(pid); assert.unreachable('pidfd_open of a reaped pid'); } catch (e) {
    assert.is(e.code, 'ESRCH');
    assert.is(e.syscall, 'pidfd_open');
  }
  assert.throws(() => new ProcessHandle(pid), (e) => e.code === 'ESRCH');
});

test('kill() on an exited and reaped process returns false instead of throwing', async () => {
  const { lines, exit } = await spawnShell('sleep 0.05 & echo $!; wait');
  const handle = new ProcessHandle(Number(lines[0]));
  await within(exit, 5000, 'shell exit');
  assert.is(handle.kill('SIGKILL'), false);
  handle.close();
});

test('close() before exit rejects exited with HandleClosedError and closes the pidfd', async () => {
  const { lines } = await spawnShell('sleep 30 & echo $!; wait');
  const handle = new ProcessHandle(Number(lines[0]));
  const pidfd = handle.pidfd;
  handle.close();
  handle.close();
  const err = await handle.exited.then(() => null, (e) => e);
  assert.instance(err, HandleClosedError);
  assert.is(err.code, 'ERR_HANDLE_CLOSED');
  assert.is(handle.pidfd, null);
  assert.is(closeFd(pidfd), false, 'the pidfd was already closed');
  assert.throws(() => handle.kill(), (e) => e instanceof HandleClosedError);
});

test('bad arguments throw TypeErrors that name the argument', () => {
  assert.throws(() => pidfdOpen('12'), (e) => e instanceof TypeError && /"pid"/.test(e.message) && e.code === 'ERR_INVALID_ARG_TYPE');
  assert.throws(() => pidfdSendSignal(-1, 0), (e) => e instanceof TypeError && /"pidfd"/.test(e.message));
  assert.throws(() => pidfdSendSignal(0, 'SIGNOPE'), (e) => e.code === 'ERR_UNKNOWN_SIGNAL');
  assert.throws(() => new ProcessHandle(0), /pid must be a positive integer/);
  assert.throws(() => pidfdOpen(-5), (e) => e.code === 'EINVAL' && e.syscall === 'pidfd_open');
});

test('an exception thrown in an exit callback reaches uncaughtException instead of aborting', () => {
  const script = `
    const { Poller, pidfdOpen } = require(${JSON.stringify(index)});
    const { spawn } = require('node:child_process');
    process.on('uncaughtException', (e) => {
      console.log('caught ' + e.message);
      // Exit once Node has reaped the child, or it is orphaned to whoever is a subreaper.
      if (child.exitCode === null && child.signalCode === null) child.once('exit', () => process.exit(0));
      else process.exit(0);
    });
    const child = spawn('true');
    const poller = new Poller(pidfdOpen(child.pid), () => { poller.close(); throw new Error('boom'); });
    poller.start();`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10000 });
  assert.is(result.stdout.trim(), 'caught boom');
  assert.is(result.status, 0);
});

test('an unref()ed handle lets Node exit while the process still runs', () => {
  const script = `
    const { ProcessHandle } = require(${JSON.stringify(index)});
    const { spawn } = require('node:child_process');
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    child.unref();
    console.log(String(child.pid));
    new ProcessHandle(child.pid).unref();`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10000 });
  assert.is(result.status, 0, 'node exited by itself');
  const pid = Number(result.stdout.trim());
  trackForeign(pid);
  assert.ok(procState(pid) !== null, 'the watched process still runs');
});

test.run();
