// Measure 3: round trip Node -> PHP worker -> Node (an echo handler) with
// 16 B, 4 KB, 64 KB and 1 MB bodies, on one worker and on N workers, with
// one job in flight per worker on both sides (a pool never pipelines jobs
// into a busy worker, so the baseline does not either). php-zygote goes through
// WorkerPool.run(); the baseline is the same PHP boot spawned with
// child_process, speaking length-prefixed frames over stdio pipes.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkerPool } from 'php-zygote';
import { generateApp } from './app-generator.mjs';
import { PipeWorker } from './pipe-worker.mjs';
import { header, median, ms, now, percentile, ratio, table } from './util.mjs';

const SIZES = [
  ['16 B', 16, 4000],
  ['4 KB', 4096, 3000],
  ['64 KB', 65536, 1500],
  ['1 MB', 1 << 20, 150],
];

const ROUNDS = 3;

/** Latency percentiles over all rounds; the median round's throughput. */
function summarize(rounds) {
  const latencies = rounds.flatMap((r) => r.latencies);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), rate: median(rounds.map((r) => r.rate)) };
}

/** Runs `jobs` jobs with `inFlight` at a time; returns latencies and jobs/s. */
async function drive(runJob, jobs, inFlight) {
  const latencies = [];
  let next = 0;
  const start = now();
  await Promise.all(Array.from({ length: inFlight }, async (_, lane) => {
    while (next < jobs) {
      next++;
      const t = now();
      await runJob(lane);
      latencies.push(now() - t);
    }
  }));
  const seconds = (now() - start) / 1000;
  return { latencies, rate: jobs / seconds };
}

export async function run({ workers = availableParallelism() } = {}) {
  const app = generateApp();
  const script = join(app, 'zygote-app.php');
  const rows = [];
  for (const [label, size, jobs] of SIZES) {
    const body = Buffer.alloc(size, 97);
    for (const n of [1, workers]) {
      const inFlight = n;
      const pool = new WorkerPool({ script, workers: n });
      await pool.ready();
      const pipes = await Promise.all(Array.from({ length: n }, () => PipeWorker.start(app)));
      const viaPool = () => pool.run(body);
      const viaPipes = (lane) => pipes[lane % n].run(body);
      await drive(viaPool, Math.min(200, jobs), inFlight); // warm-up
      await drive(viaPipes, Math.min(200, jobs), inFlight);
      // Alternating rounds, so both sides meet the same machine noise.
      const zRounds = [];
      const eRounds = [];
      for (let round = 0; round < ROUNDS; round++) {
        zRounds.push(await drive(viaPool, jobs, inFlight));
        eRounds.push(await drive(viaPipes, jobs, inFlight));
      }
      await pool.close();
      await Promise.all(pipes.map((p) => p.close()));
      const z = summarize(zRounds);
      const e = summarize(eRounds);

      rows.push([
        label,
        String(n),
        `${ms(z.p50)} / ${ms(z.p99)}`,
        `${ms(e.p50)} / ${ms(e.p99)}`,
        Math.round(z.rate).toString(),
        Math.round(e.rate).toString(),
        ratio(z.rate, e.rate),
      ]);
    }
  }
  return `${header('3. Round trip')}
Echo handler; latency p50 / p99 in ms over ${ROUNDS} alternating rounds per side, and the median round's jobs per second. Baseline: php over stdio pipes with length-prefixed frames (RoadRunner's pipes relay), same boot.

${table(['body', 'workers', 'php-zygote p50 / p99', 'pipes p50 / p99', 'php-zygote jobs/s', 'pipes jobs/s', 'zygote / pipes'], rows)}
`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await run());
