/**
 * The kernel's clock tick (USER_HZ), the unit of CPU times in /proc/<pid>/stat.
 * 100 on every Linux architecture Node runs on; read once from getconf
 * where it can be, since the ABI allows another value.
 */
import { execFileSync } from 'node:child_process';

let ticks: number | null = null;

export function clockTicks(): number {
  if (ticks === null) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}
