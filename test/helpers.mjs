// Shared test plumbing. uvu has no per-test timeout and a promise that never
// settles can end a run with exit 0, so every wait goes through within(),
// whose ref'd timer both keeps the loop alive and fails the test.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { closeFd, pidfdOpen, reapPidfd } from 'php-zygote';

export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Processes a test started; killAll() in after.each so none outlives its test. */
const started = new Set();
/** Of those, the ones a shell printed: never Node's own children, maybe adopted by us. */
const printed = new Set();

export function track(pid) {
  started.add(pid);
  return pid;
}

/** Like track(), for a process started by another process (never libuv's child here), which we may adopt. */
export function trackForeign(pid) {
  printed.add(track(pid));
  return pid;
}

/**
 * Kills every process the test started. Shell-printed processes that an
 * earlier test's subreaper made ours (Node's child pool tests leave it on)
 * die as our zombies; libuv never knew them, so they are ours to reap.
 */
export async function killAll() {
  for (const pid of started) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  started.clear();
  for (const pid of printed) {
    try {
      await until(() => procState(pid) !== 'S' && procState(pid) !== 'R', 2000, `${pid} to die`);
    } catch { /* reported by the test's own checks */ }
    if (procState(pid) !== 'Z' || parentPid(pid) !== process.pid) continue;
    const pidfd = pidfdOpen(pid);
    try { reapPidfd(pidfd); } catch { /* reaped meanwhile */ }
    closeFd(pidfd);
  }
  printed.clear();
}

/** Spawns `sh -c script` and resolves with its child and the first `lines` lines of stdout. */
export async function spawnShell(script, lines = 1) {
  const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  track(child.pid);
  const exit = once(child, 'exit'); // now: a quick shell exits before we look
  exit.catch(() => {});
  let out = '';
  child.stdout.setEncoding('utf8');
  const read = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const got = out.split('\n');
      if (got.length > lines) resolve(got.slice(0, lines));
    });
    child.on('error', reject);
    // 'close', not 'exit': a quick shell can exit before its output is read.
    child.on('close', () => reject(new Error(`sh exited before printing ${lines} line(s): ${out}`)));
  });
  const lines_ = await within(read, 5000, `output of: ${script}`);
  for (const line of lines_) if (/^\d+$/.test(line)) trackForeign(Number(line));
  return { child, lines: lines_, exit };
}

/** The state letter from /proc/<pid>/stat ('R', 'S', 'Z', ...), or null when the pid is gone. */
export function procState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return null;
  }
}

/** The parent pid from /proc/<pid>/stat, or null when the pid is gone. */
export function parentPid(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

export const openFdCount = () => readdirSync('/proc/self/fd').length;

/**
 * Polls `check` until it returns (or resolves to) a truthy value, for state
 * the kernel updates asynchronously. A check may be async: its promise is
 * awaited, never taken as the truthy value itself.
 */
export async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Pids whose parent is `ppid`, with their state letters, from a scan of /proc. */
export function childrenOf(ppid) {
  const children = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (parentPid(pid) === ppid) children.push({ pid, state: procState(pid) });
  }
  return children;
}

/**
 * The page the server answers with itself, byte for byte as nginx writes
 * its own (CRLF lines), signed php-zygote: `statusPage('404 Not Found')`.
 */
export const statusPage = (title) =>
  `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>php-zygote</center>\r\n</body>\r\n</html>\r\n`;
