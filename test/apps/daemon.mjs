// A long-running process a test needs (mariadbd, nginx, php-fpm): started
// in the foreground, tracked, and stopped the way its own init script
// stops it, with a deadline and a SIGKILL behind it. Readiness is polled
// with a bound, never slept for.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { sleep, track, within } from '../helpers.mjs';

/** A port that was free a moment ago (the kernel's pick for port 0). */
export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Starts `command args` with its output collected (shown when it fails);
 * pushes its stop onto `cleanups`. The process must stay in the
 * foreground (nginx `daemon off`, php-fpm -F, mariadbd).
 */
export function startDaemon(cleanups, name, command, args, { stopSignal = 'SIGTERM', env = process.env } = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  track(child.pid);
  let output = '';
  const keep = (chunk) => { output = (output + chunk).slice(-8000); };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const exit = once(child, 'exit');
  exit.catch(() => {});
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(stopSignal);
    try {
      await within(exit, 15000, `${name} to stop`);
    } catch {
      child.kill('SIGKILL');
      await within(exit, 5000, `${name} to die`);
    }
  });
  return { child, name, output: () => output, exited: () => child.exitCode !== null || child.signalCode !== null };
}

/** Polls until `check()` is truthy, failing early with the daemon's output if it exits. */
export async function waitUntil(daemon, check, what, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (daemon.exited()) throw new Error(`${daemon.name} exited before ${what}:\n${daemon.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}:\n${daemon.output()}`);
    await sleep(50);
  }
}

/** Whether something accepts connections on 127.0.0.1:port (or a unix socket path). */
export function accepts(target) {
  if (typeof target === 'string' && !existsSync(target)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = typeof target === 'string' ? connect(target) : connect(target, '127.0.0.1');
    socket.on('connect', () => { socket.end(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}
