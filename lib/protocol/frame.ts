/**
 * The frame codec of docs/protocol.md, version 1.
 *
 *   magic 0x5A | version | flags | 0 | job id u32 | context len u32 | body len u32 | context | body
 *
 * Encoding returns the pieces for one writev (no payload copy); decoding
 * hands out slices of the received chunk when a frame arrived in one piece
 * and copies each payload byte once otherwise.
 */
import { InvalidContextError, ProtocolError } from '../errors.js';

export const MAGIC = 0x5a;
export const VERSION = 1;
export const HEADER_SIZE = 16;
export const FLAG_CONTROL = 1;
export const FLAG_ERROR = 2;
export const FLAG_MORE = 4;
const KNOWN_FLAGS = FLAG_CONTROL | FLAG_ERROR | FLAG_MORE;
export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024;

export type Context = Record<string, unknown>;

export interface Frame {
  id: number;
  flags: number;
  context: Context;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);

/**
 * A context as the JSON bytes PHP will decode, or an empty buffer for {}.
 * Throws InvalidContextError for what cannot cross to PHP: values
 * JSON.stringify refuses (BigInt, cycles, a throwing toJSON), a top level
 * that is not an object, and strings holding a lone UTF-16 surrogate,
 * which has no UTF-8 form: PHP's json_decode rejects its \\uXXXX escape.
 * Refusing here fails that job alone, before it reaches a worker.
 */
export function encodeContext(context: Context | undefined): Buffer {
  if (context === undefined) return EMPTY;
  let json: string | undefined;
  try {
    json = JSON.stringify(context);
  } catch (err) {
    throw new InvalidContextError(`it cannot be encoded as JSON: ${(err as Error).message}`, { cause: err });
  }
  if (json === undefined || json.charCodeAt(0) !== 0x7b /* { */) throw new InvalidContextError('it must encode to a JSON object');
  if (json.length === 2) return EMPTY;
  // JSON.stringify writes \u escapes only for control characters and lone
  // surrogates, so the cheap test rarely needs the exact one.
  if (json.includes('\\ud') && LONE_SURROGATE.test(json)) {
    throw new InvalidContextError('a string in it holds a lone UTF-16 surrogate, which has no UTF-8 form');
  }
  return Buffer.from(json);
}

/** A \\ud800-\\udfff escape whose backslash is not itself escaped. */
const LONE_SURROGATE = /(?<!\\)(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/;

/**
 * Header, context and body as separate buffers, ready for a corked write
 * or sendmsg. `context` may be given already encoded (encodeContext).
 */
export function encodeFrame(id: number, flags: number, context: Context | Buffer | undefined, body: Uint8Array | string = EMPTY): [Buffer, Buffer, Buffer] {
  const json = Buffer.isBuffer(context) ? context : encodeContext(context);
  const payload = typeof body === 'string' ? Buffer.from(body) : Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  header[0] = MAGIC;
  header[1] = VERSION;
  header[2] = flags;
  header[3] = 0;
  header.writeUInt32LE(id, 4);
  header.writeUInt32LE(json.length, 8);
  header.writeUInt32LE(payload.length, 12);
  return [header, json, payload];
}

export function isControl(frame: Frame): boolean {
  return (frame.flags & FLAG_CONTROL) !== 0;
}

interface PendingFrame {
  id: number;
  flags: number;
  contextLength: number;
  /** Where a payload split across chunks is gathered; null until needed. */
  payload: Buffer | null;
  fill: number;
  size: number;
}

/**
 * Turns a byte stream into frames. push() returns the frames completed by
 * a chunk and throws ProtocolError on malformed input; after that the
 * decoder refuses further input, as the stream is out of step for good.
 */
export class FrameDecoder {
  readonly #maxFrameSize: number;
  #header = Buffer.allocUnsafe(HEADER_SIZE);
  #headerFill = 0;
  #pending: PendingFrame | null = null;
  #failed: ProtocolError | null = null;

  constructor(maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE) {
    this.#maxFrameSize = maxFrameSize;
  }

  /** True while a frame has started but not finished (end of stream here means truncation). */
  get midFrame(): boolean {
    return this.#headerFill > 0 || this.#pending !== null;
  }

  push(chunk: Buffer): Frame[] {
    if (this.#failed) throw this.#failed;
    const frames: Frame[] = [];
    let offset = 0;
    try {
      while (offset < chunk.length) {
        if (this.#pending === null) {
          const take = Math.min(HEADER_SIZE - this.#headerFill, chunk.length - offset);
          chunk.copy(this.#header, this.#headerFill, offset, offset + take);
          this.#headerFill += take;
          offset += take;
          if (this.#headerFill < HEADER_SIZE) break;
          this.#headerFill = 0;
          this.#pending = this.#readHeader();
        }
        const pending = this.#pending;
        const remaining = pending.size - pending.fill;
        if (pending.payload === null && chunk.length - offset >= pending.size) {
          // The whole payload is in this chunk: hand out a slice, copy nothing.
          frames.push(this.#finish(pending, chunk.subarray(offset, offset + pending.size)));
          offset += pending.size;
          continue;
        }
        pending.payload ??= Buffer.allocUnsafe(pending.size);
        const take = Math.min(remaining, chunk.length - offset);
        chunk.copy(pending.payload, pending.fill, offset, offset + take);
        pending.fill += take;
        offset += take;
        if (pending.fill === pending.size) frames.push(this.#finish(pending, pending.payload));
      }
    } catch (err) {
      this.#failed = err instanceof ProtocolError ? err : new ProtocolError(String(err), { cause: err });
      throw this.#failed;
    }
    return frames;
  }

  #readHeader(): PendingFrame {
    const h = this.#header;
    if (h[0] !== MAGIC) throw new ProtocolError(`bad magic byte 0x${h[0].toString(16).padStart(2, '0')} (expected 0x5a)`);
    if (h[1] !== VERSION) throw new ProtocolError(`unsupported protocol version ${h[1]} (this side speaks ${VERSION})`);
    if ((h[2] & ~KNOWN_FLAGS) !== 0 || h[3] !== 0) {
      throw new ProtocolError(`unknown flags 0x${h[2].toString(16)} or reserved byte 0x${h[3].toString(16)}`);
    }
    const contextLength = h.readUInt32LE(8);
    const bodyLength = h.readUInt32LE(12);
    if (contextLength + bodyLength > this.#maxFrameSize) {
      throw new ProtocolError(`frame of ${contextLength} + ${bodyLength} bytes exceeds the maximum of ${this.#maxFrameSize}`);
    }
    return { id: h.readUInt32LE(4), flags: h[2], contextLength, payload: null, fill: 0, size: contextLength + bodyLength };
  }

  #finish(pending: PendingFrame, payload: Buffer): Frame {
    this.#pending = null;
    return {
      id: pending.id,
      flags: pending.flags,
      context: decodeContext(payload.subarray(0, pending.contextLength)),
      body: payload.subarray(pending.contextLength),
    };
  }
}

function decodeContext(json: Buffer): Context {
  if (json.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch (err) {
    throw new ProtocolError(`context is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProtocolError('context must be a JSON object');
  }
  return value as Context;
}
