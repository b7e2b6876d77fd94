// The reference: nginx + php-fpm as Debian ships them, with a private
// configuration under the test's temporary directory (nginx -p/-c on a
// free loopback port, php-fpm -y with a unix socket there, pm = static).
// Both run as root (the tests do): nginx `user root`, php-fpm -R.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accepts, freePort, startDaemon, waitUntil } from './daemon.mjs';

export const PHP_FPM = 'php-fpm8.2';
export const NGINX_COMMANDS = ['nginx', PHP_FPM];

/** The usual PHP location (Debian's snippets/fastcgi-php.conf, inlined: its relative include would resolve against our -p prefix). */
export function phpLocation(socket, { pattern = '[^/]\\.php(/|$)', scriptFilename = '$document_root$fastcgi_script_name' } = {}) {
  return `location ~ ${pattern} {
      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
      try_files $fastcgi_script_name =404;
      # try_files resets $fastcgi_path_info (trac.nginx.org/nginx/ticket/321)
      set $path_info $fastcgi_path_info;
      include /etc/nginx/fastcgi.conf;
      fastcgi_param PATH_INFO $path_info;
      fastcgi_param SCRIPT_FILENAME ${scriptFilename};
      fastcgi_pass unix:${socket};
    }`;
}

/**
 * Starts php-fpm then nginx. `server(socket)` returns the body of the
 * server block below `listen` and `root` (the app's locations).
 * `fpmIni`: php_admin_value lines, e.g. an auto_prepend_file.
 */
export async function startNginxFpm(cleanups, dir, { root, workers, server, fpmIni = {} }) {
  dir = join(dir, 'nginx-fpm');
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'fpm.sock');
  writeFileSync(join(dir, 'fpm.conf'), `[global]
pid = ${dir}/fpm.pid
error_log = ${dir}/fpm.log
daemonize = no
[app]
user = root
listen = ${socket}
pm = static
pm.max_children = ${workers}
catch_workers_output = yes
${Object.entries(fpmIni).map(([key, value]) => `php_admin_value[${key}] = ${value}`).join('\n')}
`);
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), `user root;
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  client_body_temp_path ${dir}/body;
  fastcgi_temp_path ${dir}/fastcgi;
  proxy_temp_path ${dir}/proxy;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    index index.php index.html;
    # Dotfiles (.htaccess, .git): the rule of nearly every set-up.
    location ~ /\\. { deny all; }
    ${server(socket)}
  }
}
`);
  execFileSync('nginx', ['-t', '-q', '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'pipe' });
  const fpm = startDaemon(cleanups, 'php-fpm', PHP_FPM, ['-R', '-F', '-y', join(dir, 'fpm.conf')]);
  await waitUntil(fpm, () => accepts(socket), 'php-fpm to listen');
  // SIGQUIT: nginx's graceful stop; its workers finish what they serve.
  const nginx = startDaemon(cleanups, 'nginx', 'nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stopSignal: 'SIGQUIT' });
  await waitUntil(nginx, () => accepts(port), `nginx on port ${port}`);
  // pids: the two masters, whose process trees bench/http.mjs counts the CPU of.
  return { port, url: `http://127.0.0.1:${port}`, pids: [fpm.child.pid, nginx.child.pid], logs: { fpm: join(dir, 'fpm.log'), nginx: join(dir, 'nginx-error.log') } };
}
