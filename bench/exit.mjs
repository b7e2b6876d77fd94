// Measure 4: exit notification. A worker is killed (SIGKILL through its
// pidfd) and we time how long until Node knows: the pidfd turning
// readable on the loop, and the pool-level exit with status (the master
// reaps on request). For reference, a direct child's exit as Node's
// child_process reports it (SIGCHLD + waitpid).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Master } from 'php-zygote';
import { generateApp } from './app-generator.mjs';
import { header, ms, now, percentile, table } from './util.mjs';

export async function run({ rounds = 200 } = {}) {
  const app = generateApp();
  const master = await Master.start({ script: join(app, 'zygote-app.php') });
  const pidfd = [];
  const reaped = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const worker = await master.fork();
      const handle = worker.processHandle;
      const seen = handle.exited.then(() => now());
      const t = now();
      worker.kill('SIGKILL');
      pidfd.push((await seen) - t);
      await worker.exited;
      reaped.push(now() - t);
    }
  } finally {
    await master.close();
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
    ['php-zygote: pidfd readable (worker is the master\'s child)', ms(percentile(pidfd, 50)), ms(percentile(pidfd, 99))],
    ['php-zygote: exit status known (master reaped on request)', ms(percentile(reaped, 50)), ms(percentile(reaped, 99))],
    ['reference: child_process exit of a direct child (SIGCHLD)', ms(percentile(direct, 50)), ms(percentile(direct, 99))],
  ])}
`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await run());
