/**
 * The php-zygote command line: `php-zygote serve app.php --port 8080 ...`
 * serves a PHP app over HTTP through a WorkerPool.
 */
import { existsSync } from 'node:fs';
import * as http from 'node:http';
import { join, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequestHandler } from './request-handler.js';
import { createDocrootHandler } from './docroot/docroot-handler.js';
import { resolveDocrootOptions, type DocrootOptions } from './docroot/docroot-options.js';
import { reusedDocrootPreload } from './docroot/reuse-preload.js';
import { PHP_RUNTIME_DIR } from '../zygote/master-options.js';
import { resolveIdentity } from '../zygote/identity.js';
import { parseBytes } from '../process/memory.js';
import { validatePoolOptions } from '../pool/pool-options.js';
import { WorkerPool, type WorkerPoolOptions } from '../pool/worker-pool.js';
import { MasterStartError } from '../errors.js';
import { opsRoutes } from './ops.js';

const HELP = `Usage: php-zygote serve <app.php> [options]
       php-zygote serve --docroot <dir> [options]

Boots the app once in a PHP master, forks workers from it and serves HTTP.
With --docroot, serves a directory as nginx + php-fpm would: static files
from Node, .php scripts run by PHP (an app written for php-fpm, unchanged).

Document root options:
  --docroot <dir>       the document root
  --index <names>       directory index files, in order (default
                        index.php,index.html)
  --fallback <script>   run this script when nothing else matched, e.g.
                        /index.php (try_files ... /index.php?$args)
  --alias </url/=/dir/> map a URL prefix into another directory, repeatable
  --deny <regex>        answer 403 for decoded URL paths matching it,
                        repeatable (dotfiles are always refused)
  --server-name <name>  SERVER_NAME for PHP (default: the request's Host)
  --upload-max-filesize <size>, --post-max-size <size>, --max-file-uploads <n>
                        multipart upload limits (php.ini's, default 2M, 8M,
                        20), applied by Node, which streams uploads to temp
                        files; also set as PHP's ini values
  --boot <file>         PHP run once in the master before forking (preload
                        your framework's classes, warm caches); with
                        --max-jobs, at the start of every request instead
                        (like auto_prepend_file)
  --docroot-app <file>  the PHP runtime that runs the scripts (default
                        the package's php/docroot.php)

  Each request runs in a fresh fork of the booted master (--isolated is
  implied): classic PHP, nothing crosses requests. Forks are kept ready:
  at most --workers requests run at once, each with its successor already
  forked, so there are up to twice --workers PHP worker processes.
  --max-jobs <n> reuses each worker for n requests instead (0: no limit),
  as php-fpm's pm.max_requests: PHP's own request shutdown and startup
  run between them, so nothing crosses requests either, and a request
  costs about a quarter of a fresh fork's CPU.

Options:
  --port <n>            port to listen on (default 8080; 0 picks a free one)
  --host <addr>         address to listen on (default 127.0.0.1; 0.0.0.0 for all)
  --workers <n>         number of workers (default: CPU count)
  --min <n>, --max <n>  grow from min to max workers under load instead;
                        --max auto: as many as fit in memory (the
                        container's cgroup limit, or --memory-budget),
                        each worker counted at its measured PSS
  --memory-budget <size>  the memory --max auto may fill, e.g. 512M
  --isolated            a fresh fork per request: no state survives a request
  --max-jobs <n>        replace a worker after n requests
  --max-memory <size>   replace a worker above this memory (PSS), e.g. 128M
  --timeout <time>      request time limit, e.g. 30s or 500ms (default 30s);
                        the worker is killed and the client gets 504
  --max-body <size>     largest request body, e.g. 16M (default 16M); 413 above
  --max-queue <n>       requests allowed to wait; 503 with Retry-After above
  --ini <key=value>     a php.ini setting, repeatable
  --crash-limit <n>     worker or master crashes within a minute that make a
                        crash loop (default 10): requests get 503 until a
                        fresh master is tried, after --recovery-delay
  --recovery-delay <time>  first wait in a crash loop (default 5s), doubled
                        per failed try; if the app no longer boots at all,
                        the server exits with code 1
  --php <path>          PHP CLI binary (default php; not php-fpm or php-cgi)
  --user <name>, --group <name>
                        run PHP (master and workers) as this user and group;
                        needs root, like php-fpm's pool user/group
  --huge-pages          back PHP's heap with huge pages: big workers die (and
                        are replaced) ten times sooner, for a little memory
  --pipeline            with every worker busy, send each its next request at
                        once (one behind the one it runs): fewer wake-ups
  --watch               reload when a PHP file under the app's directory (or
                        the docroot) changes; a file with a syntax error is
                        logged and the old code keeps serving (development)
  --slowlog <time>      log the PHP stack of a request running longer than
                        this, once; the request goes on (e.g. 5s)
  --health              answer GET /livez (the process is up) and /readyz
                        (booted, minimum workers up, not draining) before PHP
  --metrics <[host:]port>  serve Prometheus metrics on GET /metrics at this
                        address (host default 127.0.0.1), with /status
                        (php-fpm's status page; ?json, ?full), /livez and
                        /readyz; off by default
  --log-format <text|json>  text: "[pid] line"; json: one object per line
                        with time, pid, stream and line (default text)
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

/**
 * The flag (or argument) for each WorkerPool option the CLI sets. The pool
 * validates its options with TypeErrors that name them (`options.maxMemory
 * must be ...`); a CLI user never wrote `options.maxMemory`, so every such
 * message is put in flag terms here, in one place. Longer names first:
 * `options.workers.max` must not be read as `options.workers` + `.max`.
 */
const FLAGS: ReadonlyArray<[RegExp, string]> = [
  [/\boptions\.workers\.min\b/g, '--min'],
  [/\b(?:options\.)?workers\.max\b/g, '--max'],
  [/\boptions\.workers\b/g, '--workers'],
  [/\boptions\.script\b/g, '<app.php>'],
  [/\boptions\.php\b/g, '--php'],
  [/\boptions\.ini\b/g, '--ini'],
  [/\boptions\.isolated\b/g, '--isolated'],
  [/\boptions\.maxJobs\b/g, '--max-jobs'],
  [/\boptions\.maxMemory\b/g, '--max-memory'],
  [/\boptions\.maxQueue\b/g, '--max-queue'],
  [/\boptions\.crashLimit\b/g, '--crash-limit'],
  [/\boptions\.recoveryDelay\b/g, '--recovery-delay'],
  [/\boptions\.docroot\b/g, '--docroot'],
  [/\boptions\.index\b/g, '--index'],
  [/\boptions\.fallback\b/g, '--fallback'],
  [/\boptions\.aliases\b/g, '--alias'],
  [/\boptions\.deny\b/g, '--deny'],
  [/\boptions\.serverName\b/g, '--server-name'],
  [/\boptions\.uploadMaxFilesize\b/g, '--upload-max-filesize'],
  [/\boptions\.postMaxSize\b/g, '--post-max-size'],
  [/\boptions\.maxFileUploads\b/g, '--max-file-uploads'],
  [/\boptions\.user and options\.group\b/g, '--user and --group'],
  [/\boptions\.user\b/g, '--user'],
  [/\boptions\.slowlogTimeout\b/g, '--slowlog'],
  [/\boptions\.memoryBudget\b/g, '--memory-budget'],
  [/\boptions\.watch\b/g, '--watch'],
  [/\boptions\.pipeline\b/g, '--pipeline'],
  [/\boptions\.hugePages\b/g, '--huge-pages'],
  [/workers: \{ max: 'auto' \}/g, '--max auto'],
  [/\boptions\.group\b/g, '--group'],
];

export function inFlagTerms(message: string): string {
  return FLAGS.reduce((text, [option, flag]) => text.replace(option, flag), message);
}

function integer(value: string | undefined, name: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min} (got ${value})`);
  return n;
}

