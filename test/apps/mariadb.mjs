// A private MariaDB for the WordPress suite: its own datadir under the
// test's temporary directory, a unix socket there, TCP on a free loopback
// port, nothing shared with a MariaDB the machine may already run.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { accepts, freePort, startDaemon, waitUntil } from './daemon.mjs';

export const MARIADB_COMMANDS = ['mariadb-install-db', 'mariadbd', 'mariadb'];

export async function startMariadb(cleanups, dir) {
  const datadir = join(dir, 'mysql');
  const socket = join(dir, 'mysql.sock');
  mkdirSync(datadir, { recursive: true });
  // --user=root: the tests run as root and the datadir is theirs alone.
  execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${datadir}`, '--user=root', '--auth-root-authentication-method=socket', '--skip-test-db'], { stdio: 'pipe' });
  const port = await freePort();
  const daemon = startDaemon(cleanups, 'mariadbd', 'mariadbd', [
    '--no-defaults', `--datadir=${datadir}`, '--user=root', '--skip-networking=0', '--bind-address=127.0.0.1',
    `--port=${port}`, `--socket=${socket}`, `--pid-file=${join(dir, 'mysql.pid')}`, '--log-error=' + join(dir, 'mysql.err'),
    // Small and quick: a test database of a few MB.
    '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=8M', '--skip-log-bin', '--performance-schema=0',
  ]);
  await waitUntil(daemon, () => accepts(port), `mariadbd on port ${port}`);
  const sql = (statements) => execFileSync('mariadb', ['--no-defaults', `--socket=${socket}`, '-u', 'root', '-N', '-B', '-e', statements], { encoding: 'utf8' });
  return { port, socket, sql };
}
