import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, closeSync, readFileSync, readlinkSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Poller, closeFd, pidfdOpen, receiveFds, sendFds, setPassCredentials, socketFromFd, socketPair } from 'php-zygote';
import { killAll, track, within } from './helpers.mjs';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const test = suite('socket pairs and fd passing (SCM_RIGHTS)');
let dir;
test.before.each(() => { dir = mkdtempSync(join(tmpdir(), 'php-zygote-fds-')); });
test.after.each(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a PHP fixture with `fd` as its fd 3, then closes our copy of it. */
function php(fixture, fd, args = []) {
  const child = spawn('php', [join(fixtures, fixture), ...args], { stdio: ['ignore', 'pipe', 'inherit', fd] });
  track(child.pid);
  closeFd(fd);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => { out += chunk; });
  return { child, output: once(child, 'exit').then(([code]) => ({ code, out })) };
}

/** O_CLOEXEC is bit 02000000 in the octal flags line of /proc/self/fdinfo. */
function isCloseOnExec(fd) {
  const flags = /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))[1];
  return (parseInt(flags, 8) & 0o2000000) !== 0;
}

test('several fds sent in one message reach a PHP process and work there', async () => {
  const [control, remote] = socketPair();
  const { output } = php('write-to-received-fds.php', remote);
  const path = join(dir, 'out.txt');
  const file = openSync(path, 'w');
  const [mine, theirs] = socketPair();
  const sent = sendFds(control, 'hello', [file, theirs]);
  assert.is(sent, 5);
  closeSync(file);
  closeFd(theirs);

  const socket = socketFromFd(mine);
  let viaSocket = '';
  socket.setEncoding('utf8').on('data', (chunk) => { viaSocket += chunk; });
  const ended = once(socket, 'end');
  const { code, out } = await within(output, 10000, 'php to finish');
  await within(ended, 5000, 'socket end');
  socket.destroy();
  closeFd(control);

  assert.is(code, 0);
  assert.is(out, '2\n', 'php received two fds');
  assert.is(readFileSync(path, 'utf8'), 'hello via fd #0\n');
  assert.is(viaSocket, 'hello via fd #1\n');
});

test('fds received from another process arrive close-on-exec and work in Node', async () => {
  const [control, remote] = socketPair();
  const path = join(dir, 'from-php.txt');
  const { output } = php('send-fds.php', remote, [path]);
  const readable = new Promise((resolve) => {
    const poller = new Poller(control, () => { poller.close(); resolve(); });
    poller.start(Poller.READABLE);
  });
  await within(readable, 10000, 'the message from php');
  const buffer = Buffer.alloc(64);
  const got = receiveFds(control, buffer, 4);
  assert.ok(got, 'a message was waiting');
  assert.is(buffer.toString('utf8', 0, got.bytes), 'two fds');
  assert.is(got.fds.length, 2);
  assert.is(got.truncated, false);
  const [file, sock] = got.fds;
  for (const fd of got.fds) assert.ok(isCloseOnExec(fd), `fd ${fd} is close-on-exec`);
  assert.is(readlinkSync(`/proc/self/fd/${file}`), path);

  writeSync(file, 'written by node\n');
  closeFd(file);
  const socket = socketFromFd(sock);
  socket.end('ping from node');
  const { code, out } = await within(output, 10000, 'php to finish');
  closeFd(control);
  assert.is(code, 0);
  assert.is(out, 'ping from node');
  assert.is(readFileSync(path, 'utf8'), 'written by node\n');
});

test('pidfds and socket pairs are created close-on-exec', () => {
  const pidfd = pidfdOpen(process.pid);
  const [a, b] = socketPair();
  for (const fd of [pidfd, a, b]) assert.ok(isCloseOnExec(fd), `fd ${fd} is close-on-exec`);
  for (const fd of [pidfd, a, b]) assert.ok(closeFd(fd));
});

test('a message with more fds than maxFds is flagged truncated and the extra fds are not leaked', () => {
  const [a, b] = socketPair();
  const extra = [pidfdOpen(process.pid), pidfdOpen(process.pid), pidfdOpen(process.pid)];
  sendFds(a, 'x', extra);
  const got = receiveFds(b, Buffer.alloc(8), 1);
  assert.is(got.bytes, 1);
  assert.is(got.fds.length, 1);
  assert.is(got.truncated, true);
  for (const fd of [a, b, ...extra, ...got.fds]) assert.ok(closeFd(fd));
});

test('a non-blocking receive with nothing to read returns null, and 0 bytes once the peer closes', () => {
  const [a, b] = socketPair({ nonblock: true });
  const buffer = Buffer.alloc(16);
  assert.is(receiveFds(b, buffer), null);
  closeFd(a);
  assert.equal(receiveFds(b, buffer), { bytes: 0, fds: [], truncated: false, pid: null });
  closeFd(b);
});

test('sending to a closed peer fails with EPIPE instead of killing Node with SIGPIPE', () => {
  const [a, b] = socketPair();
  closeFd(b);
  assert.throws(() => sendFds(a, 'lost', []), (e) => e.code === 'EPIPE' && e.syscall === 'sendmsg');
  closeFd(a);
});

test('bad arguments are refused with errors that name them', () => {
  const [a, b] = socketPair();
  assert.throws(() => sendFds(a, '', []), (e) => e.code === 'EINVAL' && e.syscall === 'sendmsg');
  assert.throws(() => sendFds(a, 'x', ['3']), (e) => e.code === 'ERR_INVALID_ARG_TYPE' && /"fds"/.test(e.message));
  assert.throws(() => receiveFds(a, 'not a buffer'), (e) => e.code === 'ERR_INVALID_ARG_TYPE' && /"buffer"/.test(e.message));
  assert.throws(() => sendFds(a, 'x', [999999]), (e) => e.code === 'EBADF');
  assert.throws(() => new Poller(-1, () => {}), (e) => e.code === 'ERR_INVALID_ARG_TYPE' && /"fd"/.test(e.message));
  closeFd(a);
  closeFd(b);
});

test('with SO_PASSCRED every read names its writer, and writers are never mixed in one read', async () => {
  const [mine, shared] = socketPair();
  setPassCredentials(mine, true);
  // Two processes write interleaved lines into the same socket.
  const script = 'for i in 1 2 3 4 5 6 7 8 9 10; do echo "$0 $i"; sleep 0.01; done';
  const writers = ['a', 'b'].map((name) => {
    const child = spawn('sh', ['-c', script, name], { stdio: ['ignore', shared, 'inherit'] });
    track(child.pid);
    return { name, child, exit: once(child, 'exit') };
  });
  closeFd(shared);
  await within(Promise.all(writers.map((w) => w.exit)), 10000, 'writers to finish');

  const byPid = new Map();
  const buffer = Buffer.alloc(65536);
  for (;;) {
    const got = receiveFds(mine, buffer, 0);
    if (got.bytes === 0) break;
    assert.type(got.pid, 'number');
    byPid.set(got.pid, (byPid.get(got.pid) ?? '') + buffer.toString('utf8', 0, got.bytes));
  }
  closeFd(mine);
  for (const { name, child } of writers) {
    const expected = Array.from({ length: 10 }, (_, i) => `${name} ${i + 1}\n`).join('');
    assert.is(byPid.get(child.pid), expected, `everything ${name} wrote, attributed to its pid`);
  }
});

test.run();