function duration(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`--${name} must be a duration like 5s or 500ms (got ${value})`);
  return ms;
}

function size(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const bytes = parseBytes(value);
  if (!Number.isFinite(bytes) || bytes < 0) throw new UsageError(`--${name} must be a size like 16M or 128M (got ${value})`);
  return bytes;
}

/** '9101', ':9101' or 'host:9101' (an IPv6 host in brackets). */
function hostPort(value: string, name: string): { host: string; port: number } {
  const match = /^(?:(\[[^\]]+\]|[^:]*):)?(\d+)$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new UsageError(`--${name} must be a port or host:port, like 9101 or 127.0.0.1:9101 (got ${value})`);
  const host = (match[1] ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1';
  return { host, port };
}

/** Binds the port; the error (port in use, unknown host) named by the flags, or null. */
function listen(server: http.Server, port: number, host: string, flags = '--host, --port'): Promise<string | null> {
  return new Promise((resolve) => {
    const onError = (e: Error) => resolve(`cannot listen on ${host}:${port} (${flags}): ${e.message}`);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(null);
    });
  });
}

const DOCROOT_FLAGS = ['index', 'fallback', 'alias', 'deny', 'server-name', 'docroot-app', 'boot', 'upload-max-filesize', 'post-max-size', 'max-file-uploads'] as const;

