/**
 * The output of one master and all its workers: their shared stdout and
 * stderr sockets, read as lines per writing pid (OutputReader), emitted
 * as log events, and the last lines of each process kept for error
 * messages (a worker's fatal error, a boot that failed).
 */
import { EventEmitter } from 'node:events';
import { native } from '../native/binding.js';
import { delay } from '../util/deadline.js';
import { OutputReader, type OutputStream } from './output-reader.js';
import type { NativeBinding } from '../../types/native.js';

export interface LogLine {
  pid: number;
  /** What a PHP process wrote, or 'pool': a notice of the pool itself (pid: Node's). */
  stream: OutputStream | 'pool';
  line: string;
}

/** After a process died, how long its last output may take to arrive. */
const DRAIN_MS = 1000;

export class MasterOutput extends EventEmitter<{ log: [line: LogLine] }> {
  readonly #readers: OutputReader[];
  readonly #kept = new Map<number, string[]>();
  readonly #keep: number;
  /** Resolves when both sockets reached end of file: every writer closed them. */
  readonly #ended: Promise<void>;

  /** Takes ownership of Node's ends of the stdout and stderr sockets. */
  constructor(stdoutFd: number, stderrFd: number, keepLines: number, binding: NativeBinding = native) {
    super();
    this.#keep = keepLines;
    let open = 2;
    let ended!: () => void;
    this.#ended = new Promise<void>((resolve) => (ended = resolve));
    const onEnd = () => {
      if (--open === 0) ended();
    };
    const onLine = (pid: number, stream: OutputStream, line: string) => this.#onLine(pid, stream, line);
    this.#readers = [new OutputReader(stdoutFd, 'stdout', onLine, onEnd, binding), new OutputReader(stderrFd, 'stderr', onLine, onEnd, binding)];
  }

  /** The last output lines of a process (the master or one of its workers). */
  lastLogs(pid: number): string[] {
    return [...(this.#kept.get(pid) ?? [])];
  }

  /** `pid` exited: emit what it wrote after its last newline, and forget its lines a turn later. */
  processExited(pid: number): void {
    for (const reader of this.#readers) reader.flush(pid);
    // Kept for one more turn so exit handlers can still quote the output.
    setImmediate(() => this.#kept.delete(pid));
  }

  /** Waits (bounded) until every writer closed the sockets, so the output is complete. */
  async drained(): Promise<void> {
    await Promise.race([this.#ended, delay(DRAIN_MS)]);
  }

  close(): void {
    for (const reader of this.#readers) reader.close();
  }

  #onLine(pid: number, stream: OutputStream, line: string): void {
    let kept = this.#kept.get(pid);
    if (!kept) this.#kept.set(pid, (kept = []));
    kept.push(line);
    if (kept.length > this.#keep) kept.shift();
    this.emit('log', { pid, stream, line });
  }
}
