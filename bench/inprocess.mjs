// Measure 8: trivial jobs against PHP embedded in Node. WorkerPool.run
// (32 in flight, 2 workers, with and without `pipeline`) against
// @platformatic/php-node's handleRequest (PHP in Node's process, threads)
// on an equivalent script. php-node is installed by this bench on demand
// into a cache folder (it ships its own 58 MB libphp and is no dependency
// of php-zygote); where it cannot load, the bench says why and skips it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkerPool } from 'php-zygote';
import { header, median, ratio, table } from './util.mjs';

const IN_FLIGHT = 32;
const JOBS = 20000;
const ROUNDS = 3;
const CACHE = join(homedir(), '.cache', 'php-zygote-bench');

/** php-node's module, installed into CACHE if needed, or the reason it cannot be had. */
function loadPhpNode() {
  const entry = join(CACHE, 'node_modules', '@platformatic', 'php-node');
  try {
    if (!existsSync(entry)) {
      mkdirSync(CACHE, { recursive: true });
      execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', CACHE, '@platformatic/php-node@1'], { stdio: 'ignore', timeout: 300_000 });
    }
    return { module: createRequire(join(CACHE, 'index.js'))('@platformatic/php-node') };
  } catch (error) {
    const why = String(error.message).split('\n')[0];
    const hint = /lib(zip|onig|pq)/.test(why) ? ' (apt-get install libzip4 libonig5 libpq5)' : '';
    return { reason: `${why}${hint}` };
  }
}

async function drive(runOne) {
  let next = 0;
  const lane = async () => {
    while (next++ < JOBS) await runOne();
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return JOBS / ((performance.now() - t) / 1000);
}

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'php-zygote-inprocess-'));
  writeFileSync(join(dir, 'index.php'), `<?php\necho 'hello';\n`);
  writeFileSync(join(dir, 'zygote.php'), `<?php\n\\Zygote\\Zygote::serve(static fn (): string => 'hello');\n`);
  const phpNode = loadPhpNode();
  const sides = [];
  for (const pipeline of [false, true]) {
    const pool = new WorkerPool({ script: join(dir, 'zygote.php'), workers: 2, pipeline });
    await pool.ready();
    await drive(() => pool.run('x')); // warm-up
    sides.push({ name: pipeline ? 'WorkerPool.run, pipeline' : 'WorkerPool.run', once: () => drive(() => pool.run('x')), close: () => pool.close(), rates: [] });
  }
  if (phpNode.module) {
    const { Php, Request } = phpNode.module;
    const php = new Php({ docroot: dir });
    const request = () => php.handleRequest(new Request({ url: 'http://127.0.0.1/index.php' }));
    await drive(request);
    sides.push({ name: '@platformatic/php-node handleRequest', once: () => drive(request), close: async () => {}, rates: [] });
  }
  for (let round = 0; round < ROUNDS; round++) for (const side of sides) side.rates.push(await side.once());
  for (const side of sides) await side.close();
  const base = median(sides[0].rates);
  const rows = sides.map((side) => [side.name, String(Math.round(median(side.rates))), ratio(median(side.rates), base)]);
  return `${header('8. Trivial jobs against PHP embedded in Node')}
${JOBS} jobs per round, ${IN_FLIGHT} in flight, ${ROUNDS} alternating rounds, medians; 2 PHP workers for WorkerPool; php-node runs PHP on its own threads in Node's process.${phpNode.module ? '' : ` @platformatic/php-node: skipped, it cannot load here: ${phpNode.reason}.`}

${table(['side', 'jobs/s', 'vs WorkerPool.run'], rows)}
`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await run());
