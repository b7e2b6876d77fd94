// What the app suites need from the machine. They are run on purpose
// (npm run test:apps, .ci/run installs everything), so a missing package
// fails the run with the command that installs it, rather than skipping.
import { execFileSync } from 'node:child_process';
import { MARIADB_COMMANDS } from './mariadb.mjs';
import { NGINX_COMMANDS } from './nginx-fpm.mjs';

const has = (command) => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** null when all is there, else one message naming what is missing. */
export function prerequisites(appReasons, { mariadb = false } = {}) {
  const reasons = appReasons.filter(Boolean);
  for (const command of [...NGINX_COMMANDS, ...(mariadb ? MARIADB_COMMANDS : [])]) {
    if (!has(command)) reasons.push(`${command} is not installed`);
  }
  // nginx `user root`, php-fpm -R, mariadbd --user=root, and DokuWiki's
  // data copies owned by whoever runs: these suites run as root, as CI does.
  if (process.getuid() !== 0) reasons.push('the app suites run as root (nginx `user root`, php-fpm -R)');
  return reasons.length === 0 ? null : `cannot run: ${reasons.join('; ')}. On Debian 12: apt-get install nginx php8.2-fpm mariadb-server php8.2-mysql php8.2-gd php8.2-xml php8.2-mbstring php8.2-intl dokuwiki wordpress wordpress-theme-twentytwentythree (.ci/run does it)`;
}
