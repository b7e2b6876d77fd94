import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const test = suite('prebuilt binaries');

/** ELF header: class, endianness, type and machine of a shared object. */
function elfHeader(file) {
  const fd = openSync(file, 'r');
  const header = Buffer.alloc(20);
  readSync(fd, header, 0, 20, 0);
  closeSync(fd);
  return {
    magic: header.subarray(0, 4).toString('latin1'),
    is64: header[4] === 2,
    littleEndian: header[5] === 1,
    type: header.readUInt16LE(16),     // 3 = ET_DYN, a shared object
    machine: header.readUInt16LE(18),  // 62 = x86-64, 183 = AArch64
  };
}

test('both prebuilt request loops export every function php/ffi/request-loop.h declares (rebuilt after a change)', () => {
  const header = readFileSync(join(root, 'php/ffi/request-loop.h'), 'utf8');
  const declared = [...header.matchAll(/^[\w ]+?\**\s*(zygote_\w+)\(/gm)].map((m) => m[1]);
  assert.ok(declared.length >= 10, `declarations read from the header (${declared.join(', ')})`);
  for (const arch of ['x64', 'arm64']) {
    const exported = execFileSync('nm', ['-D', '--defined-only', join(root, `prebuilds/linux-${arch}/php-request-loop.so`)], { encoding: 'utf8' });
    for (const name of declared) assert.ok(new RegExp(` T ${name}$`, 'm').test(exported), `${name} in prebuilds/linux-${arch}/php-request-loop.so (scripts/prebuild.sh rebuilds it)`);
  }
});

test('the package loads its prebuild when there is no build/ folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'php-zygote-prebuild-'));
  try {
    for (const part of ['package.json', 'dist', 'prebuilds']) cpSync(join(root, part), join(dir, part), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    assert.not.ok(existsSync(join(dir, 'build')));
    const script = `
      const loaded = require('node-gyp-build').path(${JSON.stringify(dir)});
      const z = require(${JSON.stringify(join(dir, 'dist/lib/index.js'))});
      const fd = z.pidfdOpen(process.pid);
      console.log(JSON.stringify({ loaded, closed: z.closeFd(fd) }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
    assert.is(out.loaded, join(dir, 'prebuilds', `linux-${process.arch}`, 'php-zygote.node'));
    assert.is(out.closed, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the x64 prebuild is an x86-64 shared object', () => {
  const elf = elfHeader(join(root, 'prebuilds/linux-x64/php-zygote.node'));
  assert.equal(elf, { magic: '\x7fELF', is64: true, littleEndian: true, type: 3, machine: 62 });
});

test('the arm64 prebuild is an aarch64 shared object (checked by ELF header and file(1))', () => {
  const file = join(root, 'prebuilds/linux-arm64/php-zygote.node');
  const elf = elfHeader(file);
  assert.equal(elf, { magic: '\x7fELF', is64: true, littleEndian: true, type: 3, machine: 183 });
  const described = spawnSync('file', ['-L', file], { encoding: 'utf8' });
  assert.not.ok(described.error, 'file(1) is needed for this check: apt-get install -y file');
  assert.match(described.stdout, /ELF 64-bit LSB shared object, ARM aarch64/);
});

test('loading on a platform other than Linux fails with a clear error', () => {
  const script = `
    Object.defineProperty(process, 'platform', { value: 'darwin' });
    try { require(${JSON.stringify(join(root, 'dist/lib/index.js'))}); console.log('loaded'); }
    catch (e) { console.log(e.code + ' ' + e.message); }`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim();
  assert.is(out, 'ERR_UNSUPPORTED_PLATFORM php-zygote needs Linux 5.10+ (this is darwin)');
});

test.run();
