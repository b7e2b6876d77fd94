// Fastify 5 in front of PHP: Fastify's own routes first, everything else
// served by examples/app.php through a worker pool, with the plugin that
// hands PHP the raw body of any content type.
//
//   node examples/fastify.mjs      # then curl -X POST -d 'a=1' http://127.0.0.1:8080/echo
import Fastify from 'fastify';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WorkerPool, fastifyPhpZygote } from 'php-zygote';

export function createApp(pool) {
  const app = Fastify();
  app.post('/health', async (request) => ({ ok: true, parsed: request.body ?? null }));
  // Encapsulated: Fastify's JSON parser still serves /health. With
  // { prefix: '/php' } PHP would serve /php/... and see that full URL.
  app.register(fastifyPhpZygote, { pool, timeout: 30_000 });
  return app;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const pool = new WorkerPool({ script: fileURLToPath(new URL('./app.php', import.meta.url)), workers: 2 });
  const app = createApp(pool);
  await app.listen({ port: 8080, host: '127.0.0.1' });
  console.log('Fastify + PHP on http://127.0.0.1:8080');
  process.once('SIGINT', () => app.close().then(() => pool.close()));
}
