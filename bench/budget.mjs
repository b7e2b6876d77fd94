// Measure 7: how many workers fit in 512 MB for the generated 2,000-class
// app. php-zygote's `workers: { max: 'auto' }` counts each worker at its
// measured PSS; the PaaS formula (Cloud Foundry's n * (php_ram + x), a
// Helm chart's pm.max_children = limit / RSS) sizes exec'd workers by RSS.
// Both counts leave the supervisor out (Node here, RoadRunner or php-fpm's
// master there) and keep 10 % headroom; the last row is the live pool with
// a 512 MB budget, Node included, under a deep queue.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Master, WorkerPool } from 'php-zygote';
import { generateApp } from './app-generator.mjs';
import { PipeWorker } from './pipe-worker.mjs';
import { header, mb, median, memoryOf, table } from './util.mjs';

const BUDGET = 512 * 1024 * 1024;
const USABLE = BUDGET * 0.9;
const SAMPLE = 8;
const WARM_UP_JOBS = 20;
const body = Buffer.alloc(4096, 120);

export async function run() {
  const app = generateApp();
  const script = join(app, 'zygote-app.php');

  const master = await Master.start({ script });
  const workers = await Promise.all(Array.from({ length: SAMPLE }, () => master.fork()));
  for (const w of workers) for (let i = 0; i < WARM_UP_JOBS; i++) await w.run(body);
  const zygote = await Promise.all(workers.map((w) => memoryOf(w.pid)));
  const zMaster = await memoryOf(master.pid);
  await Promise.all(workers.map((w) => w.close()));
  await master.close();

  const pipes = await Promise.all(Array.from({ length: 4 }, () => PipeWorker.start(app)));
  for (const w of pipes) for (let i = 0; i < WARM_UP_JOBS; i++) await w.run(body);
  const exec = await Promise.all(pipes.map((w) => memoryOf(w.pid)));
  await Promise.all(pipes.map((w) => w.close()));

  const zPss = median(zygote.map((m) => m.pss));
  const zRss = median(zygote.map((m) => m.rss));
  const ePss = median(exec.map((m) => m.pss));
  const eRss = median(exec.map((m) => m.rss));
  const fit = (room, each) => Math.max(0, Math.floor(room / each));

  // The live pool: a deep queue makes it grow as far as the budget allows.
  const pool = new WorkerPool({ script, workers: { min: 1, max: 'auto', spare: 0 }, memoryBudget: BUDGET, tick: 100, idleTimeout: 60_000 });
  await pool.ready();
  let peak = 0;
  const watch = setInterval(() => { peak = Math.max(peak, pool.stats().workers.total); }, 20);
  for (let round = 0; round < 20; round++) await Promise.all(Array.from({ length: 400 }, () => pool.run(body)));
  clearInterval(watch);
  const reading = pool.stats().memoryBudget;
  await pool.close();

  const rows = [
    ['php-zygote, PSS (max: auto)', `${mb(zPss)} MB (master ${mb(zMaster.pss)} MB once)`, String(fit(USABLE - zMaster.pss, zPss))],
    ['php-zygote, RSS (the PaaS formula)', `${mb(zRss)} MB`, String(fit(USABLE, zRss))],
    ['exec per worker, RSS (the PaaS formula)', `${mb(eRss)} MB`, String(fit(USABLE, eRss))],
    ['exec per worker, PSS', `${mb(ePss)} MB`, String(fit(USABLE, ePss))],
    ['live pool, 512 MB budget, Node included', `${mb(reading?.perWorker ?? NaN)} MB measured, ${mb(reading?.used ?? NaN)} MB in use`, `${peak} reached (${reading?.allowed} allowed)`],
  ];
  return `${header('7. Workers in a 512 MB budget')}
The generated 2,000-class app, ${WARM_UP_JOBS} warm-up jobs per worker, medians of ${SAMPLE} forked and 4 exec'd workers; 10 % headroom. The first four rows leave the supervisor out.

${table(['sizing', 'per worker', 'workers that fit'], rows)}

PSS depends on how many processes share a page: with ${SAMPLE} workers the shared pages are split ${SAMPLE + 1} ways, with 256 workers 257 ways, so the live pool's figure per worker falls as it grows, and its total in use (Node, the master and all its workers) is the honest number. The first row is the conservative estimate from the sample; sizing by RSS, as the PaaS formula does, fits a small fraction of it.
`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await run());
