/**
 * Child subreaper (prctl PR_SET_CHILD_SUBREAPER, Linux 3.4+). With it on,
 * processes orphaned below Node (a worker whose PHP master died) reparent
 * to Node instead of PID 1, so Node can still reap them, through their
 * pidfd (ProcessHandle with reap: true, or reapPidfd), never waitpid(-1).
 * Node's own child_process children keep being reaped by Node as before.
 * The setting is per process, not inherited by children across fork.
 */
import { native } from './binding.js';
import type { NativeBinding } from '../../types/native.js';

export function setChildSubreaper(on: boolean, binding: NativeBinding = native): void {
  binding.setChildSubreaper(on);
}

export function isChildSubreaper(binding: NativeBinding = native): boolean {
  return binding.isChildSubreaper();
}
