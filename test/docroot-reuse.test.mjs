// serve --docroot --max-jobs N: php-fpm's model. A worker serves up to N
// requests, and PHP's own request shutdown and startup run between them
// (src-native/php-request-loop.c), so nothing of one request is seen by
// the next although the process is the same.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCli, runCli } from './cli-process.mjs';
import { killAll, until, childrenOf, procState } from './helpers.mjs';
import { exitAtTheEndStillAnswers, filterInputSeesTheRequest, finishRequestAnswersAtOnce } from './docroot-checks.mjs';

const site = fileURLToPath(new URL('./fixtures/reuse', import.meta.url));
const test = suite('serve --docroot --max-jobs: workers reused, PHP resetting each request');

const MAX_JOBS = 6;
let cleanups = [];
let url;
let cli;
const scratch = mkdtempSync(join(tmpdir(), 'php-zygote-reuse-'));

test.before(async () => {
  cli = await startCli(cleanups, ['serve', '--docroot', site, '--boot', `${site}/boot.php`, '--port', '0', '--workers', '1', '--max-jobs', String(MAX_JOBS)]);
  url = cli.url.replace(/\/$/, '');
});
test.after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await killAll();
  rmSync(scratch, { recursive: true, force: true });
});

const get = (path, init) => fetch(`${url}${path}`, { redirect: 'manual', ...init });
const pidNow = async () => Number(await (await get('/pid.php')).text());

/**
 * A server of the test's own, one worker with --max-jobs `maxJobs` (and
 * `flags`), for what must not touch the shared one; stopped after run().
 * run() gets `at(path, init)` (fetch on it) and its `output()`.
 */
async function withOwnServer(maxJobs, flags, run) {
  const own = [];
  try {
    const server = await startCli(own, ['serve', '--docroot', site, '--port', '0', '--workers', '1', '--max-jobs', String(maxJobs), ...flags]);
    const base = server.url.replace(/\/$/, '');
    return await run({ at: (path, init) => fetch(`${base}${path}`, init), output: server.output });
  } finally {
    for (const cleanup of own.reverse()) await cleanup();
  }
}

test('one worker serves several requests, and none sees what the one before left', async () => {
  const first = await (await get('/state.php')).json();
  const second = await (await get('/state.php')).json();
  assert.is(second.pid, first.pid, 'the same worker process');
  for (const report of [first, second]) {
    assert.is(report.hits, 1, 'globals start empty');
    assert.is(report.static, 1, 'static properties start over');
    assert.is(report.calls, 1, 'static variables start over');
    assert.is(report.declaredBefore, false, 'functions declared at run time are gone');
    assert.is(report.libLoads, 1, 'require_once loads its file again');
    assert.is(report.precision, '14', 'ini_set() is undone');
    assert.is(report.memoryLimit, '128M', 'the web memory limit, in every request');
    assert.is(report.env, false, 'putenv() is undone');
    assert.equal(report.headers.filter((h) => h.startsWith('X-Left-Behind')), [], 'no header of the request before');
    assert.is(report.cwd, site, 'the working directory is the script\'s');
  }
});

test('getenv() reads the request\'s CGI variables through the SAPI, and nothing of the request before', async () => {
  // Two requests in a row in the same worker (a pair split by the
  // worker's replacement after MAX_JOBS is taken again).
  let first;
  let next;
  for (let attempt = 0; attempt < 2; attempt++) {
    first = await (await get('/getenv.php?q=1', { headers: { 'x-name': 'zygote' } })).json();
    next = await (await get('/getenv.php')).json();
    if (next.pid === first.pid) break;
  }
  assert.is(next.pid, first.pid, 'the same worker');
  const { getenv } = first;
  assert.is(getenv.REQUEST_METHOD, 'GET');
  assert.is(getenv.SCRIPT_NAME, '/getenv.php');
  assert.is(getenv.QUERY_STRING, 'q=1');
  assert.is(getenv.HTTP_X_NAME, 'zygote');
  assert.is(getenv.HTTP_PROXY, false, 'httpoxy: never a variable');
  assert.ok(getenv.PATH, 'the process environment after the request\'s');
  assert.is(first.all.REQUEST_METHOD, 'GET', 'getenv() lists them too, as php-fpm\'s does');
  assert.is(first.all.HTTP_X_NAME, 'zygote');
  assert.ok(first.all.PATH, 'after the process environment');
  assert.is(next.getenv.HTTP_X_NAME, false, 'the header of the request before is gone');
  assert.is(next.all.HTTP_X_NAME, undefined);
  assert.is(next.getenv.QUERY_STRING, '');
});

