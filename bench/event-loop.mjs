// The orphan reaper's cost on a busy host: 3,000 extra processes (not
// Node's children), and the event-loop delay while the reaper runs each
// second, for the scan it does now (Node's own children, from
// /proc/self/task/*/children) against the scan it did before (every
// process's /proc/<pid>/stat). The "before" scan is kept here only as the
// baseline. Alternating rounds; medians.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { reapOrphans, setChildSubreaper } from 'php-zygote';
import { header, median, ms, now, ratio, sleep, table } from './util.mjs';

const EXTRA = 3000;
const ROUNDS = 3;
const ROUND_MS = 4000;

/** The scan before this change: every process on the host. */
function scanAllProc() {
  const zombies = [];
  for (const entry of readdirSync('/proc')) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 2);
      if (state === 'Z' && Number(ppid) === process.pid) zombies.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return zombies;
}

/** One shell holding EXTRA sleeping children: on the host, not Node's. */
async function crowdHost() {
  const shell = spawn('sh', ['-c', `i=0; while [ $i -lt ${EXTRA} ]; do sleep 120 & i=$((i+1)); done; echo ready; wait`], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  await new Promise((resolve) => shell.stdout.once('data', resolve));
  return () => {
    try {
      process.kill(-shell.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
}

async function round(scan) {
  const scans = [];
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const timer = setInterval(() => {
    const t = now();
    scan();
    scans.push(now() - t);
  }, 1000);
  // A steady trickle of work on the loop, as a server has.
  const ticker = setInterval(() => {}, 5);
  await sleep(ROUND_MS);
  clearInterval(timer);
  clearInterval(ticker);
  histogram.disable();
  return { scan: median(scans), scanMax: Math.max(...scans), delayP99: histogram.percentile(99) / 1e6, delayMax: histogram.max / 1e6 };
}

export async function run() {
  setChildSubreaper(true);
  const release = await crowdHost();
  const processes = readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length;
  const sides = { now: [], before: [] };
  try {
    for (let i = 0; i < ROUNDS; i++) {
      sides.before.push(await round(scanAllProc));
      sides.now.push(await round(reapOrphans));
    }
  } finally {
    release();
  }
  const pick = (side, key) => median(sides[side].map((r) => r[key]));
  const rows = [
    ['one scan, median (ms)', ms(pick('now', 'scan')), ms(pick('before', 'scan')), ratio(pick('before', 'scan'), pick('now', 'scan'))],
    ['one scan, max (ms)', ms(pick('now', 'scanMax')), ms(pick('before', 'scanMax')), ratio(pick('before', 'scanMax'), pick('now', 'scanMax'))],
    ['event-loop delay p99 (ms)', ms(pick('now', 'delayP99')), ms(pick('before', 'delayP99')), ratio(pick('before', 'delayP99'), pick('now', 'delayP99'))],
    ['event-loop delay max (ms)', ms(pick('now', 'delayMax')), ms(pick('before', 'delayMax')), ratio(pick('before', 'delayMax'), pick('now', 'delayMax'))],
  ];
  return `${header('6. Orphan reaper on a crowded host')}
${processes} processes on the host (${EXTRA} extra sleepers, none of them Node's children); a scan every second for ${ROUND_MS / 1000} s per round, ${ROUNDS} alternating rounds per side, medians of the rounds. monitorEventLoopDelay at 1 ms resolution. "Before" is the previous reaper's scan of every /proc/<pid>/stat, kept in bench/event-loop.mjs as the baseline.

${table(['', 'now: Node\'s children', 'before: all of /proc', 'before / now'], rows)}
`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await run());
