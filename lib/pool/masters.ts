/**
 * The pool's masters: the current one, which forks new workers, and
 * during a reload (or after a master died) older ones whose workers are
 * still finishing. Booting is shared: concurrent forks wait for the same
 * boot instead of each starting a master.
 */
import { performance } from 'node:perf_hooks';
import { PoolClosedError } from '../errors.js';
import type { LogLine, MasterOptions } from '../zygote/master.js';
import type { MasterFactory, PoolMaster } from './master-factory.js';

export interface MastersEvents {
  log(line: LogLine): void;
  /** A boot failed (MasterStartError, with the master's output). */
  bootFailed(error: Error): void;
  /** A new master became current; its boot took `ms`. */
  booted(master: PoolMaster, ms: number): void;
  /** The current master died while the pool still wanted it. */
  currentDied(master: PoolMaster): void;
}

export class Masters {
  readonly #factory: MasterFactory;
  readonly #options: MasterOptions;
  readonly #events: MastersEvents;
  /**
   * Every master not closed yet, dead ones included: closing one that
   * died is what ends the processes its workers left behind.
   */
  readonly #all = new Set<PoolMaster>();
  readonly #dead = new Set<PoolMaster>();
  #current: PoolMaster | null = null;
  #booting: Promise<PoolMaster> | null = null;
  #closed = false;

  constructor(factory: MasterFactory, options: MasterOptions, events: MastersEvents) {
    this.#factory = factory;
    this.#options = options;
    this.#events = events;
  }

  /** The master new workers come from; null while none is alive. */
  get current(): PoolMaster | null {
    return this.#current?.alive ? this.#current : null;
  }

  /** Masters still running, current or not. */
  get count(): number {
    return this.#all.size - this.#dead.size;
  }

  /** The current master, booting one if there is none. */
  get(): Promise<PoolMaster> {
    const current = this.current;
    if (current) return Promise.resolve(current);
    this.#booting ??= this.boot().finally(() => {
      this.#booting = null;
    });
    return this.#booting;
  }

  /** Boots a new master and makes it current (reload, recovery). The previous ones keep running. */
  async boot(): Promise<PoolMaster> {
    const started = performance.now();
    let master: PoolMaster;
    try {
      master = await this.#factory(this.#options);
    } catch (err) {
      this.#events.bootFailed(err as Error);
      throw err;
    }
    this.#all.add(master);
    master.on('log', (line) => this.#events.log(line));
    void master.exited.then(() => {
      if (this.#all.has(master)) this.#dead.add(master);
      if (this.#current === master) {
        this.#current = null;
        if (!this.#closed) this.#events.currentDied(master);
      }
    });
    if (this.#closed) {
      await this.close(master);
      throw new PoolClosedError('the worker pool closed while a master was booting');
    }
    this.#current = master;
    this.#events.booted(master, performance.now() - started);
    return master;
  }

  /** Masters other than the current one. */
  others(): PoolMaster[] {
    return [...this.#all].filter((m) => m !== this.#current);
  }

  async close(master: PoolMaster): Promise<void> {
    await master.close();
    this.#all.delete(master);
    this.#dead.delete(master);
  }

  /** Closes every master, after any boot in flight has finished. */
  async closeAll(): Promise<void> {
    this.#closed = true;
    await this.settled();
    await Promise.all([...this.#all].map((m) => this.close(m)));
    this.#current = null;
  }

  /** Waits for a boot in flight, if any. */
  async settled(): Promise<void> {
    if (this.#booting) await this.#booting.catch(() => {});
  }
}
