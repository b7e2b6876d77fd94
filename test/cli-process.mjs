// The php-zygote CLI as a child process, for the suites that test it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { track, within } from './helpers.mjs';

const bin = fileURLToPath(new URL('../bin/php-zygote.js', import.meta.url));

/**
 * Starts the CLI; resolves with its URL once it printed where it listens.
 * Its stop is pushed onto `cleanups`.
 */
export async function startCli(cleanups, args, { env = process.env } = {}) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  track(child.pid);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c) => { out += c; });
  child.stderr.setEncoding('utf8').on('data', (c) => { err += c; });
  const exit = once(child, 'exit');
  cleanups.push(async () => {
    // Stopped the way users stop it, so it closes its pool: a SIGKILLed CLI
    // would orphan its master to whoever is a subreaper (this test process).
    if (child.exitCode === null) child.kill('SIGTERM');
    await within(exit, 10000, 'the CLI to stop');
  });
  const url = await within(new Promise((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', () => reject(new Error(`the CLI exited: ${err}`)));
  }), 20000, 'the CLI to listen');
  return { child, url, exit, output: () => ({ out, err }) };
}

/** Runs the CLI to its exit; resolves with its exit code and everything it printed. */
export function runCli(args) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child.pid);
  let text = '';
  child.stdout.on('data', (c) => { text += c; });
  child.stderr.on('data', (c) => { text += c; });
  return within(new Promise((resolve) => child.on('close', (code) => resolve({ code, text }))), 20000, `php-zygote ${args.join(' ')}`);
}
