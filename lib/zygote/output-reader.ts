/**
 * Reads the output socket shared by a master and all its workers (their
 * stdout or stderr) and splits it into lines per writer. The socket has
 * SO_PASSCRED on, so the kernel names the writer of every read and never
 * mixes two writers' bytes in one: lines come out whole and correctly
 * attributed however the workers' writes interleave.
 */
import { StringDecoder } from 'node:string_decoder';
import { native } from '../native/binding.js';
import { receiveAvailable, type ReceiveEnd } from '../native/receive.js';
import type { NativeBinding, NativePoller } from '../../types/native.js';

/** A line longer than this is cut into pieces, so one writer cannot grow memory without bound. */
const MAX_LINE = 64 * 1024;

export type OutputStream = 'stdout' | 'stderr';
export type LineListener = (pid: number, stream: OutputStream, line: string) => void;

export class OutputReader {
  #fd: number | null;
  readonly #poller: NativePoller;
  readonly #partial = new Map<number, { decoder: StringDecoder; text: string }>();
  readonly #buffer = Buffer.allocUnsafe(64 * 1024);
  readonly #stream: OutputStream;
  readonly #onLine: LineListener;
  readonly #native: NativeBinding;
  readonly #onEnd: () => void;

  /** Takes ownership of `fd`, Node's end of the socket. */
  constructor(fd: number, stream: OutputStream, onLine: LineListener, onEnd: () => void = () => {}, binding: NativeBinding = native) {
    this.#fd = fd;
    this.#stream = stream;
    this.#onLine = onLine;
    this.#onEnd = onEnd;
    this.#native = binding;
    binding.setPassCredentials(fd, true);
    // After a poll error libuv stops watching: end rather than go silent.
    this.#poller = new binding.Poller(fd, (err) => (err ? this.#end() : this.#read()));
    this.#poller.start(binding.Poller.READABLE);
    // Output alone must not keep Node running; the processes' handles do.
    this.#poller.unref();
  }

  /** Emits what `pid` wrote after its last newline (call when it exited). */
  flush(pid: number): void {
    const partial = this.#partial.get(pid);
    if (!partial) return;
    const rest = partial.text + partial.decoder.end();
    this.#partial.delete(pid);
    if (rest.length > 0) this.#onLine(pid, this.#stream, rest);
  }

  close(): void {
    if (this.#fd === null) return;
    this.#read(); // what was already written still counts
    if (this.#fd === null) return;
    this.#end();
  }

  #end(): void {
    for (const pid of [...this.#partial.keys()]) this.flush(pid);
    this.#poller.close();
    this.#native.closeFd(this.#fd as number);
    this.#fd = null;
    this.#onEnd();
  }

  #read(): void {
    if (this.#fd === null) return;
    let end: ReceiveEnd;
    try {
      end = receiveAvailable(this.#native, this.#fd, this.#buffer, () => this.#fd !== null, (bytes, pid) => this.#take(pid ?? 0, bytes));
    } catch {
      end = 'eof';
    }
    if (end === 'eof') this.#end(); // every writer has closed it
  }

  #take(pid: number, bytes: Buffer): void {
    let partial = this.#partial.get(pid);
    if (!partial) {
      partial = { decoder: new StringDecoder('utf8'), text: '' };
      this.#partial.set(pid, partial);
    }
    let text = partial.text + partial.decoder.write(bytes);
    let newline: number;
    while ((newline = text.indexOf('\n')) !== -1) {
      this.#emit(pid, text.slice(0, newline));
      text = text.slice(newline + 1);
    }
    // What is left has no newline yet: whole pieces of MAX_LINE go now.
    const whole = text.length - (text.length % MAX_LINE);
    if (whole > 0) {
      this.#emit(pid, text.slice(0, whole));
      text = text.slice(whole);
    }
    partial.text = text;
  }

  /** One line, in pieces of at most MAX_LINE characters however it arrived. */
  #emit(pid: number, line: string): void {
    if (line.length <= MAX_LINE) {
      this.#onLine(pid, this.#stream, line);
      return;
    }
    for (let i = 0; i < line.length; i += MAX_LINE) this.#onLine(pid, this.#stream, line.slice(i, i + MAX_LINE));
  }
}
