<?php

declare(strict_types=1);

namespace Zygote;

/**
 * The worker side of the slow log (php-fpm's request_slowlog_timeout):
 * when a job runs longer than slowlogTimeout, Node sends the worker
 * SIGWINCH, and the worker writes its PHP stack to stderr, which Node logs
 * under the worker's pid. The job goes on.
 *
 * SIGWINCH because its default action is to be ignored: a process that has
 * not installed the handler (yet) is not hurt by it, and a worker has no
 * terminal to resize. The handler runs through PHP's async signals, at
 * the next opcode: a busy loop shows where it spins. A blocking call
 * (sleep(), a socket read with a timeout) is interrupted like by any
 * signal: sleep() and usleep() return early. php-fpm reads the stack with
 * ptrace from outside instead, which a Node process cannot do portably.
 * Installed only when the pool has a slowlogTimeout (PHP_ZYGOTE_SLOWLOG).
 */
final class SlowLog
{
    public static function installIfWanted(): void
    {
        if (getenv('PHP_ZYGOTE_SLOWLOG') !== '1' || !function_exists('pcntl_async_signals')) {
            return;
        }
        pcntl_async_signals(true);
        pcntl_signal(SIGWINCH, [self::class, 'dump']);
    }

    /** @internal The signal handler: the stack of whatever the worker is running, in php-fpm's slowlog shape. */
    public static function dump(): void
    {
        $lines = ['php-zygote slowlog: worker ' . getmypid() . ' is still running a job; its PHP stack:'];
        // [0] is this handler; the frames below it are the running code.
        foreach (array_slice(debug_backtrace(DEBUG_BACKTRACE_IGNORE_ARGS), 1) as $i => $frame) {
            $function = ($frame['class'] ?? '') . ($frame['type'] ?? '') . ($frame['function'] ?? '{main}');
            $lines[] = sprintf('  #%d %s() %s:%d', $i, $function, $frame['file'] ?? '[internal]', $frame['line'] ?? 0);
        }
        fwrite(Runtime::stderr(), implode("\n", $lines) . "\n");
    }
}
