// The orphan reaper: which of Node's zombie children it reaps, and which it
// leaves to their owner (libuv, a ProcessHandle). Real orphans, adopted
// through the child subreaper.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ProcessHandle, reapOrphans, setChildSubreaper } from 'php-zygote';
import { killAll, parentPid, procState, trackForeign, until, within } from './helpers.mjs';

const test = suite('orphan reaper: Node reaps the orphans it adopted, and only those');

test.before(() => setChildSubreaper(true));
test.after.each(async () => {
  await killAll();
});

/**
 * An orphan adopted by Node: `sh` prints the pid of a background `sleep`
 * and exits. With `ownGroup`, sh leads a process group of its own (as a
 * master does), so the orphan is in a group Node does not lead.
 */
async function adopt(seconds, { ownGroup }) {
  const sh = spawn('sh', ['-c', `sleep ${seconds} & echo $!`], { stdio: ['ignore', 'pipe', 'inherit'], detached: ownGroup });
  const exited = once(sh, 'exit'); // before waiting for output: sh may exit first
  const [out] = await within(once(sh.stdout, 'data'), 5000, 'the orphan pid');
  await within(exited, 5000, 'sh to exit');
  const pid = trackForeign(Number(String(out).trim()));
  await until(() => parentPid(pid) === process.pid, 5000, 'the orphan to reparent to Node');
  return pid;
}

test('an adopted orphan in another process group is reaped by a scan as soon as it is a zombie', async () => {
  const pid = await adopt(0.1, { ownGroup: true });
  await until(() => procState(pid) === 'Z' || procState(pid) === null, 5000, 'the orphan to exit');
  // The background reaper (if a pool started it) may have been first.
  const reaped = reapOrphans();
  assert.ok(reaped.includes(pid) || procState(pid) === null, 'reaped by this scan or an earlier one');
  assert.is(procState(pid), null, 'no zombie left');
});

test('a zombie child in Node\'s own group is left alone for the grace period: it may be libuv\'s', async () => {
  const pid = await adopt(0.05, { ownGroup: false });
  await until(() => procState(pid) === 'Z', 5000, 'the orphan to become a zombie');
  assert.not.ok(reapOrphans().includes(pid));
  assert.is(procState(pid), 'Z', 'still a zombie: within 30 s it could be a child libuv is about to reap');
  // Clean up as its owner would: through a pidfd.
  const handle = new ProcessHandle(pid, { reap: true });
  await within(handle.exited, 5000, 'the reap');
  handle.close();
});

test('a pid with an open ProcessHandle is left to its handle; once the handle is closed, a scan reaps it', async () => {
  const pid = await adopt(0.1, { ownGroup: true });
  const handle = new ProcessHandle(pid); // watches, does not reap
  await within(handle.exited, 5000, 'the handle to see the exit');
  assert.not.ok(reapOrphans().includes(pid));
  assert.is(procState(pid), 'Z', 'left to the handle: its owner may still want the status');
  handle.close();
  await until(() => procState(pid) === null || reapOrphans().includes(pid), 5000, 'the reap after close');
  assert.is(procState(pid), null);
});

test('child_process children are not taken from libuv: their exit codes still arrive', async () => {
  const child = spawn('sh', ['-c', 'exit 7']);
  const exit = once(child, 'exit');
  await until(() => procState(child.pid) === 'Z' || procState(child.pid) === null, 5000, 'the exit');
  reapOrphans();
  const [code] = await within(exit, 5000, 'the exit event');
  assert.is(code, 7);
});

test.run();
