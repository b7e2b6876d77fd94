// Running `php-zygote serve` in production: health and readiness, metrics
// on their own port, JSON logs, an unprivileged PHP user, and PID 1 of a
// container (a new PID namespace). Real CLI processes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startCli } from './cli-process.mjs';
import { killAll, sleep, track, until, within } from './helpers.mjs';

const app = fileURLToPath(new URL('./fixtures/apps/crashy.php', import.meta.url));
const bin = fileURLToPath(new URL('../bin/php-zygote.js', import.meta.url));
const test = suite('ops: health, metrics, JSON logs, user, PID 1');
const isRoot = process.getuid() === 0;

let cleanups = [];
test.after.each(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  await killAll();
});

/** A free loopback port (bound and released). */
async function freePort() {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

test('--health: /livez and /readyz answer before PHP; --metrics serves Prometheus text on its own port, ready 503 while draining', async () => {
  const opsPort = await freePort();
  const { url, child, exit, output } = await startCli(cleanups, ['serve', app, '--port', '0', '--workers', '2', '--health', '--metrics', `127.0.0.1:${opsPort}`]);
  const ops = `http://127.0.0.1:${opsPort}`;
  assert.is((await fetch(`${url}/livez`)).status, 200);
  const ready = await fetch(`${url}/readyz`);
  assert.is(ready.status, 200);
  assert.is(await ready.text(), 'ready\n');
  assert.is(await (await fetch(`${url}/`)).text(), 'fine', 'other paths still reach PHP');
  const metrics = await fetch(`${ops}/metrics`);
  assert.match(metrics.headers.get('content-type'), /^text\/plain/);
  const families = parsePrometheusTextFormat(await metrics.text());
  const workers = families.find((f) => f.name === 'php_zygote_workers');
  assert.is(Number(workers.metrics.find((m) => m.labels.state === 'idle').value) + Number(workers.metrics.find((m) => m.labels.state === 'busy').value), 2);
  assert.ok(families.some((f) => f.name === 'php_zygote_jobs_total'));
  assert.is((await fetch(`${url}/metrics`)).status, 200, 'not served on the main port: /metrics there is the app\'s');
  assert.match(output().out, new RegExp(`metrics on http://127.0.0.1:${opsPort}/metrics`));
  const statusText = await (await fetch(`${ops}/status`)).text();
  assert.match(statusText, /^accepted conn:\s+\d+$/m);
  const slow = fetch(`${url}/sleep?ms=300`);
  await sleep(100);
  const full = await (await fetch(`${ops}/status?full&json`)).json();
  assert.ok(full.workers.some((w) => w.current?.label === 'GET /sleep?ms=300'), 'the request a worker runs, as php-fpm shows it');
  await slow;
  // Draining: a request in flight, SIGTERM; readiness fails at once, the request finishes.
  const inFlight = fetch(`${url}/sleep?ms=700`);
  await sleep(100);
  child.kill('SIGTERM');
  await until(async () => (await fetch(`${ops}/readyz`).catch(() => null))?.status === 503, 5000, 'readyz 503 while draining');
  assert.is(await (await inFlight).text(), 'slept');
  const [code] = await within(exit, 10000, 'the CLI to exit');
  assert.is(code, 0);
});

test('--log-format json: worker output and the CLI\'s own lines are JSON objects with time, pid, stream and line', async () => {
  const { url, child, exit, output } = await startCli(cleanups, ['serve', app, '--port', '0', '--workers', '1', '--log-format', 'json']);
  await fetch(`${url}/spawn-short`);
  await until(() => output().err.includes('spawned'), 5000, 'the worker line');
  child.kill('SIGTERM');
  await within(exit, 10000, 'exit');
  const lines = output().err.trim().split('\n').map((line) => JSON.parse(line));
  const worker = lines.find((l) => l.line === 'spawned');
  assert.ok(worker && worker.pid > 0 && worker.stream === 'stderr' && !Number.isNaN(Date.parse(worker.time)), JSON.stringify(worker));
  assert.ok(lines.some((l) => l.stream === 'php-zygote' && /SIGTERM/.test(l.line)), 'the CLI speaks JSON too');
});

test('bad ops flags are refused naming the flag', async () => {
  for (const [flags, flag] of [[['--metrics', 'everywhere'], '--metrics'], [['--log-format', 'xml'], '--log-format'], [['--user', 'no-such-user-here'], '--user']]) {
    const child = spawnSync(process.execPath, [bin, 'serve', app, ...flags], { encoding: 'utf8' });
    assert.is(child.status, 64, child.stderr);
    assert.ok(child.stderr.includes(flag) && !/options\./.test(child.stderr), child.stderr);
  }
});

test('the serve flags in examples/Dockerfile and examples/kubernetes/deployment.yaml are the CLI\'s own: the server starts with them', async () => {
  const examples = fileURLToPath(new URL('../examples/', import.meta.url));
  const dockerCmd = JSON.parse(/^CMD (\[[\s\S]*?\])$/m.exec(readFileSync(`${examples}Dockerfile`, 'utf8'))[1].replace(/\\\n/g, ''));
  const k8sArgs = JSON.parse(/args: (\[[\s\S]*?\])/.exec(readFileSync(`${examples}kubernetes/deployment.yaml`, 'utf8'))[1]);
  for (const command of [dockerCmd, k8sArgs]) {
    assert.equal(command.slice(0, 3), ['npx', 'php-zygote', 'serve']);
    const args = command.slice(2).map((arg) => (arg === 'app.php' ? app : arg === '0.0.0.0' ? '127.0.0.1' : arg));
    const opsPort = await freePort();
    const at = (flag) => args.indexOf(flag) + 1;
    args[at('--port')] = '0';
    args[at('--metrics')] = `127.0.0.1:${opsPort}`;
    if (!isRoot) args.splice(args.indexOf('--user'), 4); // --user www-data --group www-data need root
    const { url, child, exit } = await startCli(cleanups, args);
    assert.is((await fetch(`${url}/readyz`)).status, 200);
    assert.is((await fetch(`http://127.0.0.1:${opsPort}/metrics`)).status, 200);
    child.kill('SIGTERM');
    assert.equal(await within(exit, 10000, 'exit'), [0, null]);
  }
});

if (isRoot) {
  test('--user nobody: PHP runs unprivileged while the server binds as root', async () => {
    const { url } = await startCli(cleanups, ['serve', app, '--port', '0', '--workers', '1', '--user', 'nobody', '--group', 'nogroup']);
    const who = await (await fetch(`${url}/whoami`)).json();
    assert.equal([who.uid, who.gid], [65534, 65534]);
  });

  test('as PID 1 of a new PID namespace: the app\'s orphans are reaped, SIGTERM drains and exits 0', async () => {
    const port = await freePort();
    const unshare = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, bin, 'serve', app, '--port', String(port), '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    track(unshare.pid);
    let out = '';
    unshare.stdout.setEncoding('utf8').on('data', (c) => { out += c; });
    unshare.stderr.setEncoding('utf8').on('data', (c) => { out += c; });
    const exited = once(unshare, 'exit');
    await within(until(() => /serving/.test(out), 20000, 'the server'), 25000, 'serving');
    // Node is PID 1 inside; outside it is unshare's child.
    const node = Number(readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8').trim().split(' ')[0]);
    assert.match(readFileSync(`/proc/${node}/status`, 'utf8'), /^NSpid:\s+\d+\s+1$/m, 'Node is PID 1 in its namespace');
    cleanups.push(async () => {
      try { process.kill(node, 'SIGKILL'); } catch { /* gone */ }
      await within(exited, 10000, 'unshare to exit');
    });
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 4; i++) assert.is(await (await fetch(`${url}/spawn-short`)).text(), 'spawned');
    // Twenty short-lived orphans later, the namespace holds no zombie.
    await sleep(400);
    const zombies = () => {
      const found = [];
      for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
        try {
          const status = readFileSync(`/proc/${entry}/status`, 'utf8');
          if (/^State:\s+Z/m.test(status) && new RegExp(`^PPid:\\s+${node}$`, 'm').test(status)) found.push(Number(entry));
        } catch { /* gone */ }
      }
      return found;
    };
    await until(() => zombies().length === 0, 5000, `no zombie under PID 1 (left: ${zombies()})`);
    process.kill(node, 'SIGTERM');
    const [code] = await within(exited, 10000, 'the namespace to end');
    assert.is(code, 0, out);
    assert.match(out, /SIGTERM: finishing requests in flight/);
  });
} else {
  test.skip('--user and PID 1 tests need root');
}

test.run();
