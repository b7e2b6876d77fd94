import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Poller, ProcessHandle, closeFd, native, pidfdOpen, socketFromFd, socketPair } from 'php-zygote';
import { openFdCount, sleep, within } from './helpers.mjs';

const test = suite('fd ownership: nothing leaks');
const index = fileURLToPath(new URL('../dist/lib/index.js', import.meta.url));

test('opening and closing 10,000 pidfds, socket pairs and watchers leaves /proc/self/fd as it was', async () => {
  const before = openFdCount();
  const owned = native.ownedFdCount();
  for (let i = 0; i < 10000; i++) {
    const pidfd = pidfdOpen(process.pid);
    const [a, b] = socketPair();
    const poller = new Poller(a, () => {});
    poller.start(Poller.READABLE);
    poller.close();
    const handle = new ProcessHandle(process.pid);
    handle.close();
    assert.ok(closeFd(pidfd) && closeFd(a) && closeFd(b));
  }
  await sleep(10); // let uv_close callbacks run
  assert.is(openFdCount(), before);
  assert.is(native.ownedFdCount(), owned);
});

test('closeFd refuses an fd the addon does not own and leaves it open', () => {
  const foreign = openSync('/dev/null', 'r');
  assert.is(closeFd(foreign), false);
  assert.ok(fstatSync(foreign).isCharacterDevice(), 'still open');
  closeSync(foreign);

  const pidfd = pidfdOpen(process.pid);
  assert.is(closeFd(pidfd), true);
  const reused = openSync('/dev/null', 'r');   // the lowest free number: usually the old pidfd's
  assert.is(closeFd(pidfd), false, 'a second close is refused');
  assert.ok(fstatSync(reused).isCharacterDevice(), 'whatever reused the number is untouched');
  closeSync(reused);
});

test('an fd handed to net.Socket is closed by Node, never again by the addon', async () => {
  const before = openFdCount();
  for (let i = 0; i < 1000; i++) {
    const [a, b] = socketPair();
    const socket = socketFromFd(a);
    assert.is(closeFd(a), false, 'released to Node');
    socket.destroy();
    closeFd(b);
  }
  await sleep(10);
  assert.is(openFdCount(), before);
});

test('fds and watchers left open in a worker thread are closed when it ends', async () => {
  const before = openFdCount();
  const worker = new Worker(`
    const { parentPort } = require('node:worker_threads');
    const z = require(${JSON.stringify(index)});
    for (let i = 0; i < 100; i++) {
      z.pidfdOpen(process.pid);
      const [a] = z.socketPair();
      new z.Poller(a, () => {}).start();
      new z.ProcessHandle(process.pid).unref();
    }
    parentPort.postMessage(require('node:fs').readdirSync('/proc/self/fd').length);
  `, { eval: true });
  const [during] = await within(once(worker, 'message'), 10000, 'the worker to open its fds');
  assert.ok(during >= before + 400, `the worker held its fds (${during} vs ${before})`);
  await worker.terminate();
  await sleep(50);
  assert.is(openFdCount(), before);
});

test.run();
