<?php

declare(strict_types=1);

namespace Zygote;

/**
 * The app's entry point: everything before Zygote::serve() runs once, in
 * the master; the handler runs in forked workers.
 *
 *   require __DIR__ . '/vendor/autoload.php';   // booted once, in the master
 *   $app = App::boot();
 *   \Zygote\Zygote::serve(function (\Zygote\Job $job) use ($app): string {
 *       return $app->handle($job->body, $job->context);
 *   });
 *
 * It composes the two loops, which know nothing of each other: the
 * Master forks on Node's request, and each fork becomes a Worker.
 */
final class Zygote
{
    /**
     * Reports that the app booted, then forks workers on request and
     * never returns; each worker serves jobs with $handler until Node
     * closes its channel, then exits.
     *
     * @param callable(Job): (string|Response) $handler
     */
    public static function serve(callable $handler): never
    {
        if (!Runtime::startedByZygote()) {
            $script = basename((string) ($_SERVER['argv'][0] ?? 'this script'));
            fwrite(STDERR, "$script is a php-zygote app: start it from Node (npx php-zygote serve $script, WorkerPool or Master.start), not with php directly\n");
            exit(64); // EX_USAGE
        }
        $maxFrameSize = self::maxFrameSize();
        $master = new Master(static function (\Socket $channel) use ($handler, $maxFrameSize): never {
            Worker::loop($channel, $handler, $maxFrameSize);
        });
        $master->run();
    }

    private static function maxFrameSize(): int
    {
        $value = getenv('PHP_ZYGOTE_MAX_FRAME');
        return $value !== false && ctype_digit($value) ? (int) $value : 64 * 1024 * 1024;
    }
}
