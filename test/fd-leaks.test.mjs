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

// Node opens some fds lazily on first use (of net, of worker threads); each
// test runs one round before counting, so only what the round leaks counts.
test('opening and closing 10,000 pidfds, socket pairs and watchers leaves /proc/self/fd as it was', async () => {
  let before;
  let owned;
  for (let i = -1; i < 10000; i++) {
    if (i === 0) {
      await sleep(10);
      before = openFdCount();
      owned = native.ownedFdCount();
    }
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
  let before;
  for (let i = -1; i < 1000; i++) {
    if (i === 0) {
      await sleep(10);
      before = openFdCount();
    }
    const [a, b] = socketPair();
    const socket = socketFromFd(a);
    assert.is(closeFd(a), false, 'released to Node');
    socket.destroy();
    closeFd(b);
  }
  await sleep(10);
  assert.is(openFdCount(), before);
});

/** Runs `code` in a worker thread; resolves with its first message and the worker. */
async function inWorker(code) {
  const worker = new Worker(`const z = require(${JSON.stringify(index)});\n${code}`, { eval: true });
  const [message] = await within(once(worker, 'message'), 10000, 'a message from the worker');
  return { message, worker };
}

test('fds and watchers left open in a worker thread are closed when it ends', async () => {
  const warmUp = await inWorker(`require('node:worker_threads').parentPort.postMessage(0);`);
  await warmUp.worker.terminate();
  await sleep(50);

  const before = openFdCount();
  const { message: during, worker } = await inWorker(`
    for (let i = 0; i < 100; i++) {
      z.pidfdOpen(process.pid);
      const [a] = z.socketPair();
      new z.Poller(a, () => {}).start();
      new z.ProcessHandle(process.pid).unref();
    }
    require('node:worker_threads').parentPort.postMessage(require('node:fs').readdirSync('/proc/self/fd').length);
  `);
  assert.ok(during >= before + 400, `the worker held its fds (${during} vs ${before})`);
  await worker.terminate();
  await sleep(50);
  assert.is(openFdCount(), before);
});

test.run();
