// Multipart uploads in docroot mode, end to end through `php-zygote serve
// --docroot`: Node streams the files to temp files (multipart-intake.ts),
// PHP sees $_POST and $_FILES as php-fpm gives them and its own
// is_uploaded_file()/move_uploaded_file() accept exactly those files
// (php/src/Classic/UploadRegistry.php). TMPDIR points the CLI's upload
// directories into a scratch directory, so "nothing is left" is checkable.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCli } from './cli-process.mjs';
import { killAll, until } from './helpers.mjs';

const site = fileURLToPath(new URL('./fixtures/uploads', import.meta.url));
const test = suite('serve --docroot: multipart uploads as php-fpm gives them');

const scratch = mkdtempSync(join(tmpdir(), 'zygote-uploads-test-'));
const uploads = join(scratch, 'tmp');
const moved = join(scratch, 'moved');
let cleanups = [];
let cli;
test.before(async () => {
  for (const dir of [uploads, moved]) rmSync(dir, { recursive: true, force: true });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(uploads);
  mkdirSync(moved);
  cli = await startCli(cleanups, [
    'serve', '--docroot', site, '--port', '0', '--workers', '2', '--timeout', '3s',
    '--upload-max-filesize', '100K', '--post-max-size', '1M', '--max-file-uploads', '3',
  ], { env: { ...process.env, TMPDIR: uploads } });
});
test.after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await killAll();
  rmSync(scratch, { recursive: true, force: true });
});

const md5 = (bytes) => createHash('md5').update(bytes).digest('hex');
const post = (url, form) => fetch(url, { method: 'POST', body: form });
const leftovers = () => readdirSync(uploads).filter((name) => name.startsWith('php-zygote-upload-'));
const nothingLeft = () => until(() => leftovers().length === 0, 5000, `no upload directory left in ${uploads} (found ${leftovers()})`);

test('fields with PHP names, one and several files, an empty file input: $_POST and $_FILES as PHP builds them', async () => {
  const one = randomBytes(3000);
  const form = new FormData();
  form.append('plain', 'x y&z');
  form.append('list[]', '1');
  form.append('list[]', '2');
  form.append('map[b]', 'B');
  form.append('doc', new Blob([one], { type: 'application/pdf' }), 'report.pdf');
  form.append('pics[]', new Blob(['first']), 'a.png');
  form.append('pics[]', new Blob(['second'], { type: 'image/png' }), 'b.png');
  const res = await post(`${cli.url}/dump.php`, form);
  assert.is(res.status, 200);
  const got = await res.json();
  assert.equal(got.post, { plain: 'x y&z', list: ['1', '2'], map: { b: 'B' } });
  assert.equal(got.request, got.post, '$_REQUEST has the fields');
  assert.is(got.input, '', 'php://input is empty for multipart, as under php-fpm');

  const { doc, pics } = got.files;
  assert.equal(Object.keys(doc), ['name', 'full_path', 'type', 'tmp_name', 'error', 'size'], "PHP's keys in PHP's order");
  assert.equal({ ...doc, tmp_name: undefined }, { name: 'report.pdf', full_path: 'report.pdf', type: 'application/pdf', tmp_name: undefined, error: 0, size: 3000 });
  assert.equal(pics.name, ['a.png', 'b.png'], 'name[] nests under each key');
  assert.equal(pics.size, [5, 6]);
  assert.equal(pics.error, [0, 0]);
  assert.is(pics.type[1], 'image/png');

  assert.is(got.uploaded[doc.tmp_name].is_uploaded_file, true);
  assert.is(got.uploaded[doc.tmp_name].md5, md5(one), 'the temp file holds the bytes sent');
  assert.is(got.uploaded[pics.tmp_name[1]].is_uploaded_file, true);
  assert.is(got.passwd, false, 'is_uploaded_file(/etc/passwd) is false');
  assert.ok(doc.tmp_name.startsWith(`${uploads}/php-zygote-upload-`), doc.tmp_name);
  await nothingLeft();
});

