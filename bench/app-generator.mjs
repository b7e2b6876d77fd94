// Generates a deterministic PHP codebase shaped like a framework boot:
// interfaces, traits, classes with inheritance chains, constants and
// methods, a PSR-4 autoloader and a bootstrap that instantiates a few
// hundred classes. The same boot serves the zygote app and the baselines.
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const INTERFACES = 300;
const TRAITS = 200;
const CLASSES = 1500;
const INSTANTIATED = 300;

/** Small deterministic PRNG (mulberry32) so every run generates the same code. */
function random(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateApp(dir = join(tmpdir(), 'php-zygote-bench-app')) {
  if (existsSync(join(dir, 'bootstrap.php'))) {
    writeEntryPoints(dir); // cheap, and keeps a cached app's entry points current
    return dir;
  }
  rmSync(dir, { recursive: true, force: true });
  const src = join(dir, 'src');
  mkdirSync(src, { recursive: true });
  const rnd = random(20261124);
  const pick = (n) => Math.floor(rnd() * n);

  for (let i = 0; i < INTERFACES; i++) {
    writeFileSync(join(src, `Iface${i}.php`), `<?php\nnamespace Bench\\Gen;\n\ninterface Iface${i}\n{\n    public const VERSION_${i} = ${i};\n    public function op${i}(int $x): int;\n}\n`);
  }
  for (let i = 0; i < TRAITS; i++) {
    writeFileSync(join(src, `Helper${i}.php`), `<?php\nnamespace Bench\\Gen;\n\ntrait Helper${i}\n{\n    private array $cache${i} = [];\n\n    public function helper${i}(string $key): string\n    {\n        return $this->cache${i}[$key] ??= strrev($key) . '${i}';\n    }\n}\n`);
  }
  for (let i = 0; i < CLASSES; i++) {
    const parent = i % 5 !== 0 ? ` extends Service${i - 1}` : '';
    const ifaces = [pick(INTERFACES), pick(INTERFACES)].filter((v, k, a) => a.indexOf(v) === k);
    const trait = rnd() < 0.5 ? `    use Helper${pick(TRAITS)};\n\n` : '';
    const methods = ifaces.map((f) => `    public function op${f}(int $x): int\n    {\n        $sum = 0;\n        for ($i = 0; $i < ($x % 7); $i++) {\n            $sum += $i * ${i % 13 + 1};\n        }\n        return $sum + self::LIMIT;\n    }\n`).join('\n');
    const extra = Array.from({ length: 4 }, (_, m) => `    public function method${m}(array $input): array\n    {\n        $out = [];\n        foreach ($input as $k => $v) {\n            $out[$k . '_${m}'] = is_int($v) ? $v * ${m + 2} : (string) $v;\n        }\n        return $out;\n    }\n`).join('\n');
    writeFileSync(join(src, `Service${i}.php`), `<?php\nnamespace Bench\\Gen;\n\nclass Service${i}${parent} implements ${ifaces.map((f) => `Iface${f}`).join(', ')}\n{\n${trait}    public const NAME = 'service.${i}';\n    public const LIMIT = ${i % 97};\n    public const TAGS = ['t${i % 10}', 't${i % 7}'];\n    protected array $config = ['id' => ${i}, 'enabled' => true];\n\n${methods}\n${extra}}\n`);
  }
  writeFileSync(join(dir, 'bootstrap.php'), `<?php
// Boots the generated "framework": autoload and instantiate ${INSTANTIATED} services,
// the leaves of 5-deep inheritance chains, so every class gets loaded.
spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'Bench\\\\Gen\\\\')) {
        require __DIR__ . '/src/' . substr($class, 10) . '.php';
    }
});
$container = [];
for ($i = ${Math.floor(CLASSES / INSTANTIATED) - 1}; $i < ${CLASSES}; $i += ${Math.floor(CLASSES / INSTANTIATED)}) {
    $class = 'Bench\\\\Gen\\\\Service' . $i;
    $service = new $class();
    $container[$class::NAME] = $service;
    $service->method0(['a' => 1, 'b' => 'x']);
}
return $container;
`);
  writeEntryPoints(dir);
  return dir;
}

export const APP_SHAPE = { interfaces: INTERFACES, traits: TRAITS, classes: CLASSES, instantiated: INSTANTIATED };

/**
 * The two entry points every workload has: the zygote app (boot, then
 * serve an echo handler) and the exec-per-worker baseline (the same boot
 * in a fresh php per worker, then length-prefixed frames over stdio).
 */
function writeEntryPoints(dir) {
  writeFileSync(join(dir, 'zygote-app.php'), `<?php
$container = require __DIR__ . '/bootstrap.php';
// The 'grow' action gives the worker a heap of body bytes (bench/exit.mjs).
\\Zygote\\Zygote::serve(static fn (\\Zygote\\Job $job): string => ($job->context['action'] ?? '') === 'grow'
    ? (string) strlen($GLOBALS['heap'] = str_repeat('g', (int) $job->body))
    : $job->body);
`);
  // The exec-per-worker baseline (RoadRunner's model): the same boot in a
  // fresh php per worker, then length-prefixed frames over stdin/stdout.
  writeFileSync(join(dir, 'pipe-worker.php'), `<?php
$container = require __DIR__ . '/bootstrap.php';
fwrite(STDOUT, "R");
fflush(STDOUT);
while (($header = fread(STDIN, 4)) !== false && strlen($header) === 4) {
    $length = unpack('V', $header)[1];
    $body = '';
    while (strlen($body) < $length) {
        $chunk = fread(STDIN, $length - strlen($body));
        if ($chunk === false || $chunk === '') {
            exit(0);
        }
        $body .= $chunk;
    }
    fwrite(STDOUT, pack('V', strlen($body)) . $body);
    fflush(STDOUT);
}
`);
}

const SYMFONY = '/usr/share/php/Symfony/Component';

/**
 * Debian's own Symfony 5.4 components (php-symfony-http-kernel, -console,
 * -dependency-injection), booted like a small app: a compiled container of
 * 200 services, an HttpKernel that has handled one request, a Console
 * application. Null when the packages are not installed.
 */
export function symfonyApp(dir = join(tmpdir(), 'php-zygote-bench-symfony')) {
  if (!['HttpKernel', 'Console', 'DependencyInjection'].every((c) => existsSync(join(SYMFONY, c, 'autoload.php')))) return null;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'bootstrap.php'), `<?php
foreach (['HttpKernel', 'Console', 'DependencyInjection'] as $component) {
    require "${SYMFONY}/$component/autoload.php";
}
use Symfony\\Component\\Console\\Application;
use Symfony\\Component\\DependencyInjection\\ContainerBuilder;
use Symfony\\Component\\EventDispatcher\\EventDispatcher;
use Symfony\\Component\\HttpFoundation\\Request;
use Symfony\\Component\\HttpFoundation\\RequestStack;
use Symfony\\Component\\HttpFoundation\\Response;
use Symfony\\Component\\HttpKernel\\Controller\\ArgumentResolver;
use Symfony\\Component\\HttpKernel\\Controller\\ControllerResolver;
use Symfony\\Component\\HttpKernel\\HttpKernel;

$builder = new ContainerBuilder();
for ($i = 0; $i < 200; $i++) {
    $builder->register("service.$i", \\ArrayObject::class)->addArgument([$i])->setPublic(true);
}
$builder->compile();
$kernel = new HttpKernel(new EventDispatcher(), new ControllerResolver(), new RequestStack(), new ArgumentResolver());
$request = Request::create('/hello');
$request->attributes->set('_controller', static fn () => new Response('hi'));
$kernel->handle($request);
return ['container' => $builder, 'kernel' => $kernel, 'console' => new Application('bench')];
`);
  writeEntryPoints(dir);
  return dir;
}

/** The workloads to measure: the generated app, and Debian's Symfony where installed. */
export function workloads() {
  const list = [['generated 2,000-class app', generateApp()]];
  const symfony = symfonyApp();
  if (symfony) list.push(['Debian Symfony 5.4 components', symfony]);
  return list;
}
