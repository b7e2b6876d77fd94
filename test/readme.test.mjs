// Every ```js, ```mjs and ```php block of README.md runs as written. A block
// that is not meant to run alone (a fragment) says so on the line before it:
//   <!-- not-runnable: why -->
// JS blocks run with node as .mjs files, each in a fresh directory where
// `php-zygote` resolves the way it does for an installed package
// (node_modules/php-zygote), next to every runnable PHP block, written under
// the name its first line gives (`<?php // app.php`).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAll, track, within } from './helpers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const test = suite('README: every example runs as written');


/** The README's code blocks: language, text, heading, and the not-runnable reason if marked. */
function codeBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const title = /^#{1,3} (.+)$/.exec(lines[i]);
    if (title) heading = title[1].trim();
    const fence = /^```(js|mjs|php)\s*$/.exec(lines[i]);
    if (!fence) {
      // Skip over other fenced blocks (sh), whose lines could look like headings.
      if (/^```/.test(lines[i])) while (++i < lines.length && !/^```\s*$/.test(lines[i]));
      continue;
    }
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const marker = before >= 0 ? /^<!--\s*not-runnable:(.*)-->\s*$/.exec(lines[before]) : null;
    const start = i + 1;
    while (++i < lines.length && !/^```\s*$/.test(lines[i]));
    blocks.push({
      lang: fence[1],
      text: lines.slice(start, i).join('\n') + '\n',
      line: start,
      heading,
      notRunnable: marker ? marker[1].trim() : null,
    });
  }
  return blocks;
}

const blocks = codeBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
const runnable = blocks.filter((b) => b.notRunnable === null);
const phpFiles = runnable.filter((b) => b.lang === 'php').map((b) => ({ ...b, name: /^<\?php \/\/ ([\w.-]+\.php)\b/.exec(b.text)?.[1] }));
const jsBlocks = runnable.filter((b) => b.lang !== 'php');

let dirs = [];
let groups = [];
test.after.each(async () => {
  // An example that failed half-way may have left processes behind; each
  // example runs as the leader of its own process group.
  for (const pgid of groups) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* all gone */ }
  }
  groups = [];
  await killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** A fresh directory with node_modules/php-zygote (this repo) and every runnable PHP block. */
function exampleDir() {
  const dir = mkdtempSync(join(tmpdir(), 'php-zygote-readme-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'php-zygote'), 'dir');
  for (const file of phpFiles) if (file.name) writeFileSync(join(dir, file.name), file.text);
  return dir;
}

function run(command, args, cwd) {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  track(child.pid);
  groups.push(child.pid);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c) => { out += c; });
  child.stderr.setEncoding('utf8').on('data', (c) => { out += c; });
  return within(new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out }))), 60000, `${command} ${args.join(' ')} in ${cwd}`);
}

test('the README has runnable examples, and every marked block says why it is not runnable', () => {
  assert.ok(jsBlocks.length >= 5, `found ${jsBlocks.length} runnable JS blocks`);
  for (const block of blocks) {
    if (block.notRunnable !== null) assert.ok(block.notRunnable.length > 0, `README.md:${block.line}: not-runnable needs a reason`);
  }
});

for (const block of jsBlocks) {
  test(`README.md:${block.line} (${block.heading}): the ${block.lang} example exits 0`, async () => {
    const dir = exampleDir();
    writeFileSync(join(dir, 'example.mjs'), block.text);
    const { code, signal, out } = await run(process.execPath, ['example.mjs'], dir);
    assert.is(code, 0, `exit ${code ?? signal}:\n${block.text}\n--- output ---\n${out}`);
  });
}

for (const file of phpFiles) {
  test(`README.md:${file.line} (${file.heading}): the PHP block ${file.name ?? '(unnamed)'} is valid and used by an example`, async () => {
    assert.ok(file.name, `README.md:${file.line}: start a PHP block with "<?php // name.php" so examples can refer to it, or mark it not-runnable`);
    assert.is(phpFiles.filter((f) => f.name === file.name).length, 1, `two runnable PHP blocks are both ${file.name}`);
    assert.ok(jsBlocks.some((b) => b.text.includes(`'${file.name}'`)), `no runnable example uses ${file.name}, so nothing runs it`);
    const dir = exampleDir();
    const lint = spawnSync('php', ['-l', file.name], { cwd: dir, encoding: 'utf8' });
    assert.is(lint.status, 0, lint.stdout + lint.stderr);
    if (/::serve\(/.test(file.text)) {
      // The README's promise for apps run without Node.
      const { code, out } = await run('php', [file.name], dir);
      assert.is(code, 64, out);
      assert.match(out, new RegExp(`^${file.name} is a php-zygote app: start it from Node`, 'm'));
    }
  });
}

test('examples/app.php run directly with php exits 64 with a message saying to start it from Node', async () => {
  const { code, out } = await run('php', [join(root, 'examples/app.php')], root);
  assert.is(code, 64, out);
  assert.is(out, 'app.php is a php-zygote app: start it from Node (npx php-zygote serve app.php, WorkerPool or Master.start), not with php directly\n');
});

test.run();
