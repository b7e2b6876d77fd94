/**
 * Reaps orphans adopted through the child subreaper that nobody else will
 * reap: processes the app's workers started (shell_exec, proc_open) whose
 * parent died, or a master whose own parent died. Without this they would
 * stay zombies under Node for good.
 *
 * Node's own children must keep being reaped by libuv, which waits for
 * each pid it spawned and never learns of an exit another reaper took
 * (it would wait forever), whatever thread's loop spawned it. Those
 * children are in Node's process group, or lead a group of their own when
 * spawned detached (as masters are). Adopted orphans are neither: workers
 * and what they start stay in their master's group, whose leader is the
 * master. A zombie child in another group than Node's that does not lead
 * it is such an orphan for sure: it is reaped once seen on two scans a
 * tick apart. Any other zombie child (an orphan from a child_process
 * subtree, in Node's group) is reaped only after LIBUV_GRACE_MS: libuv
 * reaps its own on the loop turn after their exit, so only a thread's
 * loop blocked that long could lose an exit to us. Pids with an open
 * ProcessHandle are left to their handle. Each is reaped through its own
 * pidfd (waitid(P_PIDFD)), never with waitpid(-1).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { native } from '../native/binding.js';
import { setChildSubreaper } from '../native/subreaper.js';
import { ProcessHandle } from './process-handle.js';

const TICK_MS = 1000;
const LIBUV_GRACE_MS = 30_000;

let timer: NodeJS.Timeout | null = null;

/**
 * Makes Node a child subreaper (orphans below it reparent to Node rather
 * than PID 1) and starts the orphan reaper. Process-wide and for good:
 * WorkerPool calls it unless told not to (adoptOrphans: false).
 */
export function adoptOrphans(): void {
  setChildSubreaper(true);
  startOrphanReaper();
}

/** Zombie children seen on the last scan, with when each was first seen. */
let suspects = new Map<number, number>();
/** Starts the process-wide reaper (idempotent). It never keeps Node alive. */
export function startOrphanReaper(): void {
  if (timer) return;
  timer = setInterval(reapOrphans, TICK_MS);
  timer.unref();
}

/** One scan; exported for tests and for a last sweep. Returns the pids reaped. */
export function reapOrphans(): number[] {
  const now = Date.now();
  const reaped: number[] = [];
  const seen = new Map<number, number>();
  for (const { pid, certain } of zombieChildren()) {
    const since = suspects.get(pid) ?? now;
    seen.set(pid, since);
    const due = certain ? suspects.has(pid) : now - since >= LIBUV_GRACE_MS;
    if (!due || ProcessHandle.isWatched(pid)) continue;
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
    seen.delete(pid);
  }
  suspects = seen;
  return reaped;
}

/** Fields after the parenthesised command name: state, ppid, pgrp, ... */
function statFields(pid: number | 'self'): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3);
  } catch {
    return null;
  }
}

/** Zombie children; `certain` when their group marks them as adopted orphans. */
function zombieChildren(): { pid: number; certain: boolean }[] {
  const self = process.pid;
  const ownGroup = Number(statFields('self')?.[2]);
  const zombies: { pid: number; certain: boolean }[] = [];
  for (const entry of readdirSync('/proc')) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    const fields = statFields(Number(entry));
    if (!fields || fields[0] !== 'Z' || Number(fields[1]) !== self) continue;
    const pid = Number(entry);
    const group = Number(fields[2]);
    zombies.push({ pid, certain: group !== ownGroup && group !== pid });
  }
  return zombies;
}
