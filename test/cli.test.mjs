import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Master, MasterStartError } from 'php-zygote';
import { procState, sleep, killAll, until, within } from './helpers.mjs';
import { runCli, startCli } from './cli-process.mjs';

const fixtures = fileURLToPath(new URL('./fixtures/apps/', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));
const test = suite('CLI: php-zygote serve');

let cleanups = [];
test.after.each(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  await killAll();
});

const cli = (args, options) => startCli(cleanups, args, options);
const run = runCli;

test('the CLI serves the example app on every route and logs worker output with pids', async () => {
  const { url } = await cli(['serve', `${root}examples/app.php`, '--port', '0', '--workers', '2']);
  const hello = await fetch(`${url}/?name=zygote`);
  assert.match(await hello.text(), /Hello, zygote!/);
  const echo = await (await fetch(`${url}/echo?q=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":[1,2]}' })).json();
  assert.equal(echo.body, { a: [1, 2] });
  assert.equal(echo.query, { q: '1' });
  const counter = await (await fetch(`${url}/counter`)).json();
  assert.is(counter.primesKnownSinceBoot, 669);
  assert.ok(counter.hitsOnThisWorker >= 1);
  assert.is(await (await fetch(`${url}/stream`)).text(), 'chunk 1 of 5\nchunk 2 of 5\nchunk 3 of 5\nchunk 4 of 5\nchunk 5 of 5\ndone\n');
  assert.is((await fetch(`${url}/missing`)).status, 404);
});

test('the CLI logs worker output with pids and shuts down gracefully on SIGTERM: requests in flight finish', async () => {
  const fixture = `${fixtures}http.php`;
  const { child, url, exit, output } = await cli(['serve', fixture, '--port', '0', '--workers', '2', '--timeout', '10s']);
  assert.is(await (await fetch(`${url}/echo`)).text(), 'ok');
  await until(() => /^\[\d+\] stray output$/m.test(output().err), 5000, 'the worker output on stderr, prefixed by its pid');
  const inFlight = [fetch(`${url}/sleep?ms=500`), fetch(`${url}/sleep?ms=500`)];
  await sleep(150);
  child.kill('SIGTERM');
  const answers = await within(Promise.all(inFlight), 10000, 'in-flight requests');
  assert.equal(answers.map((r) => r.status), [200, 200]);
  assert.equal(await Promise.all(answers.map((r) => r.text())), ['slept', 'slept']);
  const [code] = await within(exit, 10000, 'the CLI to exit');
  assert.is(code, 0);
  assert.match(output().err, /SIGTERM: finishing requests in flight/);
});

test('the CLI prints help, and refuses bad options naming them', async () => {
  const help = await run(['--help']);
  assert.is(help.code, 0);
  assert.match(help.text, /Usage: php-zygote serve <app.php>/);
  const badTimeout = await run(['serve', `${fixtures}http.php`, '--timeout', 'soon']);
  assert.is(badTimeout.code, 64);
  assert.match(badTimeout.text, /--timeout must be a duration/);
  const badWorkers = await run(['serve', `${fixtures}http.php`, '--workers', '0']);
  assert.match(badWorkers.text, /--workers must be an integer >= 1/);
  const missing = await run(['serve', '/no/such/app.php']);
  assert.is(missing.code, 64);
  assert.match(missing.text, /^php-zygote: <app\.php> does not exist: \/no\/such\/app\.php$/m);
});

test('every flag with a bad value is refused with exit 64 by its flag name, never by an API option name', async () => {
  const app = `${fixtures}http.php`;
  const cases = [
    [['--port', 'http'], '--port'],
    [['--port', '70000'], '--port'],
    [['--host', ''], '--host'],
    [['--workers', 'two'], '--workers'],
    [['--min', '1'], '--min'],
    [['--min', '-1', '--max', '2'], '--min'],
    [['--min', '5', '--max', '2'], '--min'],
    [['--max', '0'], '--max'],
    [['--workers', '2', '--max', '4'], '--workers'],
    [['--isolated=yes'], '--isolated'],
    [['--max-jobs', '1.5'], '--max-jobs'],
    [['--max-memory', 'lots'], '--max-memory'],
    [['--timeout', '3 weeks'], '--timeout'],
    [['--max-body', 'big'], '--max-body'],
    [['--max-queue', 'x'], '--max-queue'],
    [['--ini', 'novalue'], '--ini'],
    [['--ini', 'bad key=1'], '--ini'],
    [['--php', ''], '--php'],
    [['--crash-limit', '0'], '--crash-limit'],
    [['--recovery-delay', 'soon'], '--recovery-delay'],
  ];
  for (const [flags, flag] of cases) {
    const { code, text } = await run(['serve', app, ...flags]);
    assert.is(code, 64, `${flags.join(' ')}: ${text}`);
    assert.ok(text.includes(flag), `${flags.join(' ')} names ${flag}: ${text}`);
    assert.not.match(text, /options\./, `${flags.join(' ')} names no API option: ${text}`);
  }
});

test('pages that exit trip a crash loop that ends: 503 meanwhile, then served again by a fresh master', async () => {
  const { url } = await cli(['serve', `${fixtures}crashy.php`, '--port', '0', '--workers', '1', '--crash-limit', '3', '--recovery-delay', '300ms']);
  for (let i = 0; i < 3; i++) assert.is((await fetch(`${url}/exit`)).status, 502);
  await until(async () => (await fetch(`${url}/`)).status === 503, 5000, '503 during the crash loop');
  await until(async () => (await fetch(`${url}/`)).status === 200, 10000, 'served again after the recovery');
});

test('an app that no longer boots ends the server with exit code 1, so a supervisor can restart it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'php-zygote-cli-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const broken = join(dir, 'broken');
  const { url, exit, output } = await cli(['serve', `${fixtures}crashy.php`, '--port', '0', '--workers', '1', '--crash-limit', '2', '--recovery-delay', '200ms', '--ini', `error_log=${join(dir, 'log')}`], { env: { ...process.env, CRASHY_BROKEN: broken } });
  writeFileSync(broken, 'the next boot fails'); // a broken deploy
  for (let i = 0; i < 2; i++) await fetch(`${url}/exit`);
  const [code] = await within(exit, 15000, 'the CLI to give up');
  assert.is(code, 1);
  assert.match(output().err, /the app no longer boots/);
  assert.match(output().err, /broken deploy/);
});

test('SIGTERM ends what the app started in the background too: nothing outlives the server', async () => {
  const { url, child, exit } = await cli(['serve', `${fixtures}crashy.php`, '--port', '0', '--workers', '1']);
  const pid = Number(await (await fetch(`${url}/background`)).text());
  assert.ok(pid > 0 && procState(pid) !== null, 'the background process runs');
  child.kill('SIGTERM');
  const [code] = await within(exit, 10000, 'the CLI to stop');
  assert.is(code, 0);
  assert.is(procState(pid), null, `background process ${pid} is gone`);
});

test('a port in use is refused once, with a non-zero exit, before the app boots', async () => {
  const holder = createServer().listen(0, '127.0.0.1');
  await once(holder, 'listening');
  cleanups.push(() => new Promise((resolve) => holder.close(resolve)));
  const { port } = holder.address();
  // An app that says when it boots: a refusal must come before that.
  const dir = mkdtempSync(join(tmpdir(), 'php-zygote-cli-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'app.php'), "<?php\nfwrite(STDERR, \"app booting\\n\");\n\\Zygote\\Zygote::serve(fn (\\Zygote\\Job $job): string => 'ok');\n");
  const { code, text } = await run(['serve', join(dir, 'app.php'), '--port', String(port)]);
  assert.is(code, 1, text);
  assert.is(text.match(/cannot listen/g)?.length, 1, `printed once: ${text}`);
  assert.match(text, new RegExp(`^php-zygote: cannot listen on 127\\.0\\.0\\.1:${port} \\(--host, --port\\): .*EADDRINUSE`, 'm'));
  assert.not.match(text, /app booting/);
});

test('--php naming something that is not a PHP CLI says a PHP CLI is needed, in the CLI and from Master.start', async () => {
  for (const php of ['/bin/true', '/bin/cat']) {
    const { code, text } = await run(['serve', `${fixtures}http.php`, '--port', '0', '--php', php]);
    assert.is(code, 1, text);
    assert.match(text, new RegExp(`^php-zygote: --php \\(${php.replace(/\//g, '\\/')}\\) is not a PHP CLI binary: \`${php.replace(/\//g, '\\/')} --version\` printed "`, 'm'));
    assert.not.match(text, /options\./);
  }
  // The message is the master's own, so API users get it too.
  const err = await within(Master.start({ script: `${fixtures}http.php`, php: '/bin/true' }).then(() => null, (e) => e), 20000, 'Master.start');
  assert.instance(err, MasterStartError);
  assert.match(err.message, /^options\.php \(\/bin\/true\) is not a PHP CLI binary: .*the PHP command-line binary \(php, not php-fpm or php-cgi\)/);
});

test.run();
