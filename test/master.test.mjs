import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { JobError, Master, MasterStartError, PayloadTooLargeError, ProtocolError, WorkerExitedError, closeFd, pidfdOpen, reapPidfd } from 'php-zygote';
import { execFileSync, spawn } from 'node:child_process';
import { childrenOf, parentPid, procState, until, within } from './helpers.mjs';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const app = `${fixtures}apps/echo.php`;
const test = suite('Master: the PHP zygote, its workers and the protocol');

let masters = [];
async function start(options = {}) {
  const master = await within(Master.start({ script: app, ...options }), 20000, 'master start');
  masters.push(master);
  return master;
}
test.after.each(async () => {
  await Promise.all(masters.map((m) => within(m.close(), 10000, 'master close')));
  masters = [];
});

const act = (action, body = '') => [body, { context: { action } }];

test('the app boots once in the master and workers are forked from it', async () => {
  const master = await start();
  assert.is(master.info.opcache, true, 'opcache is on in the CLI');
  const [a, b] = await Promise.all([master.fork(), master.fork()]);
  for (const worker of [a, b]) {
    const who = JSON.parse(String((await worker.run(...act('whoami'))).body));
    assert.equal(who, { pid: worker.pid, bootPid: master.pid, ppid: master.pid });
  }
  assert.is.not(a.pid, b.pid);
});

test('payloads from 0 B to 16 MB make the round trip byte-exact, with a unicode context', async () => {
  const master = await start();
  const worker = await master.fork();
  // (A nested empty object would come back as [] : PHP decodes JSON objects to arrays.)
  const context = { greeting: 'grüß dich, 世界 🐘', nested: { list: [1, 'two', null], deeper: { ok: true } }, '0': 'numeric key' };
  for (const size of [0, 1, 15, 16, 17, 4096, 65535, 65536, 65537, 1 << 20, 16 * 1024 * 1024]) {
    const body = randomBytes(size);
    const result = await within(worker.run(body, { context }), 20000, `round trip of ${size} bytes`);
    assert.ok(result.body.equals(body), `${size} bytes came back identical`);
    assert.equal(result.context, context);
  }
});

test('a thrown exception becomes a JobError and the same worker serves the next job', async () => {
  const master = await start();
  const worker = await master.fork();
  const err = await worker.run(...act('throw', 'boom')).then(() => null, (e) => e);
  assert.instance(err, JobError);
  assert.is(err.code, 'ERR_JOB_FAILED');
  assert.is(err.phpClass, 'DomainException');
  assert.is(err.phpMessage, 'thrown on purpose: boom');
  assert.ok(err.file.endsWith('echo.php') && err.line > 0);
  assert.is(String((await worker.run('still here')).body), 'still here');
  assert.is(worker.hasExited, false);
});

test('exit(3) in the handler is reported as exit code 3', async () => {
  const master = await start();
  const worker = await master.fork();
  const err = await worker.run(...act('exit', '3')).then(() => null, (e) => e);
  assert.instance(err, WorkerExitedError);
  assert.is(err.exitCode, 3);
  assert.is(err.signal, null);
  assert.equal(await worker.exited, { pid: worker.pid, code: 3, signal: null });
});

test('a fatal error is reported with exit code 255 and its message in the logs', async () => {
  const master = await start();
  const worker = await master.fork();
  const err = await worker.run(...act('fatal')).then(() => null, (e) => e);
  assert.instance(err, WorkerExitedError);
  assert.is(err.exitCode, 255);
  assert.match(err.logs.join('\n'), /Allowed memory size of 8388608 bytes exhausted/);
});

test('a worker that SIGKILLs itself is reported as killed by SIGKILL', async () => {
  const master = await start();
  const worker = await master.fork();
  const err = await worker.run(...act('sigkill')).then(() => null, (e) => e);
  assert.instance(err, WorkerExitedError);
  assert.is(err.signal, 'SIGKILL');
  assert.is(err.exitCode, null);
  assert.match(err.message, /killed by SIGKILL/);
});

test('1 MB of echo in a handler arrives as log lines tagged with the worker pid, frames untouched', async () => {
  const master = await start();
  const worker = await master.fork();
  const lines = [];
  master.on('log', (line) => { if (line.pid === worker.pid) lines.push(line); });
  const result = await worker.run(...act('echo-output', String(1 << 20)));
  assert.is(String(result.body), 'after output');
  assert.is(String((await worker.run('next job')).body), 'next job');
  await worker.close();
  const stdout = lines.filter((l) => l.stream === 'stdout').map((l) => l.line).join('');
  assert.is(stdout, 'x'.repeat(1 << 20));
  assert.ok(lines.some((l) => l.stream === 'stderr' && l.line === 'to stderr'));
});

test('a streamed response arrives in parts, in order', async () => {
  const master = await start();
  const worker = await master.fork();
  const parts = [];
  const result = await worker.run(...act('stream').slice(0, 1), { context: { action: 'stream' }, onChunk: (chunk, context) => parts.push([String(chunk), context.part]) });
  assert.equal(parts, [['part 0;', 0], ['part 1;', 1], ['part 2;', 2]]);
  assert.is(String(result.body), 'end');
  const joined = await worker.run(...act('stream'));
  assert.is(String(joined.body), 'part 0;part 1;part 2;end');
});