/** The upload limit flags: handler options, and the same values as PHP's ini (what ini_get() reports), unless --ini set them. */
type UploadFlag = 'upload-max-filesize' | 'post-max-size' | 'max-file-uploads';
function uploadLimits(values: { [flag in UploadFlag]?: string }, ini: Record<string, string>, user: string | undefined, group: string | undefined): Partial<DocrootOptions> {
  const limits: [UploadFlag, string, keyof DocrootOptions][] = [['upload-max-filesize', 'upload_max_filesize', 'uploadMaxFilesize'], ['post-max-size', 'post_max_size', 'postMaxSize'], ['max-file-uploads', 'max_file_uploads', 'maxFileUploads']];
  const options: Record<string, unknown> = { user, group };
  for (const [flag, key, option] of limits) {
    const value = values[flag] ?? ini[key];
    if (value === undefined) continue;
    options[option] = option === 'maxFileUploads' ? Number(value) : value;
    ini[key] ??= value;
  }
  return options as Partial<DocrootOptions>;
}

/** The createDocrootHandler options the flags give; validated by resolveDocrootOptions, in option terms that inFlagTerms() translates. */
function docrootOptions(values: { docroot?: string; index?: string; fallback?: string; alias?: string[]; deny?: string[]; 'server-name'?: string }): DocrootOptions {
  const aliases: Record<string, string> = {};
  for (const mapping of values.alias ?? []) {
    const eq = mapping.indexOf('=');
    if (eq <= 0 || eq === mapping.length - 1) throw new UsageError(`--alias must be /url/=/dir/ (got ${mapping})`);
    aliases[mapping.slice(0, eq)] = mapping.slice(eq + 1);
  }
  return {
    docroot: values.docroot ?? '',
    index: values.index?.split(',').map((name) => name.trim()),
    fallback: values.fallback,
    aliases,
    deny: values.deny,
    serverName: values['server-name'],
  };
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
        'crash-limit': { type: 'string' },
        'recovery-delay': { type: 'string' },
        ini: { type: 'string', multiple: true },
        php: { type: 'string' },
        docroot: { type: 'string' },
        index: { type: 'string' },
        fallback: { type: 'string' },
        alias: { type: 'string', multiple: true },
        deny: { type: 'string', multiple: true },
        'server-name': { type: 'string' },
        'docroot-app': { type: 'string' },
        boot: { type: 'string' },
        'upload-max-filesize': { type: 'string' },
        'post-max-size': { type: 'string' },
        'max-file-uploads': { type: 'string' },
        user: { type: 'string' },
        group: { type: 'string' },
        health: { type: 'boolean' },
        slowlog: { type: 'string' },
        watch: { type: 'boolean' },
        pipeline: { type: 'boolean' },
        'huge-pages': { type: 'boolean' },
        'memory-budget': { type: 'string' },
        metrics: { type: 'string' },
        'log-format': { type: 'string' },
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
  const [command, app, ...extra] = positionals;
  const serveDocroot = values.docroot !== undefined;
  if (command !== 'serve' || (serveDocroot ? app !== undefined : !app) || extra.length > 0) {
    const expected = serveDocroot ? 'serve --docroot <dir> without an <app.php> (the runtime is --docroot-app)' : 'serve <app.php> or serve --docroot <dir>';
    err.write(`php-zygote: expected "${expected}"\n\n${HELP}`);
    return 64;
  }
  // The document root runtime, php/docroot.php of this package unless
  // --docroot-app names another: it turns each job (docs/protocol.md
  // "Document root jobs") into a classic php-fpm request: superglobals,
  // the script's directory as cwd, the script included at global scope.
  const script = serveDocroot ? values['docroot-app'] ?? join(PHP_RUNTIME_DIR, 'docroot.php') : app;

  let options: WorkerPoolOptions;
  let port: number;
  let timeout: number;
  let maxBody: number;
  let docroot: DocrootOptions | null = null;
  let metricsAt: { host: string; port: number } | null = null;
  const host = values.host ?? '127.0.0.1';
  try {
    port = integer(values.port, 'port') ?? 8080;
    if (port > 65535) throw new UsageError(`--port must be at most 65535 (got ${port})`);
    if (host === '') throw new UsageError('--host must be an address or host name');
    timeout = parseDuration(values.timeout ?? '30s');
    if (!Number.isFinite(timeout)) throw new UsageError(`--timeout must be a duration like 30s or 500ms (got ${values.timeout})`);
    maxBody = size(values['max-body'], 'max-body') ?? 16 << 20;
    const ini: Record<string, string> = {};
    for (const setting of values.ini ?? []) {
      const eq = setting.indexOf('=');
      if (eq <= 0) throw new UsageError(`--ini must be key=value (got ${setting})`);
      ini[setting.slice(0, eq)] = setting.slice(eq + 1);
    }
    const min = integer(values.min, 'min');
    const max = values.max === 'auto' ? ('auto' as const) : integer(values.max, 'max', 1);
    if (min !== undefined && max === undefined) throw new UsageError('--min needs --max');
    if (max !== undefined && values.workers !== undefined) throw new UsageError('--workers and --max cannot be combined: give a fixed count or a range');
    const workers = max !== undefined ? { min: min ?? 1, max } : integer(values.workers, 'workers', 1);
    options = {
      script,
      php: values.php,
      ini,
      workers,
      isolated: values.isolated ?? false,
      maxJobs: integer(values['max-jobs'], 'max-jobs'),
      maxMemory: size(values['max-memory'], 'max-memory'),
      maxQueue: integer(values['max-queue'], 'max-queue'),
      crashLimit: integer(values['crash-limit'], 'crash-limit', 1),
      recoveryDelay: duration(values['recovery-delay'], 'recovery-delay'),
      user: values.user,
      group: values.group,
      slowlogTimeout: duration(values.slowlog, 'slowlog'),
      memoryBudget: size(values['memory-budget'], 'memory-budget'),
      pipeline: values.pipeline,
      hugePages: values['huge-pages'],
      watch: values.watch ? (serveDocroot ? [resolvePath(values.docroot as string)] : true) : undefined,
    };
    if (values['log-format'] !== undefined && values['log-format'] !== 'text' && values['log-format'] !== 'json') {
      throw new UsageError(`--log-format must be text or json (got ${values['log-format']})`);
    }
    metricsAt = values.metrics === undefined ? null : hostPort(values.metrics, 'metrics');
    // Everything the pool would refuse is refused now, before a port is
    // bound or PHP is started; the document root first, so that a missing
    // runtime is named by its flag rather than as <app.php>.
    if (serveDocroot) {
      docroot = { ...docrootOptions(values), ...uploadLimits(values, ini, values.user, values.group) };
      const resolved = resolveDocrootOptions(docroot);
      if (!existsSync(script)) throw new UsageError(`--docroot-app: the document root runtime ${script} does not exist`);
      if (values.boot !== undefined && !existsSync(values.boot)) throw new UsageError(`--boot: no such file: ${values.boot}`);
      // Classic PHP semantics: each request in a fresh fork of the booted
      // master (forks kept ready), so no state crosses requests; the
      // runtime warms opcache for the docroot and runs the boot file.
      // --max-jobs asks for php-fpm's model instead: a worker serves up
      // to that many requests, PHP's own request shutdown between them.
      const reuse = options.maxJobs !== undefined && options.maxJobs !== 1;
      if (reuse && values.isolated) throw new UsageError('--isolated and --max-jobs cannot be combined with --docroot: --isolated is a fresh fork per request, --max-jobs reuses each worker for that many requests');
      options.isolated = !reuse;
      // Reused workers preload what PHP's request shutdown would make
      // every request load again (reuse-preload.ts).
      const phpUid = values.user === undefined ? undefined : resolveIdentity(values.user, values.group).uid;
      const preload = reuse ? reusedDocrootPreload({ ...ini, ...(ini['opcache.preload'] ? { 'opcache.preload': resolvePath(ini['opcache.preload']) } : {}) }, phpUid) : null;
      if (preload) Object.assign(ini, preload.ini);
      options.env = {
        ...process.env,
        PHP_ZYGOTE_DOCROOT: resolved.root,
        ...(reuse ? { PHP_ZYGOTE_DOCROOT_REUSE: '1' } : {}),
        ...preload?.env,
        ...(values.boot !== undefined ? { PHP_ZYGOTE_BOOT: resolvePath(values.boot) } : {}),
      };
    } else {
      for (const flag of DOCROOT_FLAGS) if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --docroot`);
    }
    validatePoolOptions(options);
  } catch (e) {
    err.write(`php-zygote: ${inFlagTerms((e as Error).message)}\n`);
    return 64;
  }

  // Bound before the app boots: a port in use fails at once, not after a
  // boot of the whole app that is then thrown away.
  const server = http.createServer();
  const notListening = await listen(server, port, host);
  if (notListening !== null) {
    err.write(`php-zygote: ${notListening}\n`);
    return 1;
  }
  const opsServer = metricsAt ? http.createServer() : null;
  if (opsServer && metricsAt) {
    const opsNotListening = await listen(opsServer, metricsAt.port, metricsAt.host, '--metrics');
    if (opsNotListening !== null) {
      err.write(`php-zygote: ${opsNotListening}\n`);
      server.close();
      return 1;
    }
  }
  const json = values['log-format'] === 'json';
  // Worker output and the CLI's own messages, in one format on stderr.
  const log = (pid: number, stream: string, line: string) => {
    err.write(json ? `${JSON.stringify({ time: new Date().toISOString(), pid, stream, line })}\n` : stream === 'php-zygote' ? `php-zygote: ${line}\n` : `[${pid}] ${line}\n`);
  };
  const say = (line: string) => log(process.pid, 'php-zygote', line);
  let draining = false;
  // No request can arrive before the handler is attached: both happen in
  // this turn of the event loop.
  const pool = new WorkerPool(options);
  const handlerOptions = { timeout, maxBodySize: maxBody };
  const php = docroot ? createDocrootHandler(pool, { ...docroot, ...handlerOptions }) : createRequestHandler(pool, handlerOptions);
  const minWorkers = typeof options.workers === 'object' ? (options.workers.min ?? 1) : (options.workers ?? 1);
  const opsOptions = { minWorkers, draining: () => draining };
  const health = opsRoutes(pool, { ...opsOptions, health: values.health ?? false, metrics: false });
  server.on('request', (req, res) => {
    if (!health(req, res)) php(req, res);
  });
  if (opsServer) {
    const ops = opsRoutes(pool, { ...opsOptions, health: true, metrics: true });
    opsServer.on('request', (req, res) => {
      if (!ops(req, res)) res.writeHead(404, { 'content-type': 'text/plain' }).end('/metrics, /status, /livez, /readyz\n');
    });
  }
  pool.on('log', ({ pid, stream, line }) => log(pid, stream, line));
  pool.on('error', (e) => say(inFlagTerms(e.message)));
  try {
    await pool.ready();
  } catch (e) {
    say(inFlagTerms((e as Error).message));
    server.close();
    opsServer?.close();
    await pool.close();
    return 1;
  }
  const address = server.address() as { port: number };
  const shown = host.includes(':') ? `[${host}]` : host;
  // The workers that serve at once: an isolated pool also has each one's
  // successor forked already, which is not a worker more.
  const { workers } = pool.stats();
  const serving = typeof options.workers === 'number' ? options.workers : workers.total;
  out.write(`php-zygote: serving ${values.docroot ?? script} on http://${shown}:${address.port} (${serving} ${serving === 1 ? 'worker' : 'workers'})\n`);
  if (opsServer) {
    const at = opsServer.address() as { address: string; port: number };
    out.write(`php-zygote: metrics on http://${at.address.includes(':') ? `[${at.address}]` : at.address}:${at.port}/metrics\n`);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string, code: number) => {
      if (stopping) {
        say(`${why} again, exiting now`);
        process.exit(130);
      }
      stopping = true;
      draining = true; // /readyz says 503 from now on
      say(`${why}: finishing requests in flight, then exiting`);
      // Stop accepting; idle keep-alive connections are closed now, busy
      // ones once their response is sent.
      server.close(() => {
        opsServer?.close();
        opsServer?.closeAllConnections();
        void pool.close().then(() => resolve(code));
      });
      server.closeIdleConnections();
    };
    // process.on, not once: a second Ctrl-C must reach stop() too.
    process.on('SIGINT', () => stop('SIGINT', 0));
    process.on('SIGTERM', () => stop('SIGTERM', 0));
    // In a crash loop the pool tries a fresh master now and then; if the
    // app cannot even boot any more (a broken deploy), a server that
    // answers 503 forever helps nobody: exit non-zero so a supervisor
    // (systemd, Kubernetes) restarts or reports it.
    pool.on('error', (e) => {
      if (e instanceof MasterStartError) stop('the app no longer boots', 1);
    });
  });
}
