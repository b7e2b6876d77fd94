// Measure: real apps. Debian's DokuWiki and WordPress, unmodified, under
// `php-zygote serve --docroot` and under nginx + php-fpm (pm = static),
// the same worker count on both, started by the acceptance suites'
// harness (test/apps/). wrk runs on each side in turn, alternating, for
// ROUNDS rounds; the table gives medians of req/s, p50 and p99.
// Pages: DokuWiki's start page, a DokuWiki page render (wiki:syntax),
// WordPress's home page (after an install through each server).
// BENCH_APPS_SECONDS shortens the rounds (a smoke run: 2).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { dokuwikiMissing, startDokuwiki } from '../test/apps/dokuwiki.mjs';
import { wordpressMissing, startWordpress, ADMIN } from '../test/apps/wordpress.mjs';
import { prerequisites } from '../test/apps/prerequisites.mjs';
import { header, median, ratio, table } from './util.mjs';

const WORKERS = 2;
const CONNECTIONS = 16;
const ROUNDS = Number(process.env.BENCH_APPS_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_APPS_SECONDS ?? 8);

function has(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const toMs = (value, unit) => Number(value) * { us: 0.001, ms: 1, s: 1000 }[unit];

function wrk(url) {
  const out = execFileSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url], { encoding: 'utf8' });
  const at = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  return {
    rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: at(50),
    p99: at(99),
    errors: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
  };
}

/** ROUNDS alternating rounds on each side (the subject first in odd rounds, the reference first in even ones). */
function measure(label, subjectUrl, referenceUrl) {
  const runs = { subject: [], reference: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['subject', 'reference'] : ['reference', 'subject'];
    for (const side of order) runs[side].push(wrk(side === 'subject' ? subjectUrl : referenceUrl));
  }
  const med = (side, key) => median(runs[side].map((r) => r[key]));
  const z = { rate: med('subject', 'rate'), p50: med('subject', 'p50'), p99: med('subject', 'p99') };
  const f = { rate: med('reference', 'rate'), p50: med('reference', 'p50'), p99: med('reference', 'p99') };
  const errors = (side) => runs[side].reduce((n, r) => n + r.errors, 0);
  return [label, Math.round(z.rate), Math.round(f.rate), ratio(z.rate, f.rate), z.p50.toFixed(1), f.p50.toFixed(1), z.p99.toFixed(1), f.p99.toFixed(1), `${errors('subject')} / ${errors('reference')}`];
}

async function installWordpress(twin) {
  await twin.step('install', { path: '/wp-admin/install.php?step=2', method: 'POST', form: { weblog_title: 'Bench', user_name: ADMIN.user, admin_password: ADMIN.password, admin_password2: ADMIN.password, pw_weak: 'on', admin_email: ADMIN.email, blog_public: '0', language: '' } });
}

export async function run() {
  const title = header('Real apps: DokuWiki and WordPress (Debian packages)');
  if (!has('wrk')) return `${title}\nSkipped: needs wrk (apt-get install wrk).\n`;
  const missing = prerequisites([dokuwikiMissing(), wordpressMissing()], { mariadb: true });
  if (missing) return `${title}\nSkipped: ${missing}.\n`;
  const rows = [];
  // Both of php-zygote's models, each against its own nginx + php-fpm run
  // (the servers of one model are stopped before the next starts).
  const models = [
    ['fresh fork', []],
    ['reused, --max-jobs 500', ['--max-jobs', '500']],
  ];
  for (const [model, zygoteFlags] of models) {
    const cleanups = [];
    const dir = mkdtempSync(join(tmpdir(), 'php-zygote-bench-apps-'));
    try {
      const wiki = await startDokuwiki(cleanups, join(dir, 'dokuwiki'), { workers: WORKERS, zygoteFlags });
      // One visit each first: DokuWiki renders and caches the page on its first view.
      for (const path of ['/doku.php', '/doku.php?id=wiki:syntax']) await wiki.twin.step('warm', { path });
      rows.push(measure(`DokuWiki start page (${model})`, `${wiki.subject.url}/doku.php`, `${wiki.reference.url}/doku.php`));
      rows.push(measure(`DokuWiki page render, wiki:syntax (${model})`, `${wiki.subject.url}/doku.php?id=wiki:syntax`, `${wiki.reference.url}/doku.php?id=wiki:syntax`));
      const wp = await startWordpress(cleanups, join(dir, 'wordpress'), { workers: WORKERS, zygoteFlags });
      await installWordpress(wp.twin);
      await wp.twin.step('warm', { path: '/' });
      rows.push(measure(`WordPress home page (${model})`, `${wp.subject.url}/`, `${wp.reference.url}/`));
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return `${title}
wrk, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s per side, medians; ${WORKERS} PHP workers on each side (php-fpm pm = static; php-zygote either forks one worker per request from its booted master, ready forks kept, or reuses each worker for 500 requests with PHP's own request shutdown between them), opcache on, loopback. The apps are Debian's packages, unmodified, served as in \`npm run test:apps\`.

${table(['page', 'php-zygote req/s', 'nginx + php-fpm req/s', 'zygote / fpm', 'php-zygote p50 (ms)', 'fpm p50 (ms)', 'php-zygote p99 (ms)', 'fpm p99 (ms)', 'non-2xx (zygote / fpm)'], rows)}
`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await run());
