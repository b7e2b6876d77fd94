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
        self::refuseStandalone();
        $maxFrameSize = self::maxFrameSize();
        $master = new Master(static function (\Socket $channel) use ($handler, $maxFrameSize): never {
            Worker::loop($channel, $handler, $maxFrameSize);
        });
        $master->run();
    }

    /**
     * Like serve(), for code that must run at its caller's scope rather
     * than inside a handler (a classic PHP script expects the global
     * scope, which no callable has): in the master it never returns; in
     * each forked worker it returns that worker's one job. The caller
     * answers with $job->respond() and should then call
     * $job->awaitChannelEnd() before it exits. Pools of such workers must
     * be isolated (one job per fork).
     *
     * The fork happens deep inside the master's loop; the job reaches the
     * caller by unwinding that stack with an exception only this method
     * catches (nothing of the app is on the stack in between).
     */
    public static function forkPerJob(): Job
    {
        self::refuseStandalone();
        $maxFrameSize = self::maxFrameSize();
        $master = new Master(static function (\Socket $channel) use ($maxFrameSize): never {
            throw new JobHandOff(Worker::firstJob($channel, $maxFrameSize));
        });
        try {
            $master->run();
        } catch (JobHandOff $handOff) {
            return $handOff->job;
        }
    }

    /**
     * Like forkPerJob(), for workers that run each job in a PHP request of
     * their own (docroot mode with reused workers, Classic\RequestLoop):
     * in the master it never returns; in each fork it returns the
     * worker's channel, already announced ready, with no job read from it.
     */
    public static function forkPerWorker(): \Socket
    {
        self::refuseStandalone();
        $maxFrameSize = self::maxFrameSize();
        $master = new Master(static function (\Socket $channel) use ($maxFrameSize): never {
            Worker::announce($channel, $maxFrameSize);
            throw new ChannelHandOff($channel);
        });
        try {
            $master->run();
        } catch (ChannelHandOff $handOff) {
            return $handOff->channel;
        }
    }

    private static function refuseStandalone(): void
    {
        if (!Runtime::startedByZygote()) {
            $script = basename((string) ($_SERVER['argv'][0] ?? 'this script'));
            fwrite(Runtime::stderr(), "$script is a php-zygote app: start it from Node (npx php-zygote serve $script, WorkerPool or Master.start), not with php directly\n");
            exit(64); // EX_USAGE
        }
    }

    /** @internal The largest frame a worker accepts (PHP_ZYGOTE_MAX_FRAME, set by Node). */
    public static function maxFrameSize(): int
    {
        $value = getenv('PHP_ZYGOTE_MAX_FRAME');
        return $value !== false && ctype_digit($value) ? (int) $value : 64 * 1024 * 1024;
    }
}