test('processes the script starts do not inherit the request\'s variables, as under php-fpm', async () => {
  const report = await (await get('/child-env.php', { headers: { 'x-name': 'zygote' } })).json();
  assert.is(report.getenv, 'zygote');
  assert.is(report.child, '', 'printenv found neither HTTP_X_NAME nor REQUEST_METHOD');
});

test('the runtime\'s classes and C declarations are preloaded, so no request loads them again', async () => {
  const { classes, scopes } = await (await get('/preloaded.php')).json();
  for (const name of ['Zygote\\Classic\\Docroot', 'Zygote\\Classic\\RequestEnd', 'Zygote\\Channel', 'Zygote\\Job']) {
    assert.ok(classes.includes(name), `${name} in opcache's preload statistics`);
  }
  assert.equal(scopes, ['zygote_sapi', 'zygote_request_loop'], 'FFI scopes of ffi.preload');
});

test('a preload file of the user\'s (--ini opcache.preload) is still preloaded', async () => {
  await withOwnServer(10, ['--ini', `opcache.preload=${site}/user-preload.php`], async ({ at }) => {
    const report = await (await at('/preloaded.php')).json();
    assert.is(report.userPreloaded, true);
    assert.ok(report.classes.includes('Zygote\\Classic\\Docroot'), 'and the runtime\'s classes too');
  });
});

test('the boot file runs at the start of every request, like auto_prepend_file', async () => {
  const report = await (await get('/state.php')).json();
  assert.is(report.booted, true);
  assert.is(report.bootRuns, 1, 'once per request, with the request\'s globals');
});

test('an object kept by a static property is destroyed when its request ends', async () => {
  const marker = join(scratch, 'destructed');
  const pid = await (await get(`/destruct.php?marker=${encodeURIComponent(marker)}`)).text();
  await until(() => existsSync(marker), 5000, 'the destructor to run');
  assert.is(readFileSync(marker, 'utf8'), pid);
});

test('a fatal error is a 500 for its request only, and exit() after a redirect ends the request: the worker serves on', async () => {
  await withOwnServer(100, [], async ({ at: fetchAt }) => {
    const at = (path) => fetchAt(path, { redirect: 'manual' });
    const before = await (await at('/pid.php')).text();
    const res = await at('/fatal.php');
    assert.is(res.status, 500);
    await res.arrayBuffer();
    const redirect = await at('/redirect.php');
    assert.is(redirect.status, 302);
    assert.is(redirect.headers.get('location'), '/state.php');
    const report = await (await at('/state.php')).json();
    assert.is(report.hits, 1);
    assert.is(String(report.pid), before, 'the same worker all along');
  });
});

test('max_execution_time and memory_limit end their request with a 500, and the same worker serves on from a clean slate', async () => {
  await withOwnServer(0, [], async ({ at }) => {
    const before = await (await at('/usage.php')).json();
    for (const path of ['/timeout.php', '/memory.php', '/memory.php']) {
      const res = await at(path);
      assert.is(res.status, 500, path);
      await res.arrayBuffer();
    }
    const after = await (await at('/usage.php')).json();
    assert.is(after.pid, before.pid, 'the same worker');
    assert.is(after.timeLimit, '30', 'the web time limit again');
    assert.ok(Math.abs(after.memory - before.memory) < 64 * 1024, `the request starts with the memory it started with before (${before.memory} then ${after.memory})`);
  });
});

test(`a worker is replaced after --max-jobs (${MAX_JOBS}) requests`, async () => {
  const pids = [];
  for (let i = 0; i < MAX_JOBS * 2 + 1; i++) pids.push(await pidNow());
  const runs = [];
  for (const pid of pids) {
    if (runs.length > 0 && runs[runs.length - 1].pid === pid) runs[runs.length - 1].count++;
    else runs.push({ pid, count: 1 });
  }
  // The first run may be a worker's tail; every run after it is whole.
  assert.ok(runs.length >= 2, `more than one worker over ${pids.length} requests`);
  for (const run of runs.slice(1, -1)) assert.is(run.count, MAX_JOBS, `worker ${run.pid} served exactly --max-jobs requests`);
  assert.ok(runs.every((run) => run.count <= MAX_JOBS));
});

