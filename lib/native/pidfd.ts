/**
 * The low-level pidfd calls, typed and with signal names instead of
 * numbers. Every fd they return is owned by the addon: close it with
 * closeFd(), never fs.closeSync().
 */
import { native } from './binding.js';
import { signalName, signalNumber } from './signals.js';
import type { NativeBinding, NativeExitStatus } from '../../types/native.js';

/** Closes an fd the addon owns; false when it was not owned (already closed). */
export function closeFd(fd: number, binding: NativeBinding = native): boolean {
  return binding.closeFd(fd);
}

/** pidfd_open(pid, PIDFD_NONBLOCK): an fd that pins the process. Owned by the addon. */
export function pidfdOpen(pid: number, binding: NativeBinding = native): number {
  return binding.pidfdOpen(pid);
}

/** pidfd_send_signal: signals exactly the process the pidfd refers to. */
export function pidfdSendSignal(pidfd: number, signal: NodeJS.Signals | number, binding: NativeBinding = native): void {
  binding.pidfdSendSignal(pidfd, signalNumber(signal));
}

/** waitid(P_PIDFD, WEXITED | WNOHANG) for one child: its status, or null while it runs. */
export function reapPidfd(pidfd: number, binding: NativeBinding = native): (Omit<NativeExitStatus, 'signal'> & { signal: NodeJS.Signals | null }) | null {
  const status = binding.reapPidfd(pidfd);
  return status === null ? null : { ...status, signal: signalName(status.signal) };
}

/** The native Poller class: a uv_poll_t on any fd, on this thread's loop. */
export const Poller = native.Poller;
