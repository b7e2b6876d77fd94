/**
 * The directories that hold uploads while their job runs: one per request,
 * made 0700 (by mkdtemp) and given to the pool's user when PHP runs as
 * another one (it must read the files, and rename them out with
 * move_uploaded_file(), which needs write access to the directory).
 *
 * A directory is removed when its job settles, whatever the outcome
 * (php-exchange.ts runs `done` for an answer, a crashed worker, a
 * timeout); PHP may have removed the files left in it already (it
 * unlinks its uploads at request shutdown, php/src/Classic/UploadRegistry.php),
 * so removal tolerates that. Those still live when the process exits
 * (a body still arriving when the server closed) are removed then, in
 * one 'exit' listener shared by every handler.
 */
import { rmSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';

const live = new Set<string>();
let exitHookInstalled = false;

function removeAllNow(): void {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
}

/** A fresh upload directory under `base`, owned by `owner` if given. */
export async function createUploadDir(base: string, owner: { uid: number; gid: number } | null): Promise<string> {
  if (!exitHookInstalled) {
    process.on('exit', removeAllNow);
    exitHookInstalled = true;
  }
  const dir = await mkdtemp(join(base, 'php-zygote-upload-'));
  live.add(dir);
  if (owner) await chown(dir, owner.uid, owner.gid);
  return dir;
}

/** Removes an upload directory and what is left in it. */
export async function removeUploadDir(dir: string): Promise<void> {
  live.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

/** The upload directories not yet removed (for tests and diagnostics). */
export function liveUploadDirs(): string[] {
  return [...live];
}