test('compiled regexes stay good in the requests after the one that compiled them, also past a full cache', async () => {
  await withOwnServer(0, [], async ({ at, output }) => {
    const pids = new Set();
    // 3 x 2,000 patterns, each batch run twice: 6,000 distinct patterns
    // fill PCRE's cache (4,096) and make it evict.
    for (const from of [0, 0, 2000, 2000, 4000, 4000, 0]) {
      const report = await (await at(`/regex.php?from=${from}&count=2000`)).json();
      assert.is(report.matched, 2000, `batch from ${from}`);
      assert.is(report.fixed, 'mail EXAMPLE:ann and PHP:bob');
      assert.is(report.error, 'No error');
      pids.add(report.pid);
    }
    assert.is(pids.size, 1, 'one worker served them all');
    assert.not.match(output().err, /pcre|Warning|Fatal/i);
  });
});

test('the worker\'s channel does not leak into processes the script starts', async () => {
  const fds = (await (await get('/fds.php')).text()).trim().split(/\s+/).map(Number).sort((a, b) => a - b);
  // ls's stdio, plus the fd of the directory it lists.
  assert.equal(fds.filter((fd) => fd > 3), [], `inherited fds: ${fds.join(' ')}`);
});

test('fastcgi_finish_request() answers at once with what was printed; the script goes on and its later output is dropped', () => finishRequestAnswersAtOnce(get, scratch));

test('exit() in a shutdown function still answers with the output; a fatal error there is a 500; the worker serves on either way', async () => {
  await withOwnServer(0, [], async ({ at, output }) => {
    const before = await (await at('/pid.php')).text();
    const exited = await at('/shutdown-exit.php');
    assert.is(exited.status, 200);
    assert.is(await exited.text(), 'body and its shutdown');
    const failed = await at('/shutdown-fatal.php');
    assert.is(failed.status, 500);
    await failed.arrayBuffer();
    assert.is(await (await at('/pid.php')).text(), before, 'the same worker');
    const report = await (await at('/state.php')).json();
    assert.is(report.hits, 1);
    assert.match(output().err, /a request ended without an answer/);
    assert.ok(output().err.split('\n').length < 40, 'no loop of errors in the log');
  });
});

test('exit() in a shutdown function, a destructor, an output buffer\'s callback or a session handler at the request\'s end still answers with the output', async () => {
  await exitAtTheEndStillAnswers(get);
  assert.not.match(cli.output().err, /ended without an answer/);
});

test('a child forked by a script never answers its job nor serves the worker\'s next ones; the worker serves on', async () => {
  await withOwnServer(0, [], async ({ at: fetchAt }) => {
    const at = async (path) => {
      const res = await fetchAt(path);
      return { status: res.status, text: await res.text() };
    };
    const worker = (await at('/pid.php')).text;
    // The child ends before its parent answers, then after it.
    const waited = await at('/fork.php');
    assert.is(waited.status, 200);
    assert.match(waited.text, new RegExp(`^parent done ${worker} \\d+$`), 'the parent\'s answer, nothing of the child');
    const lingered = await at('/fork.php?linger=1');
    assert.match(lingered.text, new RegExp(`^parent done ${worker} \\d+$`));
    const child = Number(lingered.text.split(' ').pop());
    await until(() => [null, 'Z'].includes(procState(child)), 5000, 'the lingering child to end');
    for (let i = 0; i < 4; i++) assert.equal(await at('/pid.php'), { status: 200, text: worker }, 'the same worker answers every later job');
  });
});

test('an alarm a request left pending (pcntl_alarm) does not kill the worker in a later request', async () => {
  await withOwnServer(0, [], async ({ at }) => {
    const worker = await (await at('/alarm.php')).text();
    const slow = await at('/slow.php');
    assert.is(slow.status, 200);
    assert.is(await slow.text(), worker, 'the same worker, alive past the alarm');
  });
});

test('filter_input() sees GET, POST and COOKIE as under php-fpm, for its own request only', () => filterInputSeesTheRequest(get));

test('stopping the server leaves no worker behind', async () => {
  const pid = await pidNow();
  const serverPid = cli.child.pid;
  assert.ok(childrenOf(serverPid).length > 0);
  await cleanups.pop()();
  await until(() => !existsSync(`/proc/${pid}`), 5000, 'the worker to be gone');
});

test('--isolated and --max-jobs together are refused, naming both flags', async () => {
  const { code, text } = await runCli(['serve', '--docroot', site, '--isolated', '--max-jobs', '5', '--port', '0']);
  assert.is(code, 64);
  assert.match(text, /--isolated and --max-jobs cannot be combined/);
});

test.run();
