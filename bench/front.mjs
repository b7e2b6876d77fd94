// Measure: what the HTTP front costs per request, on Node's main thread,
// for one response of a page's shape (7 headers, 11 KB in three parts, as
// DokuWiki sends its start page). Three servers, driven by wrk in
// alternating rounds, medians:
//   - bare node:http, writing the same three parts from timers: the floor
//     any Node front pays;
//   - `serve --docroot --max-jobs 0` running a PHP script that sends them,
//     with a flush() between parts;
//   - the same with the script also spending about 3 ms of CPU over a few
//     MB first, as a real page does: the front then runs on caches that
//     PHP emptied on the same cores.
// CPU is utime + stime of the front's main thread (/proc/<pid>/task/<pid>).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startCli } from '../test/cli-process.mjs';
import { hasCommand, header, mainThreadCpu, median, table } from './util.mjs';

const CONNECTIONS = 16;
const ROUNDS = Number(process.env.BENCH_FRONT_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_FRONT_SECONDS ?? 4);

const HEADERS = [
  ['Vary', 'Cookie'],
  ['Set-Cookie', 'DokuWiki=abc; path=/; HttpOnly'],
  ['Expires', 'Thu, 19 Nov 1981 08:52:00 GMT'],
  ['Cache-Control', 'no-store, no-cache, must-revalidate'],
  ['Pragma', 'no-cache'],
  ['X-UA-Compatible', 'IE=edge,chrome=1'],
  ['Content-Type', 'text/html; charset=utf-8'],
];
const PARTS = [5938, 526, 4486];

const page = (burn) => `<?php
${burn ? `$a = [];
for ($i = 0; $i < 40000; $i++) { $a[] = str_repeat((string) $i, 8); }
$n = 0; foreach ($a as $v) { $n += strlen($v); }
` : ''}${HEADERS.map(([name, value]) => `header(${JSON.stringify(`${name}: ${value}`)}, false);`).join('\n')}
echo str_repeat('a', ${PARTS[0]}); ob_flush(); flush();
echo str_repeat('b', ${PARTS[1]}); ob_flush(); flush();
echo str_repeat('c', ${PARTS[2]});
`;

const bare = `import http from 'node:http';
const headers = ${JSON.stringify(HEADERS.flat())};
const parts = ${JSON.stringify(PARTS)}.map((n, i) => Buffer.alloc(n, 'abc'[i]));
const server = http.createServer((req, res) => {
  setTimeout(() => {
    res.writeHead(200, headers);
    res.write(parts[0]);
    setTimeout(() => { res.write(parts[1]); setTimeout(() => res.end(parts[2]), 0); }, 0);
  }, 0);
}).listen(0, '127.0.0.1', () => console.log('on http://127.0.0.1:' + server.address().port + '/'));
`;

function wrk(url, pid) {
  const before = mainThreadCpu(pid);
  const out = execFileSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${SECONDS}s`, url], { encoding: 'utf8' });
  const cpu = mainThreadCpu(pid) - before;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  return { rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), cpuUs: requests > 0 ? (cpu * 1e6) / requests : NaN };
}

async function startBare(cleanups, dir) {
  const file = join(dir, 'bare.mjs');
  writeFileSync(file, bare);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await once(child, 'exit').catch(() => {});
  });
  const [line] = await once(child.stdout, 'data');
  return { url: /on (\S+)/.exec(String(line))[1], pid: child.pid };
}

export async function run() {
  const title = header('HTTP front: CPU per request on Node\'s main thread');
  if (!hasCommand('wrk')) return `${title}\nSkipped: needs wrk (apt-get install wrk).\n`;
  const cleanups = [];
  const dir = mkdtempSync(join(tmpdir(), 'php-zygote-bench-front-'));
  try {
    const root = join(dir, 'www');
    mkdirSync(root);
    writeFileSync(join(root, 'page.php'), page(false));
    writeFileSync(join(root, 'burn.php'), page(true));
    const serve = await startCli(cleanups, ['serve', '--docroot', root, '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--max-jobs', '0']);
    const served = serve.url.replace(/\/$/, '');
    const sides = [
      { label: 'bare node:http, the same three parts from timers', ...(await startBare(cleanups, dir)) },
      { label: '`serve --docroot`, a PHP script sending them', url: `${served}/page.php`, pid: serve.child.pid },
      { label: '`serve --docroot`, the script also spends ~3 ms of CPU over a few MB', url: `${served}/burn.php`, pid: serve.child.pid },
    ];
    for (const side of sides) wrk(side.url, side.pid); // warm-up: JIT, opcache, ready workers
    const runs = sides.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? sides.map((_, i) => i) : sides.map((_, i) => sides.length - 1 - i);
      for (const i of order) runs[i].push(wrk(sides[i].url, sides[i].pid));
    }
    const rows = sides.map((side, i) => [side.label, Math.round(median(runs[i].map((r) => r.rate))), Math.round(median(runs[i].map((r) => r.cpuUs)))]);
    return `${title}
wrk, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s, medians, after one warm-up round each; 2 reused PHP workers (\`--max-jobs 0\`). The response: ${HEADERS.length} headers and ${PARTS.reduce((a, b) => a + b, 0)} bytes in three parts (chunked), the shape of DokuWiki's start page. CPU: utime + stime of the front's main thread per request, from /proc (its other threads take a few us).

${table(['front', 'req/s', 'main-thread CPU per request (us)'], rows)}
`;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await run());
