/**
 * The user and group PHP runs as, like php-fpm's pool `user`/`group`: Node
 * may run as root (to bind port 80, say), PHP should not. Names are looked
 * up with getent, so users from NSS (LDAP, systemd's DynamicUser) resolve
 * as they do for every other program on the host.
 */
import { execFileSync } from 'node:child_process';

export interface Identity {
  uid: number;
  gid: number;
  /** The user's name, for opcache.preload_user. */
  name: string;
}

/** One getent database entry's fields, or null when it has none for `key`. */
function getent(database: 'passwd' | 'group', key: string): string[] | null {
  try {
    const line = execFileSync('getent', [database, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return line.split('\n')[0].split(':');
  } catch {
    return null; // exit 2: no such entry
  }
}

/**
 * Resolves `user` (a name or a uid) and `group` (a name or a gid; default:
 * the user's primary group). Throws a TypeError naming the option.
 */
export function resolveIdentity(user: string | number, group: string | number | undefined): Identity {
  const passwd = getent('passwd', String(user));
  if (!passwd) throw new TypeError(`options.user is not a user on this host: ${JSON.stringify(user)}`);
  const [name, , uid, primaryGid] = passwd;
  let gid = Number(primaryGid);
  if (group !== undefined) {
    const entry = getent('group', String(group));
    if (!entry) throw new TypeError(`options.group is not a group on this host: ${JSON.stringify(group)}`);
    gid = Number(entry[2]);
  }
  const identity = { uid: Number(uid), gid, name };
  const self = process.getuid?.();
  if (self !== 0 && (identity.uid !== self || identity.gid !== process.getgid?.())) {
    throw new TypeError(`options.user and options.group need Node to run as root to switch to ${name} (uid ${identity.uid}, gid ${identity.gid}); this is uid ${self}`);
  }
  return identity;
}
