// Checks run the same way in both docroot models' suites (a fresh fork
// per request: docroot-php.test.mjs; reused workers:
// docroot-reuse.test.mjs): how a request ends, what PHP's request
// functions see. `get(path)` fetches from the suite's server;
// the scripts are test/fixtures/classic-docroot's (linked into reuse/).
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './helpers.mjs';

/** fastcgi_finish_request(): the answer goes at once, the script goes on, its later output dropped. */
export async function finishRequestAnswersAtOnce(get, scratch) {
  const marker = join(scratch, `finished-${process.pid}-${Date.now()}`);
  const res = await get(`/finish.php?marker=${encodeURIComponent(marker)}`);
  assert.is(res.status, 200);
  assert.is(res.headers.get('x-finished'), 'early');
  assert.is(await res.text(), 'sent');
  await until(() => existsSync(marker), 5000, 'the script to go on after the answer');
  const after = JSON.parse(readFileSync(marker, 'utf8'));
  rmSync(marker, { force: true });
  assert.is(after.first, true);
  assert.is(after.second, false, 'a second call has nothing to finish');
}

/** exit() where it cuts php-zygote's own end of the request short: the answer still goes, with the output. */
export async function exitAtTheEndStillAnswers(get) {
  const exited = await get('/shutdown-exit.php');
  assert.is(exited.status, 200);
  assert.is(await exited.text(), 'body and its shutdown');
  const answers = {};
  for (const where of ['destructor', 'buffer', 'session', 'throwing-buffer']) {
    const res = await get(`/end-exit.php?in=${where}`);
    answers[where] = `${res.status} ${await res.text()}`;
  }
  assert.equal(answers, {
    destructor: '200 body destructed',
    buffer: '200 body',
    session: '200 body writing',
    'throwing-buffer': '500 body',
  });
}

/** filter_input() sees GET, POST and COOKIE as under php-fpm, for that request only. */
export async function filterInputSeesTheRequest(get) {
  const seen = await (await get('/filter.php?a=x%26y&n=42&arr[k]=v', { headers: { cookie: 'c=first%20one; c=second' } })).json();
  assert.equal(seen, {
    get: 'x&y',
    getInt: 42,
    getArray: { k: 'v' },
    post: null,
    cookie: 'first one',
    hasMissing: false,
    getAll: { a: 'x&y', n: '42', arr: { k: 'v' } },
  });
  const posted = await (await get('/filter.php', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'b=posted+value' })).json();
  assert.is(posted.post, 'posted value');
  assert.is(posted.get, null, 'nothing of the request before');
  assert.is(posted.cookie, null);
}
