/**
 * Node's own children, read from /proc/self/task/<tid>/children (Linux
 * 3.5+, CONFIG_PROC_CHILDREN, on in Debian's and the common distribution
 * kernels). Every thread has its own list: libuv spawns from the thread
 * whose loop asked, and the kernel hands an adopted orphan to any live
 * thread of the subreaper. The cost is one read per thread plus one per
 * child, whatever else runs on the host; where the lists are missing, a
 * scan of all of /proc takes their place.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { native } from '../native/binding.js';

export interface ProcStat {
  /** R, S, D, Z (zombie), T, ... */
  state: string;
  ppid: number;
  pgrp: number;
  /** CPU time used, user + system, in clock ticks (clock.ts). */
  cpuTicks: number;
}

/** The fields after the parenthesised command name (which may hold spaces), or null when gone. */
export function procStat(pid: number | 'self'): ProcStat | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // stat(5) field 3 on; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 13);
  return { state: fields[0], ppid: Number(fields[1]), pgrp: Number(fields[2]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

let childLists: boolean | null = null;

/**
 * Runs `act` on a pidfd of `pid`, one of our children (so its pid cannot
 * be reused before we reap it), and closes the pidfd. Undefined when the
 * child is gone already.
 */
export function withChildPidfd<T>(pid: number, act: (pidfd: number) => T): T | undefined {
  let pidfd: number;
  try {
    pidfd = native.pidfdOpen(pid);
  } catch {
    return undefined; // reaped meanwhile
  }
  try {
    return act(pidfd);
  } finally {
    native.closeFd(pidfd);
  }
}

/** Pids of this process's children (any thread's). */
export function ownChildren(): number[] {
  if (childLists !== false) {
    try {
      const pids: number[] = [];
      for (const tid of readdirSync('/proc/self/task')) {
        let list: string;
        try {
          list = readFileSync(`/proc/self/task/${tid}/children`, 'latin1');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT' && childLists === null) throw err;
          continue; // the thread ended meanwhile
        }
        for (const pid of list.split(' ')) if (pid !== '' && pid !== '\n') pids.push(Number(pid));
      }
      childLists = true;
      return pids;
    } catch {
      childLists = false; // a kernel without CONFIG_PROC_CHILDREN
    }
  }
  return scanAllForChildren();
}

/** The fallback: every process on the host, for the few whose parent is us. */
function scanAllForChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    if (procStat(Number(entry))?.ppid === process.pid) pids.push(Number(entry));
  }
  return pids;
}
