// Debian's DokuWiki (package `dokuwiki`, code in /usr/share/dokuwiki)
// served twice, unmodified: by nginx + php-fpm and by php-zygote serve
// --docroot, each with its own copy of the wiki's state.
//
// State: Debian keeps the configuration in /etc/dokuwiki and the data in
// /var/lib/dokuwiki/data. Neither is touched: the package's own
// inc/preload.php honours a DOKU_CONF defined before it runs (its farm
// support), so each server gets a DOKU_CONF of its own (a copy of
// /etc/dokuwiki whose local.php points `savedir` at a copy of the data),
// defined by php-fpm's auto_prepend_file on one side and by php-zygote's
// --boot file (run once in the master, so the constant is in every fork)
// on the other.
//
// Locations, as DokuWiki's nginx guide and Debian's apache.conf give them:
// the private folders refused (data/, conf/, bin/, inc/, vendor/ and
// install.php once installed), dotfiles refused, no rewriting
// (userewrite = 0, Debian's default), doku.php as the front script.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNginxFpm, phpLocation } from './nginx-fpm.mjs';
import { startZygote } from './zygote.mjs';
import { Twin } from './twin.mjs';

export const DOKUWIKI = '/usr/share/dokuwiki';
export const ADMIN = { user: 'admin', password: 'zygote-test-password' };

/** The URL paths DokuWiki must never serve, as one expression both servers use. */
export const DENY = '^/(data|conf|bin|inc|vendor)/|^/install\\.php$';

/** The serve flags that say what the nginx locations below say. */
export const ZYGOTE_FLAGS = ['--deny', DENY];

function nginxLocations(socket) {
  return `location ~ ${DENY} { deny all; }
    location / { try_files $uri $uri/ =404; }
    ${phpLocation(socket)}`;
}

/** Writes one side's state: conf/ (a copy of /etc/dokuwiki), data/ (a copy of /var/lib/dokuwiki/data), prepend.php. */
function writeState(dir) {
  const conf = join(dir, 'conf');
  const data = join(dir, 'data');
  // dereference: acl.auth.php and users.auth.php link into /var/lib/dokuwiki/acl.
  cpSync('/etc/dokuwiki', conf, { recursive: true, dereference: true });
  cpSync('/var/lib/dokuwiki/data', data, { recursive: true });
  writeFileSync(join(conf, 'local.php'), `<?php
$conf['title'] = 'Debian DokuWiki';
$conf['license'] = 'cc-by-sa';
$conf['useacl'] = 1;
$conf['superuser'] = '@admin';
$conf['savedir'] = ${JSON.stringify(data)};
// No calls to update.dokuwiki.org from the admin page: CI has no network.
$conf['updatecheck'] = 0;
`);
  // DokuWiki's plain auth accepts an MD5 hex hash (auth_verifyPassword).
  const hash = createHash('md5').update(ADMIN.password).digest('hex');
  writeFileSync(join(conf, 'users.auth.php'), `# users.auth.php written by php-zygote's test/apps/dokuwiki.mjs\n${ADMIN.user}:${hash}:Admin:admin@example.org:admin,user\n`);
  writeFileSync(join(conf, 'acl.auth.php'), '# acl.auth.php written by php-zygote\'s test/apps/dokuwiki.mjs\n*\t@ALL\t1\n*\t@user\t8\n');
  const prepend = join(dir, 'prepend.php');
  writeFileSync(prepend, `<?php\n// This server's copy of the configuration (Debian's inc/preload.php keeps a DOKU_CONF defined before it).\ndefine('DOKU_CONF', ${JSON.stringify(`${conf}/`)});\n`);
  return { prepend, data };
}

/** Why the DokuWiki suite cannot run here, or null. */
export function dokuwikiMissing() {
  if (!existsSync(join(DOKUWIKI, 'doku.php'))) return `Debian's DokuWiki is not installed (apt-get install dokuwiki)`;
  return null;
}

/** Starts both servers on their own copies of a fresh wiki; resolves with the Twin that drives them. */
export async function startDokuwiki(cleanups, dir, { workers = 2, zygoteFlags = [] } = {}) {
  mkdirSync(join(dir, 'fpm-state'), { recursive: true });
  mkdirSync(join(dir, 'zygote-state'), { recursive: true });
  const fpmState = writeState(join(dir, 'fpm-state'));
  const zygoteState = writeState(join(dir, 'zygote-state'));
  const reference = await startNginxFpm(cleanups, dir, { root: DOKUWIKI, workers, server: nginxLocations, fpmIni: { auto_prepend_file: fpmState.prepend } });
  const subject = await startZygote(cleanups, { root: DOKUWIKI, workers, flags: [...ZYGOTE_FLAGS, ...zygoteFlags], boot: zygoteState.prepend });
  return { twin: new Twin({ reference, subject }), reference, subject, data: { reference: fpmState.data, subject: zygoteState.data } };
}
