/**
 * What WorkerPool.stats() returns: the engine's counts at this moment and
 * the cumulative timings. A file of its own, so the metrics and the
 * status view read the same shape without importing the facade.
 */
import type { EngineStats } from './engine.js';
import type { TimeSummary } from './timings.js';

export interface PoolStats extends EngineStats {
  /** Jobs settled since the start, succeeded or failed. */
  completed: number;
  /** Share of the worker capacity (`max` workers since the start) spent running jobs, 0..1. */
  utilization: number;
  /** How long jobs ran on a worker, ms. */
  runTime: TimeSummary;
  /** How long jobs waited for a worker, ms (also jobs that never ran). */
  waitTime: TimeSummary;
}
