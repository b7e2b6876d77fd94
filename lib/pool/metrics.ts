/**
 * A pool's metrics in the Prometheus text format, through prom-client (the
 * library Node services use), so they scrape and merge like every other
 * Node metric. Counts come from the pool's cumulative Timings and its
 * stats() at scrape time; the time histograms observe from the moment
 * metrics() was first called.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { readMemory } from '../process/memory.js';
import type { JobOutcome } from './engine.js';
import type { PoolStats } from './stats.js';
import type { Timings } from './timings.js';

export interface MetricsOptions {
  /** Where to register; default a new Registry. One pool per prefix in a registry. */
  registry?: Registry;
  /** Metric name prefix. Default 'php_zygote_'. */
  prefix?: string;
}

/** Buckets (seconds) for job times: a PHP job takes from tens of microseconds to many seconds. */
const JOB_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const FORK_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];
const BOOT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class PoolMetrics {
  readonly registry: Registry;
  readonly #wait: Histogram;
  readonly #run: Histogram;
  readonly #fork: Histogram;
  readonly #boot: Histogram;

  constructor(stats: () => PoolStats, timings: Timings, { registry = new Registry(), prefix = 'php_zygote_' }: MetricsOptions = {}) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) throw new TypeError(`options.prefix must be a Prometheus metric name prefix (got ${JSON.stringify(prefix)})`);
    this.registry = registry;
    const registers = [registry];
    const name = (n: string) => `${prefix}${n}`;
    new Gauge({
      name: name('workers'), help: 'Workers by state.', labelNames: ['state'], registers,
      collect() {
        const { workers } = stats();
        for (const state of ['starting', 'idle', 'busy', 'retiring'] as const) this.set({ state }, workers[state]);
      },
    });
    new Gauge({ name: name('queue_length'), help: 'Jobs waiting for a worker.', registers, collect() { this.set(stats().jobs.queued); } });
    new Gauge({ name: name('jobs_running'), help: 'Jobs on a worker now.', registers, collect() { this.set(stats().jobs.running); } });
    new Gauge({ name: name('masters'), help: 'PHP masters running (two during a reload).', registers, collect() { this.set(stats().masters); } });
    new Gauge({
      name: name('state'), help: 'The pool\'s life cycle: 1 for its current state.', labelNames: ['state'], registers,
      collect() {
        const current = stats().state;
        for (const state of ['starting', 'running', 'crash-loop', 'closing', 'closed']) this.set({ state }, state === current ? 1 : 0);
      },
    });
    new Gauge({
      name: name('worker_memory_bytes'), help: 'Each worker\'s memory at scrape time (PSS counts shared pages once; RSS counts them in every worker).',
      labelNames: ['pid', 'metric'], registers,
      async collect() {
        const workers = stats().list;
        const readings = await Promise.all(workers.map((w) => readMemory(w.pid)));
        this.reset(); // workers that left must not linger
        workers.forEach((worker, i) => {
          const memory = readings[i];
          if (!memory) return; // exited meanwhile
          this.set({ pid: String(worker.pid), metric: 'pss' }, memory.pss);
          this.set({ pid: String(worker.pid), metric: 'rss' }, memory.rss);
        });
      },
    });
    // Opcache's shared memory, as the master reported it at the last check.
    new Gauge({
      name: name('opcache_memory_bytes'), help: 'Opcache shared memory by kind (used, free, wasted), at the last check.', labelNames: ['kind'], registers,
      collect() {
        const o = stats().opcache;
        this.reset();
        if (!o) return;
        this.set({ kind: 'used' }, o.usedMemory);
        this.set({ kind: 'free' }, o.freeMemory);
        this.set({ kind: 'wasted' }, o.wastedMemory);
      },
    });
    new Gauge({
      name: name('opcache_interned_strings_bytes'), help: 'Opcache interned strings buffer by kind (used, free).', labelNames: ['kind'], registers,
      collect() {
        const o = stats().opcache;
        this.reset();
        if (!o) return;
        this.set({ kind: 'used' }, o.internedUsed);
        this.set({ kind: 'free' }, o.internedFree);
      },
    });
    new Gauge({
      name: name('opcache_cached_scripts'), help: 'Scripts in opcache\'s shared memory.', registers,
      collect() { this.set(stats().opcache?.cachedScripts ?? 0); },
    });
    new Gauge({
      name: name('opcache_hit_ratio'), help: 'Opcache hits / (hits + misses) since its start.', registers,
      collect() {
        const o = stats().opcache;
        this.set(o && o.hits + o.misses > 0 ? o.hits / (o.hits + o.misses) : 0);
      },
    });
    new Gauge({
      name: name('opcache_too_small'), help: '1 when opcache filled again right after a reload for a full cache: raise opcache.memory_consumption.', registers,
      collect() { this.set(stats().opcacheTooSmall ? 1 : 0); },
    });
    new Counter({
      name: name('opcache_reloads_total'), help: 'Reloads for a full opcache.', registers,
      collect() {
        this.reset();
        this.inc(stats().opcacheReloads);
      },
    });
    // Counters follow Timings, which counts from the pool's start.
    new Counter({
      name: name('jobs_total'), help: 'Jobs settled, by outcome: done, or the error code.', labelNames: ['outcome'], registers,
      collect() {
        this.reset();
        for (const [outcome, n] of timings.jobs) this.inc({ outcome }, n);
      },
    });
    new Counter({
      name: name('worker_exits_total'), help: 'Workers that left, by reason.', labelNames: ['reason'], registers,
      collect() {
        this.reset();
        for (const [reason, n] of timings.exits) this.inc({ reason }, n);
      },
    });
    new Counter({
      name: name('master_boots_total'), help: 'PHP masters booted (start, reloads, recoveries).', registers,
      collect() {
        this.reset();
        this.inc(timings.masterBoots);
      },
    });
    this.#wait = new Histogram({ name: name('job_wait_seconds'), help: 'Time jobs waited for a worker.', buckets: JOB_BUCKETS, registers });
    this.#run = new Histogram({ name: name('job_run_seconds'), help: 'Time jobs ran on a worker.', buckets: JOB_BUCKETS, registers });
    this.#fork = new Histogram({ name: name('fork_seconds'), help: 'From a fork request to a ready worker.', buckets: FORK_BUCKETS, registers });
    this.#boot = new Histogram({ name: name('master_boot_seconds'), help: 'Time a master took to boot the app.', buckets: BOOT_BUCKETS, registers });
  }

  job(outcome: JobOutcome): void {
    this.#wait.observe(outcome.waitMs / 1000);
    if (outcome.runMs !== null) this.#run.observe(outcome.runMs / 1000);
  }

  fork(ms: number): void {
    this.#fork.observe(ms / 1000);
  }

  masterBoot(ms: number): void {
    this.#boot.observe(ms / 1000);
  }
}