test('an empty file input (filename="", as browsers send it) is UPLOAD_ERR_NO_FILE, without a temp file', async () => {
  // fetch's FormData leaves out filename="" for an empty name: the body is written by hand.
  const body = [
    '--b0undary', 'Content-Disposition: form-data; name="title"', '', 'kept',
    '--b0undary', 'Content-Disposition: form-data; name="empty"; filename=""', 'Content-Type: application/octet-stream', '', '',
    '--b0undary--', '',
  ].join('\r\n');
  const res = await fetch(`${cli.url}/dump.php`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=b0undary' }, body });
  const got = await res.json();
  assert.equal(got.post, { title: 'kept' });
  assert.equal(got.files.empty, { name: '', full_path: '', type: '', tmp_name: '', error: 4, size: 0 });
  assert.equal(got.uploaded, []);
  await nothingLeft();
});

test('move_uploaded_file() moves a binary upload byte for byte and only an upload', async () => {
  const bytes = randomBytes(90 * 1024);
  bytes[0] = 0; bytes[1] = 0xff; bytes[2] = 0x0d; bytes[3] = 0x0a;
  const form = new FormData();
  form.append('to', join(moved, 'kept.bin'));
  form.append('file', new Blob([bytes]), 'kept.bin');
  const got = await (await post(`${cli.url}/move.php`, form)).json();
  assert.equal(got, { moved: true, stillUploaded: false, tmpExists: false, passwdMoved: false, md5: md5(bytes) });
  assert.ok(readFileSync(join(moved, 'kept.bin')).equals(bytes), 'the moved file is the upload, byte for byte');
  await nothingLeft();
});

test('a file over upload_max_filesize gets UPLOAD_ERR_INI_SIZE and no temp file; files past max_file_uploads are dropped', async () => {
  const form = new FormData();
  form.append('big', new Blob([randomBytes(100 * 1024 + 1)]), 'big.bin');
  form.append('f[]', new Blob(['1']), '1.txt');
  form.append('f[]', new Blob(['2']), '2.txt');
  form.append('f[]', new Blob(['3']), '3.txt');
  const got = await (await post(`${cli.url}/dump.php`, form)).json();
  assert.equal(got.files.big, { name: 'big.bin', full_path: 'big.bin', type: '', tmp_name: '', error: 1, size: 0 });
  assert.equal(got.files.f.name, ['1.txt', '2.txt'], 'the big file counted as one of the 3 allowed, as in PHP');
  assert.equal(Object.keys(got.uploaded).length, 2, 'only the kept files are uploads');
  await until(() => cli.output().err.includes('Maximum number of allowable file uploads has been exceeded'), 5000, "PHP's warning in the log");
  await nothingLeft();
});

test('a body over post_max_size: the script runs with empty $_POST and $_FILES and PHP\'s warning', async () => {
  const form = new FormData();
  form.append('field', 'value');
  form.append('file', new Blob([randomBytes(1024 * 1024)]), 'big.bin');
  const res = await post(`${cli.url}/dump.php`, form);
  assert.is(res.status, 200);
  const got = await res.json();
  assert.equal(got.post, []);
  assert.equal(got.files, []);
  await until(() => /POST Content-Length of \d+ bytes exceeds the limit of 1048576 bytes/.test(cli.output().err), 5000, "PHP's warning in the log");
  await nothingLeft();
});

test('no temp file is left when the script exits, its worker is killed or it times out', async () => {
  for (const [how, status] of [['exit', 200], ['kill', 502], ['sleep', 504]]) {
    const form = new FormData();
    form.append('file', new Blob([randomBytes(50 * 1024)]), 'f.bin');
    const res = await post(`${cli.url}/end.php?how=${how}`, form);
    assert.is(res.status, status, how);
    await res.arrayBuffer().catch(() => {});
    await nothingLeft();
  }
});

test('a 50 MB upload streams to disk: the server does not hold it in memory', async () => {
  const big = await startCli(cleanups, [
    'serve', '--docroot', site, '--port', '0', '--workers', '1',
    '--upload-max-filesize', '64M', '--post-max-size', '64M', '--max-body', '64M',
  ], { env: { ...process.env, TMPDIR: uploads } });
  const hwm = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${big.child.pid}/status`, 'utf8'))[1]) * 1024;
  const small = new FormData();
  small.append('file', new Blob(['warm-up']), 'w.txt');
  await (await post(`${big.url}/dump.php`, small)).json();
  const before = hwm();
  const bytes = randomBytes(50 * 1024 * 1024);
  const form = new FormData();
  form.append('file', new Blob([bytes]), 'big.bin');
  const got = await (await post(`${big.url}/dump.php`, form)).json();
  const grown = hwm() - before;
  assert.is(got.files.file.size, bytes.length);
  assert.is(got.uploaded[got.files.file.tmp_name].md5, md5(bytes));
  // A copy of the body in memory alone would be 50 MB. Streaming still
  // grows the peak by some 30 MB: socket buffers that wait for the next
  // garbage collection.
  assert.ok(grown < 50 * 1024 * 1024, `the server's peak RSS grew by ${(grown / 1048576).toFixed(1)} MB`);
  await nothingLeft();
});

test.run();
