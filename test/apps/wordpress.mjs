// Debian's WordPress (package `wordpress`, code in /usr/share/wordpress,
// wp-content in /var/lib/wordpress/wp-content) served twice, unmodified:
// by nginx + php-fpm and by php-zygote serve --docroot, each with its own
// database in one private MariaDB (test/apps/mariadb.mjs).
//
// Configuration: Debian's wp-config.php reads
// /etc/wordpress/config-<Host>.php; both servers are reached as
// 127.0.0.1, so the suite writes /etc/wordpress/config-127.0.0.1.php for
// the length of the run (refusing to touch one it did not write) and
// removes it at the end. It picks the database by SERVER_PORT, so each
// server keeps its own state, installed through itself.
//
// Locations, as Debian's examples/nginx-wordpress.conf gives them:
// try_files $uri $uri/ /index.php?$args, /wp-content/ aliased to
// /var/lib/wordpress/wp-content/, and no PHP run from uploads.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMariadb } from './mariadb.mjs';
import { phpLocation, startNginxFpm } from './nginx-fpm.mjs';
import { startZygote } from './zygote.mjs';
import { Twin } from './twin.mjs';

export const WORDPRESS = '/usr/share/wordpress';
export const CONTENT = '/var/lib/wordpress/wp-content';
export const CONFIG = '/etc/wordpress/config-127.0.0.1.php';
const MARK = '// Written by php-zygote\'s test/apps/wordpress.mjs for one test run';
export const ADMIN = { user: 'admin', password: 'zygote-test-password', email: 'admin@example.org' };
const DB = { user: 'wordpress', password: 'zygote-test-db' };

export const DENY_UPLOADED_PHP = '^/wp-content/uploads/.*\\.php$';
export const ZYGOTE_FLAGS = ['--fallback', '/index.php', '--alias', `/wp-content/=${CONTENT}/`, '--deny', DENY_UPLOADED_PHP];

function nginxLocations(socket) {
  return `location / { try_files $uri $uri/ /index.php?$args; }
    location ^~ /wp-content/ {
      alias ${CONTENT}/;
      location ~ ${DENY_UPLOADED_PHP} { deny all; }
      ${phpLocation(socket, { pattern: '\\.php$', scriptFilename: '$request_filename' })}
    }
    ${phpLocation(socket)}`;
}

/** Why the WordPress suite cannot run here, or null. */
export function wordpressMissing() {
  if (!existsSync(join(WORDPRESS, 'wp-config.php'))) return 'Debian\'s WordPress is not installed (apt-get install wordpress)';
  if (!existsSync(join(CONTENT, 'themes/twentytwentythree'))) return 'no WordPress theme (apt-get install wordpress-theme-twentytwentythree)';
  return null;
}

function writeConfig(cleanups, { dbPort, databases }) {
  if (existsSync(CONFIG) && !readFileSync(CONFIG, 'utf8').includes(MARK)) {
    throw new Error(`${CONFIG} exists and was not written by this suite: it serves a real site here; not touching it`);
  }
  const key = (name) => `define('${name}', 'php-zygote test ${name}');`;
  writeFileSync(CONFIG, `<?php
${MARK}; removed when it ends.
// One database per server (by port), so each keeps its own state.
$php_zygote_test_databases = [${Object.entries(databases).map(([port, name]) => `'${port}' => '${name}'`).join(', ')}];
define('DB_NAME', $php_zygote_test_databases[$_SERVER['SERVER_PORT'] ?? ''] ?? 'none');
define('DB_USER', '${DB.user}');
define('DB_PASSWORD', '${DB.password}');
define('DB_HOST', '127.0.0.1:${dbPort}');
${['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'].map(key).join('\n')}
// CI has no network: no update checks, no calls to api.wordpress.org,
// no wp-cron loopback requests racing the compared ones.
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('DISABLE_WP_CRON', true);
`);
  cleanups.push(() => {
    if (existsSync(CONFIG) && readFileSync(CONFIG, 'utf8').includes(MARK)) rmSync(CONFIG);
  });
}

/**
 * Points each server's uploads at a folder of its own under
 * wp-content/uploads (WordPress's upload_path and upload_url_path
 * options, in each server's database), so that the same upload gets the
 * same file name on both and the run leaves nothing in the package's
 * uploads folder. Call it once WordPress is installed.
 */
export function ownUploadFolders(cleanups, { db, reference, subject }) {
  const folders = {};
  for (const [side, database, { port }] of [['reference', 'wp_fpm', reference], ['subject', 'wp_zygote', subject]]) {
    const name = `php-zygote-test-${process.pid}-${side}`;
    folders[side] = join(CONTENT, 'uploads', name);
    db.sql(`UPDATE ${database}.wp_options SET option_value = '${folders[side]}' WHERE option_name = 'upload_path';
      UPDATE ${database}.wp_options SET option_value = 'http://127.0.0.1:${port}/wp-content/uploads/${name}' WHERE option_name = 'upload_url_path';`);
    cleanups.push(() => rmSync(folders[side], { recursive: true, force: true }));
  }
  return folders;
}

/** Starts MariaDB and both servers, each on an empty database of its own; resolves with the Twin that drives them. */
export async function startWordpress(cleanups, dir, { workers = 2, zygoteFlags = [] } = {}) {
  mkdirSync(dir, { recursive: true });
  const db = await startMariadb(cleanups, dir);
  db.sql(`CREATE DATABASE wp_fpm; CREATE DATABASE wp_zygote;
    CREATE USER '${DB.user}'@'127.0.0.1' IDENTIFIED BY '${DB.password}';
    GRANT ALL ON wp_fpm.* TO '${DB.user}'@'127.0.0.1'; GRANT ALL ON wp_zygote.* TO '${DB.user}'@'127.0.0.1';`);
  const reference = await startNginxFpm(cleanups, dir, { root: WORDPRESS, workers, server: nginxLocations });
  const subject = await startZygote(cleanups, { root: WORDPRESS, workers, flags: [...ZYGOTE_FLAGS, ...zygoteFlags] });
  writeConfig(cleanups, { dbPort: db.port, databases: { [reference.port]: 'wp_fpm', [subject.port]: 'wp_zygote' } });
  return { twin: new Twin({ reference, subject }), reference, subject, db };
}
