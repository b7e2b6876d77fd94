/**
 * The one place the native addon is loaded. node-gyp-build picks the
 * prebuilt binary from prebuilds/ and falls back to build/Release when
 * the package was compiled from source.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { NativeBinding } from '../../types/native.js';
import { UnsupportedPlatformError } from '../errors.js';

const REQUIREMENT = 'php-zygote needs Linux 5.10+';

function load(): NativeBinding {
  if (process.platform !== 'linux') {
    throw new UnsupportedPlatformError(`${REQUIREMENT} (this is ${process.platform})`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
  const binding = nodeGypBuild(path.join(__dirname, '..', '..', '..')) as NativeBinding;
  checkKernel(binding);
  return binding;
}

/**
 * Probes the calls we depend on rather than trusting the version string:
 * distribution kernels backport features, and containers filter calls.
 */
function checkKernel(binding: NativeBinding): void {
  const pidfd = probe('pidfd_open', () => binding.pidfdOpen(process.pid)) as number;
  try {
    probe('pidfd_send_signal', () => binding.pidfdSendSignal(pidfd, 0));
    // We are not our own child: a kernel with waitid(P_PIDFD) says ECHILD.
    probe('waitid(P_PIDFD)', () => binding.reapPidfd(pidfd), 'ECHILD');
  } finally {
    binding.closeFd(pidfd);
  }
}

function probe<T>(call: string, attempt: () => T, expectedCode?: string): T | undefined {
  try {
    return attempt();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined && code === expectedCode) return undefined;
    const why = code === 'ENOSYS' ? 'is missing (ENOSYS)' : `fails with ${code}`;
    throw new UnsupportedPlatformError(`${REQUIREMENT}: ${call} ${why} on kernel ${os.release()}`, { cause: err });
  }
}

export const native: NativeBinding = load();
