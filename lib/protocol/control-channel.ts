/**
 * Node's end of a master's control socket: frames in and out on a raw fd,
 * because `fork` frames carry an fd (SCM_RIGHTS), which net.Socket cannot
 * send. Reads and writes are driven by one Poller on the loop.
 */
import { EventEmitter } from 'node:events';
import { native } from '../native/binding.js';
import { receiveAvailable, type ReceiveEnd } from '../native/receive.js';
import { ProtocolError } from '../errors.js';
import { FLAG_CONTROL, FrameDecoder, encodeFrame, isControl, type Context, type Frame } from './frame.js';
import type { NativeBinding, NativePoller } from '../../types/native.js';

interface Outgoing {
  data: Buffer;
  /** Sent with the first byte of `data`, then closed here. */
  fds: number[];
}

export interface ControlChannelEvents {
  message: [context: Context];
  /** Once: null at a clean end of file, else why the channel closed. */
  close: [error: Error | null];
}

export class ControlChannel extends EventEmitter<ControlChannelEvents> {
  #fd: number | null;
  readonly #poller: NativePoller;
  readonly #decoder: FrameDecoder;
  readonly #queue: Outgoing[] = [];
  readonly #buffer = Buffer.allocUnsafe(64 * 1024);
  readonly #native: NativeBinding;

  /** Takes ownership of `fd`. */
  constructor(fd: number, maxFrameSize: number, binding: NativeBinding = native) {
    super();
    this.#fd = fd;
    this.#native = binding;
    this.#decoder = new FrameDecoder(maxFrameSize);
    // uv_poll_init makes our end non-blocking; the PHP end stays blocking.
    this.#poller = new binding.Poller(fd, (err, events) => this.#onPoll(err, events));
    this.#poller.start(binding.Poller.READABLE);
  }

  get closed(): boolean {
    return this.#fd === null;
  }

  /**
   * Queues a control frame. `fds` travel with it and are closed here once
   * sent (or when the channel closes first): the caller gives them up.
   */
  send(context: Context, fds: number[] = []): void {
    if (this.#fd === null) {
      for (const fd of fds) this.#native.closeFd(fd);
      throw new ProtocolError('the control channel is closed');
    }
    this.#queue.push({ data: Buffer.concat(encodeFrame(0, FLAG_CONTROL, context)), fds });
    this.#flush();
  }

  /** Lets Node exit while the master is alive (the ChildProcess keeps its own ref). */
  unref(): void {
    this.#poller.unref();
  }

  close(error: Error | null = null): void {
    if (this.#fd === null) return;
    this.#poller.close();
    for (const pending of this.#queue) for (const fd of pending.fds) this.#native.closeFd(fd);
    this.#queue.length = 0;
    this.#native.closeFd(this.#fd);
    this.#fd = null;
    this.emit('close', error);
  }

  #flush(): void {
    while (this.#queue.length > 0 && this.#fd !== null) {
      const next = this.#queue[0];
      let sent: number;
      try {
        sent = this.#native.sendFds(this.#fd, next.data, next.fds);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
        this.close(err as Error);
        return;
      }
      for (const fd of next.fds) this.#native.closeFd(fd);
      next.fds = [];
      if (sent < next.data.length) {
        next.data = next.data.subarray(sent);
      } else {
        this.#queue.shift();
      }
    }
    if (this.#fd !== null) {
      const { READABLE, WRITABLE } = this.#native.Poller;
      this.#poller.start(this.#queue.length > 0 ? READABLE | WRITABLE : READABLE);
    }
  }

  #onPoll(err: Error | null, events: number): void {
    if (err) {
      this.close(err);
      return;
    }
    if (events & this.#native.Poller.WRITABLE) this.#flush();
    if (events & this.#native.Poller.READABLE) this.#read();
  }

  #read(): void {
    if (this.#fd === null) return;
    let end: ReceiveEnd;
    try {
      end = receiveAvailable(this.#native, this.#fd, this.#buffer, () => this.#fd !== null, (bytes) => this.#take(bytes));
    } catch (err) {
      this.close(err as Error);
      return;
    }
    if (end === 'eof') this.close(this.#decoder.midFrame ? new ProtocolError('the master closed its control socket in the middle of a frame') : null);
  }

  #take(bytes: Buffer): void {
    let frames: Frame[];
    try {
      // Copy out of the shared read buffer: frames may keep slices of it.
      frames = this.#decoder.push(Buffer.from(bytes));
    } catch (err) {
      this.close(err as Error);
      return;
    }
    for (const frame of frames) {
      if (this.#fd === null) return; // a listener closed the channel
      if (!isControl(frame) || typeof frame.context.type !== 'string') {
        this.close(new ProtocolError('the master sent a frame that is not a control message'));
        return;
      }
      this.emit('message', frame.context);
    }
  }
}
