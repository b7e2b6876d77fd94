// The subject: `php-zygote serve --docroot` with the flags that say what
// the reference's nginx locations say, on a loopback port of the
// kernel's choice.
import { startCli } from '../cli-process.mjs';

// PHP_ZYGOTE_APPS_SERVE_FLAGS adds serve flags to every app suite's
// subject (`npm run test:apps` runs the suites once as they are, in a
// fresh fork per request, and once with reused workers: --max-jobs).
const fromEnv = (process.env.PHP_ZYGOTE_APPS_SERVE_FLAGS ?? '').split(/\s+/).filter(Boolean);

export async function startZygote(cleanups, { root, workers, flags = [], boot }) {
  const args = ['serve', '--docroot', root, '--port', '0', '--host', '127.0.0.1', '--workers', String(workers), ...flags, ...fromEnv];
  if (boot) args.push('--boot', boot);
  const { url, output, child } = await startCli(cleanups, args);
  const base = url.replace(/\/$/, '');
  // pid: the serve process, whose tree bench/apps.mjs counts the CPU of.
  return { port: Number(new URL(base).port), url: base, output, pid: child.pid };
}
