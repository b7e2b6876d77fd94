/**
 * Tells a PHP CLI binary from anything else given as `options.php`.
 *
 * The master is started as `<php> -d ... app.php`. A binary that is not
 * the PHP CLI (php-fpm, php-cgi, /bin/true, a typo'd wrapper) exits or
 * closes the control socket before the app "booted", which on its own
 * reads like a broken app. Asked only after a start failed, so a working
 * start never pays for the extra process.
 */
import { execFile } from 'node:child_process';

const PROBE_TIMEOUT_MS = 5000;

/**
 * Null when `php --version` says it is the PHP CLI (`PHP 8.2.1 (cli) ...`),
 * else one sentence naming the binary and what it answered. Every PHP
 * SAPI names itself in that line (cli, fpm-fcgi, cgi-fcgi), and
 * `--version` is harmless for programs that are not PHP at all.
 */
export function describeNonCliPhp(php: string, env?: NodeJS.ProcessEnv, cwd?: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(php, ['--version'], { env, cwd, timeout: PROBE_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
      const first = (stdout || stderr).split('\n')[0].trim();
      if (/^PHP \S+ \(cli\)/.test(first)) {
        resolve(null);
        return;
      }
      const code = (error as NodeJS.ErrnoException & { code?: unknown } | null)?.code;
      const answered = first !== '' ? `printed "${first}"` : typeof code === 'number' ? `printed nothing and exited with code ${code}` : 'printed nothing';
      resolve(`options.php (${php}) is not a PHP CLI binary: \`${php} --version\` ${answered}; php-zygote runs the app with the PHP command-line binary (php, not php-fpm or php-cgi)`);
    });
  });
}
