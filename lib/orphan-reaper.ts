/**
 * Reaps orphans adopted through the child subreaper that nobody else will
 * reap: processes the app's workers started (shell_exec, proc_open) whose
 * parent died, or a master whose own parent died. Without this they would
 * stay zombies under Node for good.
 *
 * Node's own children must keep being reaped by libuv, which waits for
 * each pid it spawned and never learns of an exit another reaper took
 * (it would wait forever). libuv reaps its child on the loop turn after
 * the SIGCHLD, so a zombie child seen on two scans one tick apart is not
 * libuv's: only those are reaped here, each through its own pidfd
 * (waitid(P_PIDFD)), never with waitpid(-1). Pids with an open
 * ProcessHandle are left to their handle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { native } from './binding.js';
import { ProcessHandle } from './process-handle.js';

const TICK_MS = 1000;

let timer: NodeJS.Timeout | null = null;
let suspects = new Set<number>();

/** Starts the process-wide reaper (idempotent). It never keeps Node alive. */
export function startOrphanReaper(): void {
  if (timer) return;
  timer = setInterval(reapOrphans, TICK_MS);
  timer.unref();
}

/** One scan; exported for tests and for a last sweep. Returns the pids reaped. */
export function reapOrphans(): number[] {
  const zombies = new Set(zombieChildren());
  const reaped: number[] = [];
  for (const pid of zombies) {
    if (!suspects.has(pid) || ProcessHandle.isWatched(pid)) continue;
    let pidfd: number;
    try {
      pidfd = native.pidfdOpen(pid);
    } catch {
      continue; // reaped meanwhile
    }
    try {
      if (native.reapPidfd(pidfd)) reaped.push(pid);
    } catch {
      // ECHILD: someone reaped it between the scan and now.
    } finally {
      native.closeFd(pidfd);
    }
    zombies.delete(pid);
  }
  suspects = zombies;
  return reaped;
}

function zombieChildren(): number[] {
  const self = process.pid;
  const zombies: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue;
    }
    // Fields after the parenthesised name: state, ppid, ...
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 2);
    if (rest[0] === 'Z' && Number(rest[1]) === self) zombies.push(Number(entry));
  }
  return zombies;
}
