// Measure: real apps. Debian's DokuWiki and WordPress, unmodified, under
// `php-zygote serve --docroot` and under nginx + php-fpm (pm = static),
// the same worker count on both, started by the acceptance suites'
// harness (test/apps/). wrk runs on each side in turn, alternating, for
// ROUNDS rounds; the table gives medians of req/s, p50 and p99.
// Pages: a hello-world script (what each side costs per request beyond
// the app), DokuWiki's start page, a DokuWiki page render (wiki:syntax),
// WordPress's home page (after an install through each server).
// BENCH_APPS_SECONDS shortens the rounds (a smoke run: 2).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { dokuwikiMissing, startDokuwiki } from '../test/apps/dokuwiki.mjs';
import { wordpressMissing, startWordpress, ADMIN } from '../test/apps/wordpress.mjs';
import { prerequisites } from '../test/apps/prerequisites.mjs';
import { phpLocation, startNginxFpm } from '../test/apps/nginx-fpm.mjs';
import { startZygote } from '../test/apps/zygote.mjs';
import { cpuSnapshot, hasCommand, header, median, ratio, table } from './util.mjs';

const WORKERS = 2;
const CONNECTIONS = 16;
const ROUNDS = Number(process.env.BENCH_APPS_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_APPS_SECONDS ?? 8);

const toMs = (value, unit) => Number(value) * { us: 0.001, ms: 1, s: 1000 }[unit];

/**
 * CPU seconds so far of a side's front (Node, or nginx) and of its PHP
 * (php-zygote's master and workers, reaped ones included; or php-fpm).
 */
function sideCpu(side) {
  const snapshot = cpuSnapshot();
  if (side.pid !== undefined) return { front: snapshot.own(side.pid), php: snapshot.tree(side.pid) - snapshot.own(side.pid) };
  const [fpm, nginx] = side.pids;
  return { front: snapshot.tree(nginx), php: snapshot.tree(fpm) };
}

function wrk(url, side) {
  const before = sideCpu(side);
  const out = execFileSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url], { encoding: 'utf8' });
  const after = sideCpu(side);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const perRequest = (seconds) => (requests > 0 ? (seconds * 1e6) / requests : NaN);
  const at = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  return {
    rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: at(50),
    p99: at(99),
    errors: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
    frontUs: perRequest(after.front - before.front),
    phpUs: perRequest(after.php - before.php),
  };
}

/** ROUNDS alternating rounds on each side (the subject first in odd rounds, the reference first in even ones). */
function measure(label, twin, path) {
  const runs = { subject: [], reference: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['subject', 'reference'] : ['reference', 'subject'];
    for (const side of order) runs[side].push(wrk(`${twin[side].url}${path}`, twin[side]));
  }
  const med = (side, key) => median(runs[side].map((r) => r[key]));
  const keys = ['rate', 'p50', 'p99', 'frontUs', 'phpUs'];
  const z = Object.fromEntries(keys.map((key) => [key, med('subject', key)]));
  const f = Object.fromEntries(keys.map((key) => [key, med('reference', key)]));
  const errors = (side) => runs[side].reduce((n, r) => n + r.errors, 0);
  const us = (n) => (Number.isFinite(n) ? String(Math.round(n)) : 'n/a');
  return [label, Math.round(z.rate), Math.round(f.rate), ratio(z.rate, f.rate), z.p50.toFixed(1), f.p50.toFixed(1), z.p99.toFixed(1), f.p99.toFixed(1), `${us(z.frontUs)} / ${us(f.frontUs)}`, `${us(z.phpUs)} / ${us(f.phpUs)}`, `${errors('subject')} / ${errors('reference')}`];
}

async function installWordpress(twin) {
  await twin.step('install', { path: '/wp-admin/install.php?step=2', method: 'POST', form: { weblog_title: 'Bench', user_name: ADMIN.user, admin_password: ADMIN.password, admin_password2: ADMIN.password, pw_weak: 'on', admin_email: ADMIN.email, blog_public: '0', language: '' } });
}

export async function run() {
  const title = header('Real apps: DokuWiki and WordPress (Debian packages)');
  if (!hasCommand('wrk')) return `${title}\nSkipped: needs wrk (apt-get install wrk).\n`;
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
      const hello = join(dir, 'hello');
      mkdirSync(hello);
      writeFileSync(join(hello, 'index.php'), '<?php echo "hello\\n";');
      const twin = {
        subject: await startZygote(cleanups, { root: hello, workers: WORKERS, flags: zygoteFlags }),
        reference: await startNginxFpm(cleanups, join(dir, 'hello-fpm'), { root: hello, workers: WORKERS, server: (socket) => `location / { try_files $uri $uri/ =404; }\n${phpLocation(socket)}` }),
      };
      rows.push(measure(`hello world (${model})`, twin, '/index.php'));
      const wiki = await startDokuwiki(cleanups, join(dir, 'dokuwiki'), { workers: WORKERS, zygoteFlags });
      // One visit each first: DokuWiki renders and caches the page on its first view.
      for (const path of ['/doku.php', '/doku.php?id=wiki:syntax']) await wiki.twin.step('warm', { path });
      rows.push(measure(`DokuWiki start page (${model})`, wiki, '/doku.php'));
      rows.push(measure(`DokuWiki page render, wiki:syntax (${model})`, wiki, '/doku.php?id=wiki:syntax'));
      const wp = await startWordpress(cleanups, join(dir, 'wordpress'), { workers: WORKERS, zygoteFlags });
      await installWordpress(wp.twin);
      await wp.twin.step('warm', { path: '/' });
      rows.push(measure(`WordPress home page (${model})`, wp, '/'));
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return `${title}
wrk, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s per side, medians; ${WORKERS} PHP workers on each side (php-fpm pm = static; php-zygote either forks one worker per request from its booted master, ready forks kept, or reuses each worker for 500 requests with PHP's own request shutdown between them), opcache on, loopback. The apps are Debian's packages, unmodified, served as in \`npm run test:apps\`. CPU per request (utime + stime from /proc, medians of the rounds): the front is Node's serve process or nginx; PHP is php-zygote's master and workers (with those that exited and were reaped) or php-fpm's master and workers; MariaDB, which both WordPress sides share, and wrk are in neither.

${table(['page', 'php-zygote req/s', 'nginx + php-fpm req/s', 'zygote / fpm', 'php-zygote p50 (ms)', 'fpm p50 (ms)', 'php-zygote p99 (ms)', 'fpm p99 (ms)', 'front CPU per request, us (Node / nginx)', 'PHP CPU per request, us (php-zygote / php-fpm)', 'non-2xx (zygote / fpm)'], rows)}
`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await run());
