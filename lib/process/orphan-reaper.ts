/**
 * Reaps orphans adopted through the child subreaper that nobody else will
 * reap: processes the app's workers started (shell_exec, proc_open) whose
 * parent died, or a master whose own parent died. Without this they would
 * stay zombies under Node for good.
 *
 * A scan looks at Node's own children only (children.ts), so its cost
 * follows the processes Node has, not the host's: a few reads, on the
 * main thread, however many thousand processes the host runs. Scans run
 * when SIGCHLD says a child changed state, plus a slow tick as a safety
 * net (a signal can be coalesced or consumed elsewhere).
 *
 * Node's own children must keep being reaped by libuv, which waits for
 * each pid it spawned and never learns of an exit another reaper took
 * (it would wait forever), whatever thread's loop spawned it. Those
 * children are in Node's process group, or lead a group of their own when
 * spawned detached (as masters are). Adopted orphans are neither: workers
 * and what they start stay in their master's group, whose leader is the
 * master. A zombie child in another group than Node's that does not lead
 * it is such an orphan for sure: it is reaped at once. Any other zombie
 * child (an orphan from a child_process subtree, in Node's group) is
 * reaped only after LIBUV_GRACE_MS: libuv reaps its own on the loop turn
 * after their exit, so only a thread's loop blocked that long could lose
 * an exit to us. Pids with an open ProcessHandle are left to their
 * handle. Each is reaped through its own pidfd (waitid(P_PIDFD)), never
 * with waitpid(-1).
 */
import { native } from '../native/binding.js';
import { setChildSubreaper } from '../native/subreaper.js';
import { ownChildren, procStat, withChildPidfd } from './children.js';
import { ProcessHandle } from './process-handle.js';

const TICK_MS = 1000;
const LIBUV_GRACE_MS = 30_000;

let timer: NodeJS.Timeout | null = null;
let scanQueued = false;
/** Zombie children that may be libuv's, with when each was first seen. */
let suspects = new Map<number, number>();

/**
 * Makes Node a child subreaper (orphans below it reparent to Node rather
 * than PID 1) and starts the orphan reaper. Process-wide and for good:
 * WorkerPool calls it unless told not to (adoptOrphans: false).
 */
export function adoptOrphans(): void {
  setChildSubreaper(true);
  startOrphanReaper();
}

/** Starts the process-wide reaper (idempotent). It never keeps Node alive. */
export function startOrphanReaper(): void {
  if (timer) return;
  timer = setInterval(reapOrphans, TICK_MS);
  timer.unref();
  // Node's signal handles are unref'd: listening keeps nothing alive.
  process.on('SIGCHLD', queueScan);
}

/** Many exits arrive together (a master's workers): one scan per loop turn. */
function queueScan(): void {
  if (scanQueued) return;
  scanQueued = true;
  setImmediate(() => {
    scanQueued = false;
    reapOrphans();
  });
}

/** One scan; exported for tests and for a last sweep. Returns the pids reaped. */
export function reapOrphans(): number[] {
  const now = Date.now();
  const ownGroup = procStat('self')?.pgrp;
  const reaped: number[] = [];
  const seen = new Map<number, number>();
  for (const pid of ownChildren()) {
    const stat = procStat(pid);
    if (!stat || stat.state !== 'Z') continue;
    const certain = stat.pgrp !== ownGroup && stat.pgrp !== pid;
    const since = suspects.get(pid) ?? now;
    if (!certain && now - since < LIBUV_GRACE_MS) {
      seen.set(pid, since);
      continue;
    }
    if (ProcessHandle.isWatched(pid)) continue;
    if (reapChild(pid)) reaped.push(pid);
  }
  suspects = seen;
  return reaped;
}

/** Reaps one exited child through a pidfd; false when it was gone already. */
export function reapChild(pid: number): boolean {
  return withChildPidfd(pid, (pidfd) => {
    try {
      return native.reapPidfd(pidfd) !== null;
    } catch {
      return false; // ECHILD: someone reaped it between the scan and now
    }
  }) ?? false;
}
