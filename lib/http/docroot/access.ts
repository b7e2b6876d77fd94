/**
 * isForbidden(config, path): whether a decoded URL path is refused with
 * 403 before any file is looked at.
 *
 * Dotfiles and dot-directories (.htaccess, .git/, .env, .user.ini,
 * .svn/) are never served, as the `location ~ /\. { deny all; }` nearly
 * every nginx + php-fpm set-up carries: they hold credentials, history or
 * rules meant for Apache. 403 rather than 404, as nginx answers there: the
 * answer is the same whether the file exists or not, so it tells nothing.
 * The rule applies to the whole path, PATH_INFO included
 * (/index.php/.git/x), as nginx's regex does. /.well-known/ (RFC 8615:
 * ACME challenges, security.txt) is allowed; dot names below it are not.
 *
 * Then the administrator's --deny expressions, on the same decoded and
 * normalised path, so `%2e`, `//` or `/./` cannot slip past them.
 */
import type { DocrootConfig } from './docroot-options.js';

export function isForbidden(config: DocrootConfig, path: string): boolean {
  const segments = path.split('/');
  // segments[0] is the empty string before the leading slash.
  for (let i = 1; i < segments.length; i++) {
    if (segments[i].startsWith('.') && !(i === 1 && segments[i] === '.well-known')) return true;
  }
  return config.deny.some((re) => re.test(path));
}
