// Runs every measure side by side on this machine and writes RESULTS.md.
// Each measure also runs alone: node bench/spawn.mjs, memory.mjs,
// roundtrip.mjs, exit.mjs, http.mjs (needs nginx, php-fpm and wrk),
// event-loop.mjs, budget.mjs, front.mjs (needs wrk), inprocess.mjs (installs @platformatic/php-node
// into ~/.cache/php-zygote-bench on demand), apps.mjs (optional: needs Debian's dokuwiki,
// wordpress, mariadb-server too; says why it skipped otherwise).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { APP_SHAPE } from './app-generator.mjs';
import { machine } from './util.mjs';
import * as spawnMeasure from './spawn.mjs';
import * as memoryMeasure from './memory.mjs';
import * as roundtripMeasure from './roundtrip.mjs';
import * as exitMeasure from './exit.mjs';
import * as httpMeasure from './http.mjs';
import * as eventLoopMeasure from './event-loop.mjs';
import * as budgetMeasure from './budget.mjs';
import * as appsMeasure from './apps.mjs';
import * as frontMeasure from './front.mjs';
import * as inprocessMeasure from './inprocess.mjs';

const started = Date.now();
const sections = [];
for (const [name, measure] of [['spawn', spawnMeasure], ['memory', memoryMeasure], ['roundtrip', roundtripMeasure], ['exit', exitMeasure], ['http', httpMeasure], ['event-loop', eventLoopMeasure], ['budget', budgetMeasure], ['inprocess', inprocessMeasure], ['front', frontMeasure], ['apps', appsMeasure]]) {
  process.stderr.write(`bench: ${name}...\n`);
  const section = await measure.run();
  process.stdout.write(`${section}\n`);
  sections.push(section);
}
const report = `# php-zygote benchmarks

Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}, all measures side by side in one run (${Math.round((Date.now() - started) / 1000)} s), by \`npm run bench\`.

Workloads: a generated framework-like codebase (${APP_SHAPE.interfaces} interfaces, ${APP_SHAPE.traits} traits, ${APP_SHAPE.classes} classes in 5-deep inheritance chains, each in its own file, PSR-4 autoloaded); the boot instantiates ${APP_SHAPE.instantiated} services, loading every class. Where Debian's php-symfony-http-kernel, -console and -dependency-injection are installed, also those Symfony 5.4 components: a compiled container of 200 services, an HttpKernel that handled one request, a Console application. opcache is on (opcache.enable_cli=1) for php-zygote and for every baseline process.

${sections.join('\n')}`;
writeFileSync(fileURLToPath(new URL('./RESULTS.md', import.meta.url)), report);
process.stderr.write(`bench: wrote bench/RESULTS.md\n`);
