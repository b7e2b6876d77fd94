<?php
// A small app served by `npm start` (php-zygote serve examples/app.php).
// Everything above Server::serve() runs once, in the master; the closure
// runs in the forked workers.
declare(strict_types=1);

// Node prepends the runtime anyway; requiring it too lets `php app.php`
// say how to start this app instead of failing on an unknown class.
require_once __DIR__ . '/../php/autoload.php';

use Zygote\Http\Request;
use Zygote\Http\Response;
use Zygote\Http\ResponseStream;
use Zygote\Http\Server;

// "Boot": state built once and shared copy-on-write by every worker.
$boot = [
    'bootedAt' => date(DATE_ATOM),
    'masterPid' => getmypid(),
    // Stands in for a warmed cache or a compiled container.
    'primes' => array_values(array_filter(range(2, 5000), static function (int $n): bool {
        for ($i = 2; $i * $i <= $n; $i++) {
            if ($n % $i === 0) {
                return false;
            }
        }
        return true;
    })),
];

Server::serve(static function (Request $request, ResponseStream $stream) use ($boot) {
    // Per worker: survives between requests of one worker (not with --isolated).
    static $hits = 0;
    $hits++;

    switch ($request->method . ' ' . $request->path) {
        case 'GET /':
            $name = htmlspecialchars((string) ($request->query['name'] ?? 'world'));
            return "<!doctype html><title>php-zygote</title><h1>Hello, $name!</h1>"
                . '<p>Served by worker ' . getmypid() . ', forked from master ' . $boot['masterPid'] . '.</p>';

        case 'POST /echo':
            return Response::json([
                'method' => $request->method,
                'path' => $request->path,
                'query' => $request->query,
                'body' => $request->parsedBody ?? $request->body,
                'contentType' => $request->header('content-type'),
            ]);

        case 'GET /counter':
            return Response::json([
                'worker' => getmypid(),
                'hitsOnThisWorker' => $hits,
                'bootedAt' => $boot['bootedAt'],
                'primesKnownSinceBoot' => count($boot['primes']),
            ]);

        case 'GET /stream':
            $stream->start(200, ['content-type' => 'text/plain; charset=utf-8']);
            for ($i = 1; $i <= 5; $i++) {
                $stream->write("chunk $i of 5\n");
                usleep(100_000);
            }
            return "done\n";

        default:
            return new Response("Not found: {$request->path}\n", 404, ['content-type' => 'text/plain']);
    }
});
