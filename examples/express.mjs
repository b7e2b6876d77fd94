// Express 5 in front of PHP: Express's own routes and body parsers first,
// everything else served by examples/app.php through a worker pool.
//
//   node examples/express.mjs      # then curl -X POST -H 'content-type: application/json' -d '{"a":1}' http://127.0.0.1:8080/echo
import express from 'express';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WorkerPool, createRequestHandler, keepRawBody } from 'php-zygote';

export function createApp(pool) {
  const app = express();
  // Parsers mounted app-wide read the body before PHP's handler runs; it
  // then uses what they read. keepRawBody keeps the exact bytes for PHP
  // (without it, a parsed body is serialized again).
  app.use(express.json({ verify: keepRawBody }));
  app.use(express.urlencoded());
  app.get('/health', (req, res) => res.json({ ok: true, parsed: req.body ?? null }));
  // The rest goes to PHP. Mounted under a path instead
  // (app.use('/php', handler)), PHP still sees the full URL, /php/...
  app.use(createRequestHandler(pool, { timeout: 30_000, bodyTimeout: 10_000 }));
  return app;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const pool = new WorkerPool({ script: fileURLToPath(new URL('./app.php', import.meta.url)), workers: 2 });
  const server = createApp(pool).listen(8080, '127.0.0.1', () => console.log('Express + PHP on http://127.0.0.1:8080'));
  process.once('SIGINT', () => server.close(() => pool.close()));
}