test('opcache memory is shared: a script compiled in one worker is cached for its sibling', async () => {
  const master = await start();
  const [a, b] = await Promise.all([master.fork(), master.fork()]);
  const file = `${fixtures}cacheable.php`;
  assert.is(String((await b.run(...act('is-cached', file))).body), 'false', 'not cached before');
  assert.is(String((await a.run(...act('compile', file))).body), 'true');
  assert.is(String((await b.run(...act('is-cached', file))).body), 'true', 'the sibling sees it cached');
});

test('a preloaded class is available in every worker', async () => {
  const master = await start({ ini: { 'opcache.preload': `${fixtures}preload.php` } });
  assert.is(master.info.preload, true);
  const workers = await Promise.all([master.fork(), master.fork(), master.fork()]);
  for (const worker of workers) {
    assert.is(String((await worker.run(...act('class-exists', 'PreloadedGreeter'))).body), 'true');
  }
});

test('extra ini settings reach the workers', async () => {
  const master = await start({ ini: { 'memory_limit': '77M', 'precision': 11 } });
  const worker = await master.fork();
  assert.is(String((await worker.run(...act('ini', 'memory_limit'))).body), '77M');
  assert.is(String((await worker.run(...act('ini', 'precision'))).body), '11');
});

test('after 1,000 worker exits the master has no zombie child', async () => {
  const master = await start();
  for (let round = 0; round < 100; round++) {
    const workers = await Promise.all(Array.from({ length: 10 }, () => master.fork()));
    await Promise.all(workers.map((w, i) => (i % 2 === 0 ? w.close() : (w.kill('SIGKILL'), w.exited))));
  }
  const children = childrenOf(master.pid);
  assert.equal(children.filter((c) => c.state === 'Z'), [], 'no zombie');
  assert.is(children.length, 0, 'every worker was reaped');
  assert.is(master.workers.size, 0);
});

test('garbage from a worker closes only its channel with a ProtocolError; its sibling keeps working', async () => {
  const master = await start();
  const [bad, good] = await Promise.all([master.fork(), master.fork()]);
  const err = await bad.run(...act('garbage')).then(() => null, (e) => e);
  assert.instance(err, ProtocolError);
  assert.is(err.code, 'ERR_PROTOCOL');
  assert.match(err.message, /bad magic byte/);
  await within(bad.exited, 5000, 'the bad worker to be killed');
  assert.is(String((await good.run('fine')).body), 'fine');
  assert.ok(master.alive);
});

test('a response larger than maxFrameSize becomes a JobError naming the limit; the worker serves on', async () => {
  const master = await start({ maxFrameSize: 1024 * 1024 });
  const worker = await master.fork();
  const err = await worker.run(...act('big', String(2 * 1024 * 1024))).then(() => null, (e) => e);
  assert.instance(err, JobError);
  assert.is(err.phpClass, 'Zygote\\FrameTooLargeException');
  assert.match(err.message, /exceeds maxFrameSize \(1048576\)/);
  assert.is(String((await worker.run('ok')).body), 'ok');
});

test('a job larger than maxFrameSize is refused before sending; the worker serves on', async () => {
  const master = await start({ maxFrameSize: 4096 });
  const worker = await master.fork();
  const err = await worker.run(Buffer.alloc(5000)).then(() => null, (e) => e);
  assert.instance(err, PayloadTooLargeError);
  assert.is(err.code, 'ERR_PAYLOAD_TOO_LARGE');
  assert.is(String((await worker.run('ok')).body), 'ok');
});

test('a response context that is not JSON-encodable (NAN) becomes a JobError, not a dead worker', async () => {
  const master = await start();
  const worker = await master.fork();
  const err = await worker.run(...act('nan-context')).then(() => null, (e) => e);
  assert.instance(err, JobError);
  assert.is(err.phpClass, 'JsonException');
  assert.is(String((await worker.run('ok')).body), 'ok');
});

test('an onChunk callback that throws fails only its job; the worker serves on', async () => {
  const master = await start();
  const worker = await master.fork();
  const boom = new Error('bad onChunk');
  const err = await worker.run('', { context: { action: 'stream' }, onChunk: () => { throw boom; } }).then(() => null, (e) => e);
  assert.is(err, boom);
  assert.is(String((await worker.run('next')).body), 'next');
  assert.is(worker.pendingJobs, 0);
});

test('an onChunk that returns a promise holds the worker back until it settles (backpressure)', async () => {
  const master = await start();
  const worker = await master.fork();
  let chunks = 0;
  const result = await worker.run('', {
    context: { action: 'stream-timed' },
    onChunk: () => {
      chunks++;
      if (chunks === 2) return new Promise((resolve) => setTimeout(resolve, 400));
    },
  });
  assert.is(chunks, 6);
  // 1 MB chunks do not fit the socket buffer: PHP's next write had to wait for Node.
  assert.ok(Number(String(result.body)) >= 300, `a write blocked ${String(result.body)} ms`);
});

