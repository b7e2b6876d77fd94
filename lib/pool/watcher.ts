/**
 * Reload on change, for the development loop (Laravel Octane's and
 * FrankenPHP's --watch): a PHP file under the watched directories changes,
 * and after a quiet moment the pool reloads (a new master boots the new
 * code; old workers finish what they run). Changed files are linted with
 * `php -l` first: a syntax error is logged and the old code keeps serving,
 * instead of a reload that would fail on the first request that loads it.
 */
import { execFile } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

export interface WatchHooks {
  /** Reloads the pool. */
  reload(): Promise<void>;
  /** A line for the log. */
  notice(line: string): void;
}

const DEBOUNCE_MS = 300;

/** `php -l file`: null when it parses, else PHP's message. */
function lint(php: string, file: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(php, ['-n', '-l', file], { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) return resolve(null);
      // A file deleted meanwhile is not a syntax error.
      if (/Could not open input file/.test(stdout + stderr)) return resolve(null);
      resolve((stdout + stderr).trim().split('\n').filter((l) => l && !/^Errors parsing/.test(l)).join(' '));
    });
  });
}

export class Watcher {
  readonly #watchers: FSWatcher[];
  readonly #changed = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #busy: Promise<void> = Promise.resolve();

  constructor(dirs: readonly string[], php: string, hooks: WatchHooks) {
    this.#watchers = dirs.map((dir) => {
      const watcher = watch(dir, { recursive: true, persistent: false }, (_event, name) => {
        if (typeof name !== 'string' || !name.endsWith('.php')) return;
        this.#changed.add(join(dir, name));
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.#flush(php, hooks), DEBOUNCE_MS);
      });
      watcher.on('error', (error) => hooks.notice(`watching ${dir} failed: ${error.message}`));
      return watcher;
    });
  }

  #flush(php: string, hooks: WatchHooks): void {
    this.#timer = null;
    const files = [...this.#changed];
    this.#changed.clear();
    // One reload at a time; changes during one wait for the next.
    this.#busy = this.#busy.then(async () => {
      const problems = (await Promise.all(files.map(async (file) => [file, await lint(php, file)] as const))).filter(([, problem]) => problem !== null);
      if (problems.length > 0) {
        for (const [, problem] of problems) hooks.notice(`not reloading, the old code keeps serving: ${problem}`);
        return;
      }
      hooks.notice(`${files.length === 1 ? files[0] : `${files.length} files`} changed: reloading`);
      try {
        await hooks.reload();
        hooks.notice('reloaded');
      } catch (error) {
        hooks.notice(`the reload failed, the old code keeps serving: ${(error as Error).message}`);
      }
    });
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    for (const watcher of this.#watchers) watcher.close();
  }
}
