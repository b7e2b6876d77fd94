<?php

declare(strict_types=1);

namespace Zygote;

/**
 * Where this code runs: in the master (the zygote, which boots the app and
 * forks), in a forked worker, or standalone (not started by php-zygote).
 */
final class Runtime
{
    private static string $role = 'master';

    /** @var list<callable(): void> */
    private static array $forkHooks = [];

    public static function isWorker(): bool
    {
        return self::$role === 'worker';
    }

    public static function isMaster(): bool
    {
        return self::$role === 'master' && self::startedByZygote();
    }

    /**
     * The log (fd 2), for the runtime's own lines. STDERR is the CLI's
     * constant for it, defined in the CLI's first request only: a reused
     * docroot worker runs its later requests without it, as php-fpm runs
     * every request.
     *
     * @return resource
     */
    public static function stderr()
    {
        static $stream = null;
        return defined('STDERR') ? STDERR : ($stream ??= fopen('php://stderr', 'w'));
    }

    public static function startedByZygote(): bool
    {
        return getenv('PHP_ZYGOTE') === '1' || self::$role === 'worker';
    }

    /**
     * Registers a hook that runs in every new worker right after the fork,
     * before its first job. Open per-worker resources here (database
     * connections, sockets): a connection opened during boot would be
     * shared by every worker at once.
     */
    public static function onFork(callable $hook): void
    {
        self::$forkHooks[] = $hook;
    }

    /** @internal Called by the master in the child right after pcntl_fork(). */
    public static function becomeWorker(): void
    {
        self::$role = 'worker';
        SlowLog::installIfWanted();
        foreach (self::$forkHooks as $hook) {
            $hook();
        }
    }
}