test("a worker's channel is close-on-exec, so processes its handler starts do not inherit it", async () => {
  const master = await start();
  const worker = await master.fork();
  assert.is(String((await worker.run(...act('channel-cloexec'))).body), 'true');
});

test('close() after the master was SIGKILLed kills and reaps the workers it left', async () => {
  const master = await start();
  const workers = await Promise.all([master.fork(), master.fork()]);
  process.kill(master.pid, 'SIGKILL');
  await master.exited;
  await within(master.close(), 10000, 'close');
  for (const worker of workers) {
    assert.is(worker.hasExited, true);
    await until(() => procState(worker.pid) === null, 5000, `worker ${worker.pid} to be reaped`);
  }
});

test('a handler returning something other than a string or Response yields a JobError', async () => {
  const master = await start();
  const worker = await master.fork();
  const err = await worker.run(...act('return-array')).then(() => null, (e) => e);
  assert.instance(err, JobError);
  assert.match(err.message, /returned array; return a string or a Zygote\\Response/);
});

test('closing the master leaves no worker behind', async () => {
  const master = await start();
  const workers = await Promise.all([master.fork(), master.fork(), master.fork()]);
  await master.close();
  for (const worker of workers) {
    assert.is(worker.hasExited, true);
    assert.is(procState(worker.pid), null);
  }
  assert.is(procState(master.pid), null);
});

test('when the Node process dies, the master kills its workers and exits', async () => {
  const index = fileURLToPath(new URL('../dist/lib/index.js', import.meta.url));
  const script = `
    const { Master } = require(${JSON.stringify(index)});
    Master.start({ script: ${JSON.stringify(app)} }).then(async (m) => {
      const workers = await Promise.all([m.fork(), m.fork()]);
      process.stdout.write(JSON.stringify([m.pid, ...workers.map((w) => w.pid)]) + '\\n');
    });`;
  const node = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  node.stdout.setEncoding('utf8');
  const pids = await within(new Promise((resolve) => node.stdout.on('data', (chunk) => {
    out += chunk;
    if (out.includes('\n')) resolve(JSON.parse(out));
  })), 20000, 'the other node to fork workers');
  node.kill('SIGKILL');
  // Gone; or, when an earlier test made this process a subreaper, adopted
  // by us as a zombie, which is then ours to reap.
  const adoptedZombie = (pid) => procState(pid) === 'Z' && parentPid(pid) === process.pid;
  for (const pid of pids) await until(() => procState(pid) === null || adoptedZombie(pid), 10000, `process ${pid} to be gone`);
  for (const pid of pids.filter(adoptedZombie)) {
    const pidfd = pidfdOpen(pid);
    reapPidfd(pidfd);
    closeFd(pidfd);
  }
});

test('a missing extension fails the start with one clear line naming it', async () => {
  const env = { ...process.env, PHP_INI_SCAN_DIR: '' }; // Debian loads posix and sockets from conf.d
  const err = await Master.start({ script: app, env }).then(() => null, (e) => e);
  assert.instance(err, MasterStartError);
  assert.is(err.code, 'ERR_MASTER_START');
  assert.match(err.message, /php-zygote needs the PHP extensions posix, sockets/);
  assert.match(err.message, /apt-get install php-cli/);
});

test('a PHP older than 8.1 is refused with one clear line (the preflight check, run by real PHP)', () => {
  const preflight = fileURLToPath(new URL('../php/preflight.php', import.meta.url));
  const check = (version, extensions) => execFileSync('php', ['-r', `require ${JSON.stringify(preflight)}; echo php_zygote_preflight_problem(${version}, ${JSON.stringify(extensions).replace(/^\[/, 'array(').replace(/\]$/, ')')}) ?? 'ok';`], { encoding: 'utf8' });
  assert.match(check(80012, ['pcntl', 'posix', 'sockets']), /^php-zygote needs PHP 8\.1 or later \(this is 8\.\d+\.\d+ at .+\); install a newer php-cli/);
  assert.is(check(80100, ['pcntl', 'posix', 'sockets']), 'ok');
  assert.match(check(80200, ['pcntl']), /^php-zygote needs the PHP extensions posix, sockets,/);
});

test('an app that fails during boot fails the start with its error', async () => {
  const err = await Master.start({ script: `${fixtures}boot-fails.php` }).then(() => null, (e) => e);
  assert.instance(err, MasterStartError);
  assert.match(err.message, /database configuration missing/);
});

test('options are validated with messages that name the option', async () => {
  for (const [options, message] of [
    [{}, /options.script must be the path of a PHP file/],
    [{ script: '/nonexistent/app.php' }, /options.script does not exist/],
    [{ script: app, maxFrameSize: 10 }, /options.maxFrameSize must be an integer/],
    [{ script: app, ini: { 'bad key': 1 } }, /options.ini has an invalid key/],
    [{ script: app, startTimeout: -1 }, /options.startTimeout must be a positive number/],
  ]) {
    const err = await Master.start(options).then(() => null, (e) => e);
    assert.instance(err, TypeError);
    assert.match(err.message, message);
  }
});

test.run();
