// The frame of an app acceptance suite (dokuwiki.apps.mjs,
// wordpress.apps.mjs): the app started on both servers in a temporary
// folder before the tests, every compared field checked after each test
// (test/apps/twin.mjs), everything stopped and removed after the suite.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll } from '../helpers.mjs';

/** As twin.mjs records a body: the first 16 hex digits of its SHA-256. */
export const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/**
 * A suite that runs `start(cleanups, dir)` before its tests (it resolves
 * with the servers, their Twin as `twin`), or fails at once saying why
 * when `missing` is set. `app` holds the Twin, what `start` resolved with
 * and the cleanups, once started.
 */
export function twinSuite(title, { missing, name, start }) {
  const test = suite(title);
  const app = { twin: null, started: null, cleanups: [] };
  let dir;
  test.before(async () => {
    if (missing) throw new Error(missing);
    dir = mkdtempSync(join(tmpdir(), `php-zygote-${name}-`));
    app.started = await start(app.cleanups, dir);
    app.twin = app.started.twin;
  });
  test.after(async () => {
    if (app.twin) console.log(`  ${app.twin.compared} fields compared, no difference excused`);
    for (const cleanup of app.cleanups.reverse()) await cleanup();
    await killAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  test.after.each(() => {
    const differences = app.twin?.takeDifferences();
    if (differences) assert.unreachable(`php-zygote differs from nginx + php-fpm:\n${differences}`);
  });
  return { test, app };
}
