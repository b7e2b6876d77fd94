// Measure 4: exit notification. A worker is killed (SIGKILL through its
// pidfd) and we time how long until Node knows: the earliest sign (the
// worker's `lost` event: its channel's end of file or its pidfd, whichever
// comes first), when the pool replaces it, and the exit with its status
// (the master reaps on request). For reference, a direct child's exit as
// Node's child_process reports it (SIGCHLD + waitpid). Workers of a small
// heap and of a 256 MB one: the kernel tears a process's memory down
// before any of these fire.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Master } from 'php-zygote';
import { generateApp } from './app-generator.mjs';
import { header, ms, now, percentile, table } from './util.mjs';

async function killRounds(master, rounds, grow) {
  const lost = [];
  const reaped = [];
  for (let i = 0; i < rounds; i++) {
    const worker = await master.fork();
    if (grow) await worker.run(String(grow), { context: { action: 'grow' } });
    const seen = new Promise((resolve) => worker.once('lost', () => resolve(now())));
    const t = now();
    worker.kill('SIGKILL');
    lost.push((await seen) - t);
    await worker.exited;
    reaped.push(now() - t);
  }
  return { lost, reaped };
}

export async function run({ rounds = 200 } = {}) {
  const app = generateApp();
  const master = await Master.start({ script: join(app, 'zygote-app.php') });
  const hugeMaster = await Master.start({ script: join(app, 'zygote-app.php'), hugePages: true });
  let small;
  let big;
  let bigHuge;
  try {
    small = await killRounds(master, rounds, 0);
    big = await killRounds(master, Math.min(rounds, 40), 256 * 1024 * 1024);
    bigHuge = await killRounds(hugeMaster, Math.min(rounds, 40), 256 * 1024 * 1024);
  } finally {
    await master.close();
    await hugeMaster.close();
  }
  const direct = [];
  for (let i = 0; i < Math.min(rounds, 100); i++) {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('spawn', resolve));
    const exited = new Promise((resolve) => child.once('exit', () => resolve(now())));
    const t = now();
    child.kill('SIGKILL');
    direct.push((await exited) - t);
  }
  return `${header('4. Exit notification')}
From sending SIGKILL to the worker (${rounds} rounds) until Node learns of the exit.

${table(['', 'p50 (ms)', 'p99 (ms)'], [
    ['php-zygote: death seen, replacement forked (end of file or pidfd)', ms(percentile(small.lost, 50)), ms(percentile(small.lost, 99))],
    ['php-zygote: exit status known (master reaped on request)', ms(percentile(small.reaped, 50)), ms(percentile(small.reaped, 99))],
    ['same, a worker with a 256 MB heap: death seen', ms(percentile(big.lost, 50)), ms(percentile(big.lost, 99))],
    ['same, a worker with a 256 MB heap: exit status known', ms(percentile(big.reaped, 50)), ms(percentile(big.reaped, 99))],
    ['same, 256 MB heap with hugePages: death seen', ms(percentile(bigHuge.lost, 50)), ms(percentile(bigHuge.lost, 99))],
    ['same, 256 MB heap with hugePages: exit status known', ms(percentile(bigHuge.reaped, 50)), ms(percentile(bigHuge.reaped, 99))],
    ['reference: child_process exit of a direct child (SIGCHLD)', ms(percentile(direct, 50)), ms(percentile(direct, 99))],
  ])}
`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await run());
