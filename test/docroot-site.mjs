// A document root for the docroot suites, built per test in a temporary
// directory: the fixture tree (test/fixtures/docroot) plus what git
// cannot hold or what must lie outside the root:
//   www/            the document root (a copy of the fixture)
//   www/.git/config a repository's config (git refuses to track a .git path)
//   www/linked ->   ../shared, a symlink the administrator placed, as
//                   Debian's DokuWiki links lib/tpl into /var/lib/dokuwiki
//   shared/         the symlink's target, outside the root
//   extra/          a directory mapped in with an alias
//   outside/        a secret next to the root that no URL may reach
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerPool, createDocrootHandler } from 'php-zygote';
import { within } from './helpers.mjs';

export const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const SECRET = 'SECRET-OUTSIDE-THE-ROOT';

export function makeSite() {
  const dir = mkdtempSync(join(tmpdir(), 'php-zygote-docroot-'));
  const www = join(dir, 'www');
  cpSync(join(fixtures, 'docroot'), www, { recursive: true });
  mkdirSync(join(www, '.git'));
  writeFileSync(join(www, '.git', 'config'), '[core]\n\tbare = false\n');
  writeFileSync(join(www, 'with space.css'), 'a { }\n');
  mkdirSync(join(dir, 'shared'));
  writeFileSync(join(dir, 'shared', 'tpl.css'), '.tpl { }\n');
  writeFileSync(join(dir, 'shared', 'plugin.php'), '<?php echo "plugin";\n');
  symlinkSync('../shared', join(www, 'linked'), 'dir');
  mkdirSync(join(dir, 'extra'));
  writeFileSync(join(dir, 'extra', 'extra.css'), '.extra { }\n');
  writeFileSync(join(dir, 'extra', 'extra.php'), '<?php echo "extra";\n');
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(dir, 'outside', 'secret.txt'), `${SECRET}\n`);
  return { dir, www, extra: join(dir, 'extra'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A pool running the echo fixture (it answers with the context it got)
 * behind createDocrootHandler over a fresh site; pushes its cleanup onto
 * `cleanups`. Resolves with the site, the base URL and the port.
 */
export async function serveSite(cleanups, options = () => ({})) {
  const site = makeSite();
  const pool = new WorkerPool({ script: `${fixtures}apps/docroot-echo.php`, workers: 1 });
  const server = createServer(createDocrootHandler(pool, { docroot: site.www, ...options(site) }));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await pool.close({ timeout: 2000 });
    site.remove();
  });
  await within(pool.ready(), 20000, 'pool ready');
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  return { site, port, url: `http://127.0.0.1:${port}` };
}
