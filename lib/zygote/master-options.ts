/**
 * A master's options: what they mean, their defaults and their checks
 * (each TypeError names the option), and the php command line they make.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_MAX_FRAME_SIZE } from '../protocol/frame.js';
import { resolveIdentity, type Identity } from './identity.js';

/** The PHP runtime shipped with this package (php/). */
export const PHP_RUNTIME_DIR = path.resolve(__dirname, '..', '..', '..', 'php');

export interface MasterOptions {
  /** The app script: boots the app, then calls \Zygote\Zygote::serve($handler). */
  script: string;
  /** Arguments for the script ($argv[1..]). */
  args?: string[];
  /** PHP binary. Default 'php'. */
  php?: string;
  /** Extra ini settings, passed as -d key=value. opcache.enable_cli defaults to 1. */
  ini?: Record<string, string | number | boolean>;
  /** Environment of the master and its workers. Default process.env. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Largest frame (context + body) either side accepts. Default 64 MiB. */
  maxFrameSize?: number;
  /** How long the app may take to boot. Default 30 s. */
  startTimeout?: number;
  /** How many output lines are kept per process for error messages. Default 20. */
  keepLogLines?: number;
  /**
   * The user the master and its workers run as (a name or uid), like
   * php-fpm's pool `user`. Needs Node to run as root. Default: Node's own.
   */
  user?: string | number;
  /** Their group (a name or gid). Default: the user's primary group. */
  group?: string | number;
  /**
   * Back PHP's heap with transparent huge pages (USE_ZEND_ALLOC_HUGE_PAGES):
   * a worker with a big heap dies ten times sooner (the kernel frees 2 MB
   * pages, not 4 KB ones: 256 MB took 19 ms to free, 1.9 ms with it) for a
   * little more memory per worker. Needs THP enabled (madvise or always).
   * Default false.
   */
  hugePages?: boolean;
}

export type Settings = Required<Omit<MasterOptions, 'cwd' | 'user' | 'group' | 'hugePages'>> & {
  hugePages: boolean;
  cwd: string | undefined;
  /** Who PHP runs as, when not as Node's own user. */
  identity: Identity | null;
};

export function validateMasterOptions(options: MasterOptions): Settings {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const { script, args = [], php = 'php', ini = {}, env = process.env, cwd, maxFrameSize = DEFAULT_MAX_FRAME_SIZE, startTimeout = 30_000, keepLogLines = 20, user, group, hugePages = false } = options;
  if (typeof script !== 'string' || script.length === 0) throw new TypeError('options.script must be the path of a PHP file');
  const resolved = path.resolve(cwd ?? process.cwd(), script);
  if (!existsSync(resolved)) throw new TypeError(`options.script does not exist: ${resolved}`);
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw new TypeError('options.args must be an array of strings');
  if (typeof php !== 'string' || php.length === 0) throw new TypeError('options.php must be the name or path of a PHP binary');
  if (ini === null || typeof ini !== 'object' || Array.isArray(ini)) throw new TypeError('options.ini must be an object of ini settings');
  for (const [key, value] of Object.entries(ini)) {
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new TypeError(`options.ini has an invalid key: ${JSON.stringify(key)}`);
    if (!['string', 'number', 'boolean'].includes(typeof value)) throw new TypeError(`options.ini.${key} must be a string, number or boolean`);
  }
  if (env === null || typeof env !== 'object') throw new TypeError('options.env must be an object');
  if (cwd !== undefined && typeof cwd !== 'string') throw new TypeError('options.cwd must be a string');
  if (!Number.isInteger(maxFrameSize) || maxFrameSize < 1024 || maxFrameSize > 0xffffffff) {
    throw new TypeError('options.maxFrameSize must be an integer between 1024 and 4294967295');
  }
  if (!Number.isFinite(startTimeout) || startTimeout <= 0) throw new TypeError('options.startTimeout must be a positive number of milliseconds');
  if (!Number.isInteger(keepLogLines) || keepLogLines < 0) throw new TypeError('options.keepLogLines must be a non-negative integer');
  const isId = (v: unknown) => (typeof v === 'string' && v.length > 0) || (Number.isInteger(v) && (v as number) >= 0);
  if (user !== undefined && !isId(user)) throw new TypeError('options.user must be a user name or a uid');
  if (group !== undefined && !isId(group)) throw new TypeError('options.group must be a group name or a gid');
  if (group !== undefined && user === undefined) throw new TypeError('options.group needs options.user');
  if (typeof hugePages !== 'boolean') throw new TypeError('options.hugePages must be a boolean');
  const identity = user === undefined ? null : resolveIdentity(user, group);
  return { script: resolved, args, php, ini, env, cwd, maxFrameSize, startTimeout, keepLogLines, identity, hugePages };
}

export function phpArguments(settings: Settings): string[] {
  const ini: Record<string, string> = { 'opcache.enable_cli': '1' };
  for (const [key, value] of Object.entries(settings.ini)) {
    ini[key] = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  }
  // Preloading as root needs a user to preload as; root itself is what the
  // master runs as, so say so rather than fail the boot.
  if (ini['opcache.preload'] && process.getuid?.() === 0 && !ini['opcache.preload_user']) ini['opcache.preload_user'] = settings.identity?.name ?? 'root';
  const args: string[] = [];
  for (const [key, value] of Object.entries(ini)) args.push('-d', `${key}=${value}`);
  args.push('-d', `auto_prepend_file=${path.join(PHP_RUNTIME_DIR, 'autoload.php')}`);
  return [...args, settings.script, ...settings.args];
}
