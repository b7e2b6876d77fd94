/**
 * How many workers fit in memory, for `workers: { max: 'auto' }`. PaaS
 * sizing (`n * (php_ram + x)`) counts each worker's full RSS, which counts
 * the pages a forked worker shares with its master again in every worker,
 * and overstates what a worker costs many times. Here a worker costs its
 * PSS (shared pages split among the sharers), measured as the pool runs:
 *
 *   allowed = (limit - headroom - in use by all but the workers) / worker cost
 *
 * A worker's cost is the highest median worker PSS measured so far: a
 * fresh fork reads a fraction of what it will cost once it has served,
 * so a median that fell because new workers joined must not let more in,
 * and every worker, new or not, is counted at that cost rather than at
 * what it reads now.
 *
 * `limit` is memoryBudget if given, else the container's (cgroup) limit,
 * else the machine's memory. An isolated pool has up to two processes per
 * job it may run (the worker running it and the ready fork that will take
 * the next), so there a worker allowed is counted as two processes.
 * `in use` is the cgroup's own figure when there is one (it counts Node,
 * the masters and the workers as the kernel does), else Node's RSS plus
 * the masters' and workers' PSS.
 */
import { totalmem } from 'node:os';
import { cgroupMemory, type CgroupMemory } from '../process/cgroup.js';
import { readMemory } from '../process/memory.js';

/** Until a worker was measured, assume this much per worker. */
const DEFAULT_WORKER_COST = 16 * 1024 * 1024;
/** A worker costs at least this much (PSS of a fresh fork can read near 0). */
const MIN_WORKER_COST = 1024 * 1024;
const HEADROOM = 0.1;

export interface BudgetReading {
  /** Bytes the pool may fill, and where that figure comes from. */
  limit: number;
  source: 'memoryBudget' | 'cgroup' | 'machine';
  /** Bytes in use now (cgroup, or Node + masters + workers). */
  used: number;
  /** What a worker costs, bytes: the highest median worker PSS measured so far. */
  perWorker: number;
  /** How many workers fit, at least `min`, at most `cap` (isolated: jobs at once, two processes each). */
  allowed: number;
}

export class MemoryBudget {
  readonly #budget: number | null;
  readonly #cgroup: CgroupMemory | null;
  readonly #min: number;
  readonly #cap: number;
  readonly #processesPerWorker: number;
  #reading: BudgetReading | null = null;

  constructor(
    budget: number | null,
    min: number,
    cap: number,
    { cgroup = cgroupMemory(), processesPerWorker = 1 }: { cgroup?: CgroupMemory | null; processesPerWorker?: number } = {},
  ) {
    this.#budget = budget;
    this.#cgroup = cgroup;
    this.#min = min;
    this.#cap = cap;
    this.#processesPerWorker = processesPerWorker;
  }

  /** The last reading; before the first one, `min` workers (at least 1) are allowed. */
  get reading(): BudgetReading | null {
    return this.#reading;
  }

  get allowed(): number {
    return this.#reading?.allowed ?? Math.max(1, this.#min);
  }

  /** Measures the masters and workers and works out how many workers fit. */
  async measure(masterPids: number[], workerPids: number[]): Promise<BudgetReading> {
    const [masters, workers] = await Promise.all([
      Promise.all(masterPids.map((pid) => readMemory(pid))),
      Promise.all(workerPids.map((pid) => readMemory(pid))),
    ]);
    const pss = workers.flatMap((m) => (m ? [m.pss] : [])).sort((a, b) => a - b);
    const median = pss.length > 0 ? pss[Math.floor(pss.length / 2)] : DEFAULT_WORKER_COST;
    const perWorker = Math.max(MIN_WORKER_COST, median, this.#reading?.perWorker ?? 0);
    const workersPss = pss.reduce((sum, bytes) => sum + bytes, 0);
    const cgroupLimit = this.#cgroup?.limit ?? null;
    const [limit, source]: [number, BudgetReading['source']] =
      this.#budget !== null ? [this.#budget, 'memoryBudget'] : cgroupLimit !== null ? [cgroupLimit, 'cgroup'] : [totalmem(), 'machine'];
    const cgroupUsed = this.#budget === null ? (this.#cgroup?.usage() ?? null) : null;
    const used =
      cgroupUsed ??
      process.memoryUsage.rss() + [...masters, ...workers].reduce((sum, m) => sum + (m?.pss ?? 0), 0);
    const room = limit * (1 - HEADROOM) - (used - workersPss);
    // Processes that fit, then workers: in an isolated pool a ready fork
    // stands behind each running job, and `allowed` caps both.
    const fit = Math.floor(Math.floor(room / perWorker) / this.#processesPerWorker);
    const allowed = Math.min(this.#cap, Math.max(this.#min, 1, fit));
    this.#reading = { limit, source, used, perWorker, allowed };
    return this.#reading;
  }
}
