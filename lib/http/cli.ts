/**
 * The php-zygote command line: `php-zygote serve app.php --port 8080 ...`
 * serves a PHP app over HTTP through a WorkerPool.
 */
import * as http from 'node:http';
import { parseArgs } from 'node:util';
import { createRequestHandler } from './request-handler.js';
import { parseBytes } from '../process/memory.js';
import { WorkerPool } from '../pool/worker-pool.js';

const HELP = `Usage: php-zygote serve <app.php> [options]

Boots the app once in a PHP master, forks workers from it and serves HTTP.

Options:
  --port <n>            port to listen on (default 8080; 0 picks a free one)
  --host <addr>         address to listen on (default 127.0.0.1; 0.0.0.0 for all)
  --workers <n>         number of workers (default: CPU count)
  --min <n>, --max <n>  grow from min to max workers under load instead
  --isolated            a fresh fork per request: no state survives a request
  --max-jobs <n>        replace a worker after n requests
  --max-memory <size>   replace a worker above this memory (PSS), e.g. 128M
  --timeout <time>      request time limit, e.g. 30s or 500ms (default 30s);
                        the worker is killed and the client gets 504
  --max-body <size>     largest request body, e.g. 16M (default 16M); 413 above
  --max-queue <n>       requests allowed to wait; 503 with Retry-After above
  --ini <key=value>     a php.ini setting, repeatable
  --php <path>          PHP binary (default php)
  -h, --help            this help

Worker output goes to stderr, each line prefixed with the worker pid.
SIGINT or SIGTERM stops taking requests, lets running ones finish, exits.
`;

/** '30s', '500ms', '2m'; a bare number is seconds. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  if (!match) return NaN;
  const value = Number(match[1]);
  return match[2] === 'ms' ? value : match[2] === 'm' ? value * 60_000 : value * 1000;
}

class UsageError extends Error {}

function integer(value: string | undefined, name: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min} (got ${value})`);
  return n;
}

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        workers: { type: 'string' },
        min: { type: 'string' },
        max: { type: 'string' },
        isolated: { type: 'boolean' },
        'max-jobs': { type: 'string' },
        'max-memory': { type: 'string' },
        timeout: { type: 'string' },
        'max-body': { type: 'string' },
        'max-queue': { type: 'string' },
        ini: { type: 'string', multiple: true },
        php: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    err.write(`php-zygote: ${(e as Error).message}\n\n${HELP}`);
    return 64;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    (values.help ? out : err).write(HELP);
    return values.help ? 0 : 64;
  }
  const [command, script, ...extra] = positionals;
  if (command !== 'serve' || !script || extra.length > 0) {
    err.write(`php-zygote: expected "serve <app.php>"\n\n${HELP}`);
    return 64;
  }

  let pool: WorkerPool;
  let server: http.Server;
  let port: number;
  try {
    port = integer(values.port, 'port') ?? 8080;
    if (port > 65535) throw new UsageError('--port must be at most 65535');
    const timeout = parseDuration(values.timeout ?? '30s');
    if (!Number.isFinite(timeout)) throw new UsageError(`--timeout must be a duration like 30s or 500ms (got ${values.timeout})`);
    const maxBody = parseBytes(values['max-body'] ?? '16M');
    if (!Number.isFinite(maxBody)) throw new UsageError(`--max-body must be a size like 16M (got ${values['max-body']})`);
    const ini: Record<string, string> = {};
    for (const setting of values.ini ?? []) {
      const eq = setting.indexOf('=');
      if (eq <= 0) throw new UsageError(`--ini must be key=value (got ${setting})`);
      ini[setting.slice(0, eq)] = setting.slice(eq + 1);
    }
    const min = integer(values.min, 'min');
    const max = integer(values.max, 'max', 1);
    if (min !== undefined && max === undefined) throw new UsageError('--min needs --max');
    if (max !== undefined && values.workers !== undefined) throw new UsageError('--workers and --max cannot be combined: give a fixed count or a range');
    const workers = max !== undefined ? { min: min ?? 1, max } : integer(values.workers, 'workers', 1);
    pool = new WorkerPool({
      script,
      php: values.php,
      ini,
      workers,
      isolated: values.isolated ?? false,
      maxJobs: integer(values['max-jobs'], 'max-jobs'),
      maxMemory: values['max-memory'],
      maxQueue: integer(values['max-queue'], 'max-queue'),
    });
    server = http.createServer(createRequestHandler(pool, { timeout, maxBodySize: maxBody }));
  } catch (e) {
    err.write(`php-zygote: ${(e as Error).message}\n`);
    return 64;
  }

  pool.on('log', ({ pid, line }) => err.write(`[${pid}] ${line}\n`));
  pool.on('error', (e) => err.write(`php-zygote: ${e.message}\n`));
  try {
    await pool.ready();
  } catch (e) {
    err.write(`php-zygote: ${(e as Error).message}\n`);
    await pool.close();
    return 1;
  }
  const host = values.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  }).catch(async (e: Error) => {
    err.write(`php-zygote: cannot listen on ${host}:${port}: ${e.message}\n`);
    await pool.close();
    throw e;
  });
  const address = server.address() as { port: number };
  const shown = host.includes(':') ? `[${host}]` : host;
  const { workers } = pool.stats();
  out.write(`php-zygote: serving ${script} on http://${shown}:${address.port} (${workers.total} workers)\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        err.write(`php-zygote: ${signal} again, exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      err.write(`php-zygote: ${signal}: finishing requests in flight, then exiting\n`);
      // Stop accepting; idle keep-alive connections are closed now, busy
      // ones once their response is sent.
      server.close(() => {
        void pool.close().then(() => resolve(0));
      });
      server.closeIdleConnections();
    };
    // process.on, not once: a second Ctrl-C must reach stop() too.
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}
