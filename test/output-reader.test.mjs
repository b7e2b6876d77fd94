// OutputReader: one socket written by many processes (a master and its
// workers share stdout), split into lines per writer by the pid the kernel
// attaches to each read (SO_PASSCRED). Real writer processes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { OutputReader, closeFd, socketPair } from 'php-zygote';
import { killAll, track, until, within } from './helpers.mjs';

const test = suite('OutputReader: lines per writing process');

let readers = [];
test.after.each(async () => {
  for (const reader of readers) reader.close();
  readers = [];
  await killAll();
});

/** A reader on a fresh socket; returns it, the writers' end, the lines and an `ended` flag. */
function reader() {
  const [ours, theirs] = socketPair();
  const lines = [];
  const state = { ended: false };
  const r = new OutputReader(ours, 'stdout', (pid, stream, line) => lines.push({ pid, stream, line }), () => { state.ended = true; });
  readers.push(r);
  return { r, theirs, lines, state };
}

/** Runs `sh -c script` with the socket as its stdout; resolves with its pid once it exited. */
async function writer(fd, script) {
  const child = spawn('sh', ['-c', script], { stdio: ['ignore', fd, 'inherit'] });
  track(child.pid);
  await within(once(child, 'exit'), 5000, `sh -c ${script}`);
  return child.pid;
}

test('two processes writing at once: every line is whole and named by its writer', async () => {
  const { theirs, lines } = reader();
  const script = (tag) => `i=0; while [ $i -lt 200 ]; do echo "${tag} line $i"; i=$((i+1)); done`;
  const [a, b] = await Promise.all([writer(theirs, script('a')), writer(theirs, script('b'))]);
  await until(() => lines.length === 400, 5000, '400 lines');
  for (const { pid, line } of lines) {
    assert.match(line, /^[ab] line \d+$/);
    assert.is(pid, line.startsWith('a') ? a : b, `${line} attributed to its writer`);
  }
  for (const [tag, pid] of [['a', a], ['b', b]]) {
    assert.equal(lines.filter((l) => l.pid === pid).map((l) => l.line), Array.from({ length: 200 }, (_, i) => `${tag} line ${i}`), 'in order');
  }
  closeFd(theirs);
});

test('a last line without a newline is emitted when its writer is flushed', async () => {
  const { r, theirs, lines } = reader();
  const pid = await writer(theirs, 'printf "complete\\npartial"');
  await until(() => lines.length === 1, 5000, 'the complete line');
  r.flush(pid);
  assert.equal(lines.map((l) => l.line), ['complete', 'partial']);
  closeFd(theirs);
});

test('a line longer than 64 KiB is cut into pieces; UTF-8 split across reads stays whole', async () => {
  const { theirs, lines } = reader();
  // One writer (php), so the pieces are one process's line.
  await writer(theirs, `exec php -r 'echo str_repeat("x", 150000), "\\n"; fflush(STDOUT); echo "caf\\xc3"; fflush(STDOUT); usleep(20000); echo "\\xa9\\n";'`);
  await until(() => lines.some((l) => l.line === 'café'), 5000, 'the last line');
  const long = lines.filter((l) => l.line !== 'café');
  assert.equal(long.map((l) => l.line.length), [65536, 65536, 150000 - 2 * 65536]);
  closeFd(theirs);
});

test('the end callback runs once every writer has closed the socket', async () => {
  const { theirs, state } = reader();
  await writer(theirs, 'echo one');
  assert.is(state.ended, false, 'our own copy of the writers end is still open');
  closeFd(theirs);
  await until(() => state.ended, 5000, 'the end');
});

test.run();
