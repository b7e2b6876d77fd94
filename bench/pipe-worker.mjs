// The exec-per-worker baseline as RoadRunner runs it: a fresh `php` per
// worker (same boot, opcache on in each), spoken to with length-prefixed
// frames over its stdin/stdout pipes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export class PipeWorker {
  static async start(appDir) {
    const child = spawn('php', ['-d', 'opcache.enable_cli=1', join(appDir, 'pipe-worker.php')], { stdio: ['pipe', 'pipe', 'inherit'] });
    const worker = new PipeWorker(child);
    await worker.#readyPromise;
    return worker;
  }

  #child;
  #buffer = Buffer.alloc(0);
  #pending = [];
  #readyPromise;

  constructor(child) {
    this.#child = child;
    let ready;
    this.#readyPromise = new Promise((resolve, reject) => {
      ready = resolve;
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`pipe worker exited with ${code}`)));
    });
    let booted = false;
    child.stdout.on('data', (chunk) => {
      this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
      if (!booted) {
        booted = true;
        this.#buffer = this.#buffer.subarray(1); // the 'R' ready byte
        ready();
      }
      while (this.#buffer.length >= 4) {
        const length = this.#buffer.readUInt32LE(0);
        if (this.#buffer.length < 4 + length) break;
        const body = this.#buffer.subarray(4, 4 + length);
        this.#buffer = this.#buffer.subarray(4 + length);
        this.#pending.shift()(body);
      }
    });
  }

  get pid() {
    return this.#child.pid;
  }

  run(body) {
    return new Promise((resolve) => {
      this.#pending.push(resolve);
      const header = Buffer.allocUnsafe(4);
      header.writeUInt32LE(body.length, 0);
      this.#child.stdin.cork();
      this.#child.stdin.write(header);
      this.#child.stdin.write(body);
      this.#child.stdin.uncork();
    });
  }

  async close() {
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.stdin.end();
    await exited;
  }
}
