// Measure 5: HTTP. `php-zygote serve` vs nginx + php-fpm and Apache 2.4
// prefork + mod_php (all from Debian, started here on loopback ports with
// the same number of PHP processes and opcache on), driven by wrk for a
// fixed duration and connection count, sides in alternating rounds,
// medians reported. Two endpoints: hello world (no app boot), and JSON
// after the generated app's boot, which php-fpm and mod_php run on every
// request and php-zygote once. CPU per request counts every process of a
// side (utime + stime from /proc, wrk excluded).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateApp } from './app-generator.mjs';
import { phpLocation, startNginxFpm } from '../test/apps/nginx-fpm.mjs';
import { cpuSnapshot, header, median, ratio, sleep, table } from './util.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const WORKERS = 2;
const CONNECTIONS = 32;
const DURATION = process.env.BENCH_HTTP_DURATION ?? '5s';
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 3);
function which(...names) {
  for (const name of names) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    } catch { /* next */ }
  }
  return null;
}

async function waitForPort(port, ms = 20000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on port ${port} after ${ms} ms`);
}

function wrk(url, duration = DURATION, pids = []) {
  const before = cpuSnapshot();
  const cpuBefore = pids.reduce((sum, pid) => sum + before.tree(pid), 0);
  const out = execFileSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${duration}`, '--latency', url], { encoding: 'utf8' });
  const after = cpuSnapshot();
  const cpu = pids.reduce((sum, pid) => sum + after.tree(pid), 0) - cpuBefore;
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const latency = (p) => {
    const m = new RegExp(`${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]] : NaN;
  };
  const errors = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? '0';
  return { rate, p50ms: latency(50), p99ms: latency(99), errors: Number(errors), cpuUs: requests > 0 ? (cpu * 1e6) / requests : NaN };
}

function writeApps(dir, app) {
  mkdirSync(dir, { recursive: true });
  // php-fpm: one script per endpoint, the classic way.
  writeFileSync(join(dir, 'hello.php'), `<?php\necho 'Hello, world!';\n`);
  writeFileSync(join(dir, 'json.php'), `<?php\n$container = require ${JSON.stringify(join(app, 'bootstrap.php'))};\nheader('Content-Type: application/json');\necho json_encode(['services' => count($container), 'ok' => true]);\n`);
  // php-zygote: the same endpoints, boot once in the master.
  writeFileSync(join(dir, 'zygote.php'), `<?php
$container = require ${JSON.stringify(join(app, 'bootstrap.php'))};
\\Zygote\\Http\\Server::serve(static function (\\Zygote\\Http\\Request $request) use ($container) {
    if ($request->path === '/json.php') {
        return \\Zygote\\Http\\Response::json(['services' => count($container), 'ok' => true]);
    }
    return 'Hello, world!';
});
`);
}

/** A standalone Apache 2.4 prefork + mod_php config: WORKERS children, keep-alive, opcache on. */
function apacheConfig(dir, port) {
  const modules = '/usr/lib/apache2/modules';
  return `ServerRoot ${dir}
ServerName 127.0.0.1
TypesConfig /etc/mime.types
Listen 127.0.0.1:${port}
PidFile ${dir}/apache.pid
ErrorLog ${dir}/apache-error.log
LoadModule mpm_prefork_module ${modules}/mod_mpm_prefork.so
LoadModule authz_core_module ${modules}/mod_authz_core.so
LoadModule mime_module ${modules}/mod_mime.so
LoadModule dir_module ${modules}/mod_dir.so
LoadModule php_module ${modules}/libphp8.2.so
User www-data
Group www-data
StartServers ${WORKERS}
MinSpareServers ${WORKERS}
MaxSpareServers ${WORKERS}
ServerLimit ${WORKERS}
MaxRequestWorkers ${WORKERS}
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
DocumentRoot ${dir}
<Directory ${dir}>
  Require all granted
</Directory>
<FilesMatch \\.php$>
  SetHandler application/x-httpd-php
</FilesMatch>
`;
}

export async function run() {
  const nginx = which('nginx');
  const fpm = which('php-fpm8.2', 'php-fpm');
  if (!nginx || !fpm || !which('wrk')) {
    return `${header('5. HTTP')}\nSkipped: needs nginx, php-fpm and wrk (Debian: apt-get install nginx-light php-fpm wrk).\n`;
  }
  const app = generateApp();
  const dir = join(tmpdir(), 'php-zygote-bench-http');
  rmSync(dir, { recursive: true, force: true });
  writeApps(dir, app);
  const zygotePort = 18182;
  const apachePort = 18183;
  const pipelinedPort = 18184;
  const apache = which('apache2') && existsSync('/usr/lib/apache2/modules/libphp8.2.so') && existsSync('/usr/lib/apache2/modules/mod_mpm_prefork.so') ? which('apache2') : null;
  const processes = [];
  const cleanups = [];
  try {
    // The same nginx + php-fpm as the app suites (Debian's PHP location).
    const reference = await startNginxFpm(cleanups, dir, { root: dir, workers: WORKERS, server: (socket) => phpLocation(socket) });
    const zygoteChild = spawn(process.execPath, [join(root, 'bin/php-zygote.js'), 'serve', join(dir, 'zygote.php'), '--port', String(zygotePort), '--workers', String(WORKERS)], { stdio: 'ignore' });
    const pipelinedChild = spawn(process.execPath, [join(root, 'bin/php-zygote.js'), 'serve', join(dir, 'zygote.php'), '--port', String(pipelinedPort), '--workers', String(WORKERS), '--pipeline'], { stdio: 'ignore' });
    processes.push(zygoteChild, pipelinedChild);
    const sides = [
      { name: 'php-zygote', port: zygotePort, pids: [zygoteChild.pid] },
      { name: 'php-zygote --pipeline', port: pipelinedPort, pids: [pipelinedChild.pid] },
      { name: 'nginx + php-fpm', port: reference.port, pids: reference.pids },
    ];
    if (apache) {
      writeFileSync(join(dir, 'apache.conf'), apacheConfig(dir, apachePort));
      // detached: on SIGTERM Apache's parent signals its whole process
      // group, which would otherwise be this benchmark's.
      const apacheChild = spawn(apache, ['-f', join(dir, 'apache.conf'), '-DFOREGROUND'], { stdio: 'ignore', detached: true });
      processes.push(apacheChild);
      sides.push({ name: 'Apache prefork + mod_php', port: apachePort, pids: [apacheChild.pid] });
    }
    for (const side of sides) await waitForPort(side.port);
    await sleep(500);

    const rows = [];
    for (const [label, path] of [['hello world', '/hello.php'], ['JSON after the app boot', '/json.php']]) {
      for (const side of sides) wrk(`http://127.0.0.1:${side.port}${path}`, '2s'); // warm-up
      const results = new Map(sides.map((side) => [side.name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const side of sides) {
          process.stderr.write(`bench http: ${label}, ${side.name}, round ${round + 1}\n`);
          results.get(side.name).push(wrk(`http://127.0.0.1:${side.port}${path}`, DURATION, side.pids));
        }
      }
      const pick = (name, key) => median(results.get(name).map((r) => r[key]));
      const zygoteRate = pick('php-zygote', 'rate');
      for (const side of sides) {
        rows.push([
          label,
          side.name,
          Math.round(pick(side.name, 'rate')),
          side.name === 'php-zygote' ? '1.0x' : ratio(zygoteRate, pick(side.name, 'rate')),
          pick(side.name, 'p50ms').toFixed(2),
          pick(side.name, 'p99ms').toFixed(2),
          Math.round(pick(side.name, 'cpuUs')),
          String(results.get(side.name).reduce((sum, r) => sum + r.errors, 0)),
        ]);
      }
    }
    return `${header('5. HTTP')}
wrk, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${DURATION} per side, on loopback, medians; ${WORKERS} PHP processes on each side (php-fpm pm = static, Apache prefork MaxRequestWorkers ${WORKERS}), opcache on, keep-alive. php-fpm and mod_php run the app boot on every request (opcache caches the compiled code, not the booted objects); php-zygote boots once in the master. CPU per request: all processes of a side, from /proc. \`--pipeline\` sends a busy worker its next request at once (WorkerPool's \`pipeline\`).${apache ? '' : ' Apache prefork + mod_php: skipped (apt-get install apache2 libapache2-mod-php8.2).'}

${table(['endpoint', 'server', 'req/s', 'php-zygote / this', 'p50 (ms)', 'p99 (ms)', 'CPU per request (us)', 'non-2xx'], rows)}
`;
  } finally {
    for (const child of processes) child.kill('SIGTERM');
    await sleep(300);
    for (const child of processes) if (child.exitCode === null) child.kill('SIGKILL');
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await run());
