// ControlChannel: Node's end of a master's control socket, on a real
// socket pair, with the other end played by Node itself (as raw bytes and
// fds), so each rule of the channel is seen on the wire.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ControlChannel, FrameDecoder, ProtocolError, closeFd, encodeFrame, native, receiveFds, socketPair } from 'php-zygote';
import { until, within } from './helpers.mjs';

const test = suite('ControlChannel: control frames and fds on a raw socket');

let open = [];
test.after.each(() => {
  for (const close of open) close();
  open = [];
});

/** A channel on one end of a fresh pair; the other end (non-blocking) is the test's. */
function channel(maxFrameSize = 1 << 20) {
  const [ours, theirs] = socketPair({ nonblock: true });
  const control = new ControlChannel(ours, maxFrameSize);
  const events = { messages: [], closed: undefined };
  control.on('message', (m) => events.messages.push(m));
  control.on('close', (e) => { events.closed = e; });
  open.push(() => { control.close(); closeFd(theirs); });
  return { control, peer: theirs, events };
}

const frame = (context, flags = 1) => Buffer.concat(encodeFrame(0, flags, context));
const write = (fd, bytes) => native.sendFds(fd, bytes, []);

test('messages arrive in order, whole, however the bytes are cut', async () => {
  const { peer, events } = channel();
  const bytes = Buffer.concat([frame({ type: 'hello', n: 1 }), frame({ type: 'forked', id: 2, pid: 3 }), frame({ type: 'exited', pid: 3, code: 0 })]);
  for (let i = 0; i < bytes.length; i += 7) {
    write(peer, bytes.subarray(i, i + 7));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await until(() => events.messages.length === 3, 5000, 'three messages');
  assert.equal(events.messages.map((m) => m.type), ['hello', 'forked', 'exited']);
  assert.is(events.closed, undefined, 'still open');
});

test('a frame that is not a control message closes the channel with a ProtocolError', async () => {
  const { peer, events, control } = channel();
  write(peer, frame({ type: 'job' }, 0));
  await until(() => events.closed !== undefined, 5000, 'the close');
  assert.instance(events.closed, ProtocolError);
  assert.match(events.closed.message, /not a control message/);
  assert.ok(control.closed);
});

test('end of file between frames is a clean close; in the middle of a frame a ProtocolError', async () => {
  const clean = channel();
  write(clean.peer, frame({ type: 'hello' }));
  closeFd(clean.peer);
  await until(() => clean.events.closed !== undefined, 5000, 'the clean close');
  assert.is(clean.events.closed, null);
  assert.equal(clean.events.messages.map((m) => m.type), ['hello']);

  const cut = channel();
  write(cut.peer, frame({ type: 'hello' }).subarray(0, 10));
  closeFd(cut.peer);
  await until(() => cut.events.closed !== undefined, 5000, 'the close mid-frame');
  assert.instance(cut.events.closed, ProtocolError);
  assert.match(cut.events.closed.message, /middle of a frame/);
});

test('send() passes fds with the frame and gives them up; after close it throws and still closes them', async () => {
  const { control, peer } = channel();
  const [a, b] = socketPair();
  control.send({ type: 'fork', id: 1 }, [a]);
  assert.is(closeFd(a), false, 'the channel closed our copy once sent');
  const buffer = Buffer.alloc(256);
  const got = await within(until(() => receiveFds(peer, buffer, 4), 5000, 'the frame'), 6000, 'receive');
  const [decoded] = new FrameDecoder().push(buffer.subarray(0, got.bytes));
  assert.equal(decoded.context, { type: 'fork', id: 1 });
  assert.is(got.fds.length, 1, 'one fd travelled with it');
  closeFd(got.fds[0]);

  control.close();
  assert.throws(() => control.send({ type: 'fork', id: 2 }, [b]), (e) => e instanceof ProtocolError && /closed/.test(e.message));
  assert.is(closeFd(b), false, 'an fd handed to a closed channel is closed, not leaked');
});

test('a frame larger than maxFrameSize from the peer closes the channel', async () => {
  const { peer, events } = channel(1024);
  write(peer, frame({ type: 'hello', pad: 'x'.repeat(2000) }));
  await until(() => events.closed !== undefined, 5000, 'the close');
  assert.instance(events.closed, ProtocolError);
  assert.match(events.closed.message, /exceeds the maximum of 1024/);
});

test.run();
