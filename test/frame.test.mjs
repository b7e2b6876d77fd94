import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { FrameDecoder, ProtocolError, closeFd, encodeFrame, socketFromFd, socketPair } from 'php-zygote';
import { killAll, track, within } from './helpers.mjs';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const test = suite('frame codec (docs/protocol.md) on both sides');
test.after.each(killAll);

const bytes = (frame) => Buffer.concat(encodeFrame(...frame));

test('a frame decodes to what was encoded, fed whole or one byte at a time', () => {
  const encoded = Buffer.concat([bytes([7, 4, { a: 'ü' }, 'body']), bytes([8, 0, undefined, ''])]);
  const whole = new FrameDecoder().push(encoded);
  const bytewise = new FrameDecoder();
  const pieces = [];
  for (let i = 0; i < encoded.length; i++) pieces.push(...bytewise.push(encoded.subarray(i, i + 1)));
  for (const frames of [whole, pieces]) {
    assert.is(frames.length, 2);
    assert.equal({ ...frames[0], body: String(frames[0].body) }, { id: 7, flags: 4, context: { a: 'ü' }, body: 'body' });
    assert.equal({ ...frames[1], body: String(frames[1].body) }, { id: 8, flags: 0, context: {}, body: '' });
  }
});

test('a frame that arrives in one chunk is handed out as a slice of it, not a copy', () => {
  const chunk = bytes([1, 0, undefined, Buffer.alloc(1024, 7)]);
  const [frame] = new FrameDecoder().push(chunk);
  assert.is(frame.body.buffer, chunk.buffer);
});

test('malformed headers are refused with named protocol errors, and the decoder stays failed', () => {
  const good = bytes([1, 0, undefined, 'x']);
  const cases = [
    [(b) => { b[0] = 0x41; }, /bad magic byte 0x41/],
    [(b) => { b[1] = 2; }, /unsupported protocol version 2/],
    [(b) => { b[2] = 0x80; }, /unknown flags 0x80/],
    [(b) => { b[3] = 1; }, /reserved byte 0x1/],
    [(b) => { b.writeUInt32LE(2000, 12); }, /exceeds the maximum of 1024/],
  ];
  for (const [mutate, message] of cases) {
    const frame = Buffer.from(good);
    mutate(frame);
    const decoder = new FrameDecoder(1024);
    assert.throws(() => decoder.push(frame), (e) => e instanceof ProtocolError && e.code === 'ERR_PROTOCOL' && message.test(e.message));
    assert.throws(() => decoder.push(good), (e) => e instanceof ProtocolError, 'still failed afterwards');
  }
  /** A frame whose context bytes are `json`, whatever they are. */
  const withContext = (json) => {
    const header = bytes([1, 0, undefined, '']);
    header.writeUInt32LE(Buffer.byteLength(json), 8);
    return Buffer.concat([header, Buffer.from(json)]);
  };
  assert.throws(() => new FrameDecoder().push(withContext('[1,2]')), /context must be a JSON object/);
  assert.throws(() => new FrameDecoder().push(withContext('{no')), /context is not valid JSON/);
});

/** Runs the PHP frame reader on one end of a socket pair and writes `data` into the other. */
async function phpReads(data, maxFrameSize = 1 << 20) {
  const [ours, theirs] = socketPair();
  const child = spawn('php', [`${fixtures}read-frames.php`, String(maxFrameSize)], { stdio: ['ignore', 'pipe', 'inherit', theirs] });
  track(child.pid);
  closeFd(theirs);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => { out += chunk; });
  const socket = socketFromFd(ours);
  socket.on('error', () => {});
  socket.end(data);
  await within(once(child, 'exit'), 10000, 'the php frame reader');
  socket.destroy();
  return out.trim().split('\n');
}

test('PHP decodes frames written by Node, including unicode context and binary bodies', async () => {
  const body = Buffer.from([0, 255, 10, 13, 0]);
  const lines = await phpReads(Buffer.concat([bytes([5, 2, { text: '世界 🐘' }, body]), bytes([6, 0, undefined, ''])]));
  assert.equal(JSON.parse(lines[0]), { id: 5, flags: 2, context: { text: '世界 🐘' }, body: body.toString('base64') });
  assert.equal(JSON.parse(lines[1]), { id: 6, flags: 0, context: [], body: '' });
  assert.is(lines[2], 'end');
});

test('PHP refuses malformed frames from Node with a named ProtocolException', async () => {
  const bad = bytes([1, 0, undefined, 'x']);
  bad[0] = 0x00;
  assert.equal(await phpReads(bad), ['Zygote\\ProtocolException: bad magic byte 0x00 (expected 0x5a)']);
  const big = bytes([1, 0, undefined, Buffer.alloc(4096)]);
  assert.equal(await phpReads(big, 1024), ['Zygote\\ProtocolException: frame of 0 + 4096 bytes exceeds the maximum of 1024']);
  const cut = bytes([1, 0, undefined, 'complete body']).subarray(0, 20);
  assert.match((await phpReads(cut))[0], /^Zygote\\ProtocolException: channel closed in the middle of a frame/);
});

test.run();
