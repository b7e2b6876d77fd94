// Measure 2: memory of 4, 16 and 32 workers after the same warm-up jobs:
// forked from one zygote vs a fresh php per worker. PSS (shared pages
// divided among the processes sharing them) is what the workers really
// cost together; RSS counts shared pages again in every process.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Master } from 'php-zygote';
import { workloads } from './app-generator.mjs';
import { PipeWorker } from './pipe-worker.mjs';
import { header, mb, median, memoryOf, ratio, table } from './util.mjs';

const WARM_UP_JOBS = 20;
const body = Buffer.alloc(4096, 120);

async function measure(pids) {
  const all = await Promise.all(pids.map(memoryOf));
  return all;
}

export async function run({ counts = [4, 16, 32] } = {}) {
  const rows = [];
  // Every count for the generated app; 16 workers for the other workloads.
  const [main, ...others] = workloads();
  const runs = [...counts.map((n) => [...main, n]), ...others.map((workload) => [...workload, 16])];
  for (const [name, app, n] of runs) {
    const master = await Master.start({ script: join(app, 'zygote-app.php') });
    const workers = await Promise.all(Array.from({ length: n }, () => master.fork()));
    for (const w of workers) for (let i = 0; i < WARM_UP_JOBS; i++) await w.run(body);
    const zWorkers = await measure(workers.map((w) => w.pid));
    const [zMaster] = await measure([master.pid]);
    await Promise.all(workers.map((w) => w.close()));
    await master.close();

    const pipes = [];
    for (let i = 0; i < n; i += 4) pipes.push(...(await Promise.all(Array.from({ length: Math.min(4, n - i) }, () => PipeWorker.start(app)))));
    for (const w of pipes) for (let i = 0; i < WARM_UP_JOBS; i++) await w.run(body);
    const eWorkers = await measure(pipes.map((w) => w.pid));
    await Promise.all(pipes.map((w) => w.close()));

    const zTotal = zWorkers.reduce((s, m) => s + m.pss, zMaster.pss);
    const eTotal = eWorkers.reduce((s, m) => s + m.pss, 0);
    rows.push([
      name,
      String(n),
      `${mb(zTotal)} MB`,
      `${mb(eTotal)} MB`,
      ratio(eTotal, zTotal),
      `${mb(median(zWorkers.map((m) => m.pss)))} / ${mb(median(zWorkers.map((m) => m.rss)))}`,
      `${mb(median(eWorkers.map((m) => m.pss)))} / ${mb(median(eWorkers.map((m) => m.rss)))}`,
    ]);
  }
  return `${header('2. Memory')}
After ${WARM_UP_JOBS} warm-up jobs of 4 KB per worker. Totals are PSS summed over all processes (for php-zygote including the master); per-worker values are medians. From /proc/<pid>/smaps_rollup.

${table(['workload', 'workers', 'php-zygote total PSS', 'exec total PSS', 'exec / zygote', 'zygote worker PSS / RSS (MB)', 'exec worker PSS / RSS (MB)'], rows)}
`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await run());
