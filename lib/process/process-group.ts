/**
 * Ends what is left of a master's process group, the way systemd's stop
 * of a control group does: processes the app's workers started in the
 * background (`shell_exec('cmd &')`) must not outlive close().
 *
 * A master ends its own group when it shuts down (php/src/Master.php:
 * kill(0, SIGKILL) once its workers are reaped). This is for a master that
 * died first: its group's survivors reparent, through the child
 * subreaper, to Node, where each is signalled through a pidfd of its own
 * (never `kill(-pgid)`, whose number could name a new group once the old
 * one is empty) and reaped. Their own children reparent to Node in turn
 * as their parents die, so this repeats until none is left.
 */
import { native } from '../native/binding.js';
import { isChildSubreaper } from '../native/subreaper.js';
import { delay } from '../util/deadline.js';
import { ownChildren, procStat, withChildPidfd } from './children.js';
import { reapChild } from './orphan-reaper.js';
import { ProcessHandle } from './process-handle.js';

/** How often to look for survivors that reparented meanwhile: nothing signals a reparenting. */
const SWEEP_INTERVAL_MS = 10;

/**
 * Kills and reaps Node's children in process group `pgid` until none is
 * left or `timeout` ms passed. Resolves with how many it ended. Without
 * the child subreaper the survivors went to PID 1, out of reach: 0.
 */
export async function endAdoptedGroup(pgid: number, timeout: number): Promise<number> {
  if (!isChildSubreaper()) return 0;
  const deadline = Date.now() + timeout;
  let ended = 0;
  for (;;) {
    const members = ownChildren().filter((pid) => procStat(pid)?.pgrp === pgid && !ProcessHandle.isWatched(pid));
    if (members.length === 0) return ended;
    for (const pid of members) {
      if (procStat(pid)?.state === 'Z') {
        if (reapChild(pid)) ended++;
        continue;
      }
      withChildPidfd(pid, (pidfd) => {
        try {
          native.pidfdSendSignal(pidfd, 9);
        } catch {
          // ESRCH: it exited meanwhile; reaped on the next pass.
        }
      });
    }
    if (Date.now() >= deadline) return ended;
    await delay(SWEEP_INTERVAL_MS);
  }
}
