// Measure 1: worker spawn to ready. Forked from a booted zygote vs a fresh
// `php` per worker running the same boot (RoadRunner's model), opcache on
// in both.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Master } from 'php-zygote';
import { workloads } from './app-generator.mjs';
import { PipeWorker } from './pipe-worker.mjs';
import { header, ms, now, percentile, ratio, table } from './util.mjs';

async function measure(app, forks, execs) {
  const master = await Master.start({ script: join(app, 'zygote-app.php') });
  try {
    const zygote = [];
    for (let i = 0; i < forks; i++) {
      const t = now();
      const worker = await master.fork();
      zygote.push(now() - t);
      await worker.close();
    }
    const exec = [];
    for (let i = 0; i < execs; i++) {
      const t = now();
      const worker = await PipeWorker.start(app);
      exec.push(now() - t);
      await worker.close();
    }
    let t = now();
    const forked = await Promise.all(Array.from({ length: 16 }, () => master.fork()));
    const zygote16 = now() - t;
    await Promise.all(forked.map((w) => w.close()));
    t = now();
    const execed = await Promise.all(Array.from({ length: 16 }, () => PipeWorker.start(app)));
    const exec16 = now() - t;
    await Promise.all(execed.map((w) => w.close()));
    return { zygote, exec, zygote16, exec16 };
  } finally {
    await master.close();
  }
}

export async function run({ forks = 200, execs = 40 } = {}) {
  const rows = [];
  for (const [name, app] of workloads()) {
    const { zygote, exec, zygote16, exec16 } = await measure(app, forks, execs);
    rows.push(
      [name, 'p50 (ms)', ms(percentile(zygote, 50)), ms(percentile(exec, 50)), ratio(percentile(exec, 50), percentile(zygote, 50))],
      [name, 'p99 (ms)', ms(percentile(zygote, 99)), ms(percentile(exec, 99)), ratio(percentile(exec, 99), percentile(zygote, 99))],
      [name, '16 workers up (ms)', ms(zygote16), ms(exec16), ratio(exec16, zygote16)],
    );
  }
  return `${header('1. Worker spawn to ready')}
Time from asking for a worker to the worker being ready for jobs (${forks} forks, ${execs} execs, one at a time), and to bring 16 up at once.

${table(['workload', '', 'php-zygote fork', 'exec php per worker', 'exec / zygote'], rows)}
`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await run());
