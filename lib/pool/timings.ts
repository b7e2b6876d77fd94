/**
 * What the pool has done, cumulatively, for stats() and the metrics: jobs
 * by outcome, worker exits by reason, master boots, and the wait and run
 * time distributions (HDR histograms from perf_hooks, in microseconds,
 * reported in ms), as piscina users know them.
 */
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import type { JobOutcome, WorkerExitInfo } from './engine.js';

export interface TimeSummary {
  /** Jobs measured. */
  count: number;
  /** Milliseconds. */
  mean: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
}

export class Timings {
  readonly startedAt = performance.now();
  readonly #run: RecordableHistogram = createHistogram();
  readonly #wait: RecordableHistogram = createHistogram();
  #runMsTotal = 0;
  /** Jobs settled, by outcome: 'done', or the error's code ('ERR_JOB_FAILED', ...). */
  readonly jobs = new Map<string, number>();
  /** Worker exits by reason. */
  readonly exits = new Map<string, number>();
  masterBoots = 0;

  job(outcome: JobOutcome): void {
    const key = outcome.error ? String((outcome.error as { code?: unknown }).code ?? outcome.error.name) : 'done';
    this.jobs.set(key, (this.jobs.get(key) ?? 0) + 1);
    this.#wait.record(micros(outcome.waitMs));
    if (outcome.runMs !== null) {
      this.#run.record(micros(outcome.runMs));
      this.#runMsTotal += outcome.runMs;
    }
  }

  exit(info: WorkerExitInfo): void {
    this.exits.set(info.reason, (this.exits.get(info.reason) ?? 0) + 1);
  }

  get completed(): number {
    let total = 0;
    for (const n of this.jobs.values()) total += n;
    return total;
  }

  /** Share of the worker capacity (`max` workers since the start) spent running jobs, 0..1. */
  utilization(maxWorkers: number): number {
    const capacity = (performance.now() - this.startedAt) * maxWorkers;
    return capacity > 0 ? Math.min(1, this.#runMsTotal / capacity) : 0;
  }

  get runTime(): TimeSummary {
    return summary(this.#run);
  }

  get waitTime(): TimeSummary {
    return summary(this.#wait);
  }
}

/** Histograms take positive integers: microseconds, at least 1. */
const micros = (ms: number) => Math.max(1, Math.round(ms * 1000));

function summary(h: RecordableHistogram): TimeSummary {
  if (h.count === 0) return { count: 0, mean: 0, min: 0, max: 0, p50: 0, p90: 0, p99: 0 };
  const ms = (us: number) => us / 1000;
  return { count: h.count, mean: ms(h.mean), min: ms(h.min), max: ms(h.max), p50: ms(h.percentile(50)), p90: ms(h.percentile(90)), p99: ms(h.percentile(99)) };
}
