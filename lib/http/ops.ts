/**
 * What an orchestrator asks of a server instance, apart from the app:
 * liveness (`/livez`: the process answers), readiness (`/readyz`: the
 * master booted, the minimum workers are up, and it is not draining), and
 * the pool's metrics (`/metrics`, Prometheus text) and status (`/status`,
 * php-fpm's layout; `?json`, `?full`). Kubernetes' probe names; served
 * before anything reaches PHP.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { statusText, type WorkerPool } from '../pool/worker-pool.js';

export interface OpsOptions {
  /** Answer /livez and /readyz. */
  health: boolean;
  /** Answer /metrics. */
  metrics: boolean;
  /** Workers that must be up to be ready (the pool's minimum). */
  minWorkers: number;
  /** True once the server stopped taking requests (SIGTERM). */
  draining: () => boolean;
}

/** Why the pool is not ready, or null when it is. */
export function notReady(pool: WorkerPool, { minWorkers, draining }: Pick<OpsOptions, 'minWorkers' | 'draining'>): string | null {
  if (draining()) return 'draining';
  const { state, workers } = pool.stats();
  if (state !== 'running') return `pool ${state}`;
  const up = workers.idle + workers.busy;
  if (up < minWorkers) return `${up} of ${minWorkers} workers up`;
  return null;
}

/**
 * Returns a function that answers an ops request and returns true, or
 * returns false for any other request (which then goes to PHP).
 */
export function opsRoutes(pool: WorkerPool, options: OpsOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const text = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' }).end(body);
  };
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?', 1)[0];
    if (options.health && path === '/livez') {
      text(res, 200, 'ok\n');
      return true;
    }
    if (options.health && path === '/readyz') {
      const why = notReady(pool, options);
      text(res, why === null ? 200 : 503, why === null ? 'ready\n' : `not ready: ${why}\n`);
      return true;
    }
    if (options.metrics && path === '/status') {
      // php-fpm's status page: text, ?json, ?full (both may be combined).
      const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      pool.status({ full: query.has('full') }).then(
        (status) => (query.has('json') ? text(res, 200, `${JSON.stringify(status)}\n`, 'application/json') : text(res, 200, statusText(status))),
        (error: Error) => text(res, 500, `status failed: ${error.message}\n`),
      );
      return true;
    }
    if (options.metrics && path === '/metrics') {
      const registry = pool.metrics();
      registry.metrics().then(
        (body) => text(res, 200, body, registry.contentType),
        (error: Error) => text(res, 500, `metrics failed: ${error.message}\n`),
      );
      return true;
    }
    return false;
  };
}
