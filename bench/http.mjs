// Measure 5: HTTP. `php-zygote serve` vs nginx + php-fpm (both from
// Debian, started here on loopback ports with the same worker count and
// opcache on), driven by wrk for a fixed duration and connection count.
// Two endpoints: hello world (no app boot), and JSON after the generated
// app's boot, which php-fpm runs on every request and php-zygote once.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateApp } from './app-generator.mjs';
import { header, ratio, sleep, table } from './util.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const WORKERS = 2;
const CONNECTIONS = 32;
const DURATION = '8s';

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

function wrk(url, duration = DURATION) {
  const out = execFileSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${duration}`, '--latency', url], { encoding: 'utf8' });
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99ms = p99 ? Number(p99[1]) * { us: 0.001, ms: 1, s: 1000 }[p99[2]] : NaN;
  const errors = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? '0';
  return { rate, p99ms, errors: Number(errors) };
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
  const nginxPort = 18181;
  const zygotePort = 18182;
  const processes = [];
  try {
    writeFileSync(join(dir, 'fpm.conf'), `[global]
pid = ${dir}/fpm.pid
error_log = ${dir}/fpm.log
daemonize = no
[bench]
user = root
listen = ${dir}/fpm.sock
pm = static
pm.max_children = ${WORKERS}
php_admin_value[opcache.enable] = 1
`);
    writeFileSync(join(dir, 'nginx.conf'), `user root;
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  fastcgi_temp_path ${dir}/fastcgi;
  proxy_temp_path ${dir}/proxy;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:${nginxPort};
    root ${dir};
    location ~ \\.php$ {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_pass unix:${dir}/fpm.sock;
    }
  }
}
`);
    processes.push(spawn(fpm, ['-R', '-y', join(dir, 'fpm.conf'), '-F'], { stdio: 'ignore' }));
    processes.push(spawn(nginx, ['-c', join(dir, 'nginx.conf')], { stdio: 'ignore' }));
    processes.push(spawn(process.execPath, [join(root, 'bin/php-zygote.js'), 'serve', join(dir, 'zygote.php'), '--port', String(zygotePort), '--workers', String(WORKERS)], { stdio: 'ignore' }));
    await waitForPort(nginxPort);
    await waitForPort(zygotePort);
    await sleep(500);

    const rows = [];
    for (const [label, path] of [['hello world', '/hello.php'], ['JSON after the app boot', '/json.php']]) {
      wrk(`http://127.0.0.1:${zygotePort}${path}`, '2s'); // warm-up both sides
      wrk(`http://127.0.0.1:${nginxPort}${path}`, '2s');
      const z = wrk(`http://127.0.0.1:${zygotePort}${path}`);
      const f = wrk(`http://127.0.0.1:${nginxPort}${path}`);
      rows.push([label, Math.round(z.rate), Math.round(f.rate), ratio(z.rate, f.rate), z.p99ms.toFixed(2), f.p99ms.toFixed(2), `${z.errors} / ${f.errors}`]);
    }
    return `${header('5. HTTP')}
wrk, ${CONNECTIONS} connections, ${DURATION} per run, on loopback; ${WORKERS} PHP workers on each side (php-fpm pm = static), opcache on. php-fpm runs the app boot on every request (opcache caches the compiled code, not the booted objects); php-zygote boots once in the master.

${table(['endpoint', 'php-zygote req/s', 'nginx + php-fpm req/s', 'zygote / fpm', 'php-zygote p99 (ms)', 'fpm p99 (ms)', 'non-2xx (zygote / fpm)'], rows)}
`;
  } finally {
    for (const child of processes) child.kill('SIGTERM');
    await sleep(300);
    for (const child of processes) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await run());
