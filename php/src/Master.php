<?php

declare(strict_types=1);

namespace Zygote;

/**
 * The zygote loop. Node's control socket is the master's stdin (fd 0): the
 * STDIN stream wraps fd 0 itself, so a forked worker can close it for real,
 * which an fd opened with php://fd/N (always a dup) would not allow.
 *
 * The master reaps a worker only when Node asks (docs/protocol.md,
 * "Reaping without a race"): until then the dead worker's pid stays
 * reserved, so Node's pidfd_open after "forked" cannot pin a stranger.
 */
final class Master
{
    /** Control frames are small; anything bigger is a broken peer. */
    private const CONTROL_MAX_FRAME = 1024 * 1024;

    /** @var array<int, true> forked and not yet reaped */
    private array $children = [];

    private Channel $control;

    /** @param \Closure(\Socket): never $workerLoop what a fork does with its channel */
    public function __construct(private readonly \Closure $workerLoop)
    {
    }

    public function run(): never
    {
        // Children must stay zombies until Node asks: never SIG_IGN here,
        // which would make the kernel reap them and lose their status.
        pcntl_signal(SIGCHLD, SIG_DFL);
        putenv('PHP_ZYGOTE'); // processes the app spawns are not masters
        if (getenv('PHP_ZYGOTE_BIND_NOW') === '1') {
            // Set by Node for this process only (lib/zygote/master.ts).
            putenv('LD_BIND_NOW');
            putenv('PHP_ZYGOTE_BIND_NOW');
        }
        $this->control = new Channel(socket_import_stream(STDIN), self::CONTROL_MAX_FRAME);
        $this->setTitle('master');

        try {
            $this->control->control('hello', [
                'protocol' => Frame::VERSION,
                'pid' => getmypid(),
                'php' => PHP_VERSION,
                'opcache' => function_exists('opcache_get_status') && (bool) ini_get('opcache.enable_cli'),
                'preload' => (string) ini_get('opcache.preload') !== '',
            ]);
            while (($message = $this->control->readWithFds(4)) !== null) {
                [$frame, $fds] = $message;
                if (!$frame->isControl()) {
                    throw new ProtocolException('the control channel carries control frames only');
                }
                match ($frame->context['type'] ?? null) {
                    'fork' => $this->fork($frame, $fds),
                    'reap' => $this->reap($frame),
                    'status' => $this->control->control('status', ['opcache' => self::opcacheStatus()]),
                    'shutdown' => $this->shutdown(),
                    default => throw new ProtocolException('unknown control message ' . json_encode($frame->context['type'] ?? null)),
                };
            }
        } catch (ProtocolException|InvalidContextException $e) {
            // Control frames come from Node alone: one that cannot be read
            // means Node and this master are out of step for good.
            fwrite(Runtime::stderr(), 'php-zygote master ' . getmypid() . ': protocol error from Node: ' . $e->getMessage() . "\n");
            $this->killChildren();
            exit(ProtocolException::EXIT_CODE);
        } catch (ChannelException) {
            // The control socket broke: same as Node going away.
        }
        // End of file: Node is gone or done. No worker may outlive it.
        $this->shutdown();
    }

    /** @param list<\Socket|resource> $fds */
    private function fork(Frame $frame, array $fds): void
    {
        $id = $frame->context['id'] ?? 0;
        if (count($fds) !== 1) {
            array_map(self::closeReceived(...), $fds);
            $this->control->control('fork-failed', ['id' => $id, 'error' => 'a fork request must carry exactly one fd, got ' . count($fds)]);
            return;
        }
        $channel = $fds[0];
        $pid = pcntl_fork();
        if ($pid === -1) {
            self::closeReceived($channel);
            $this->control->control('fork-failed', ['id' => $id, 'error' => pcntl_strerror(pcntl_get_last_error())]);
            return;
        }
        if ($pid === 0) {
            $this->becomeWorker($channel);
        }
        // The worker has its own copy; ours would keep its channel open
        // after the worker dies and hide the end of file from Node.
        self::closeReceived($channel);
        $this->children[$pid] = true;
        $this->control->control('forked', ['id' => $id, 'pid' => $pid]);
    }

    /**
     * ext-sockets hands received fds over as Socket objects when they are
     * sockets and as stream resources otherwise.
     *
     * @param \Socket|resource $fd
     */
    private static function closeReceived($fd): void
    {
        if ($fd instanceof \Socket) {
            socket_close($fd);
        } elseif (is_resource($fd)) {
            fclose($fd);
        }
    }

    /** @param \Socket|resource $channel */
    private function becomeWorker($channel): never
    {
        // Close the control socket (fd 0) and put /dev/null in its place,
        // so fd 0 is never some unrelated file the app opens later.
        $this->control->close();
        $GLOBALS['__php_zygote_stdin'] = fopen('/dev/null', 'r');
        $this->children = [];
        $this->setTitle('worker');
        $socket = $channel instanceof \Socket ? $channel : socket_import_stream($channel);
        Runtime::becomeWorker();
        ($this->workerLoop)($socket);
    }

    private function reap(Frame $frame): void
    {
        $pid = (int) ($frame->context['pid'] ?? 0);
        if (!isset($this->children[$pid])) {
            $this->control->control('exited', ['pid' => $pid, 'error' => 'not a child of this master, or already reaped']);
            return;
        }
        $reaped = pcntl_waitpid($pid, $status, WNOHANG);
        if ($reaped === 0) {
            $this->control->control('exited', ['pid' => $pid, 'error' => 'still running']);
            return;
        }
        unset($this->children[$pid]);
        if ($reaped !== $pid) {
            $this->control->control('exited', ['pid' => $pid, 'error' => 'waitpid: ' . pcntl_strerror(pcntl_get_last_error())]);
            return;
        }
        $this->control->control('exited', [
            'pid' => $pid,
            'code' => pcntl_wifexited($status) ? pcntl_wexitstatus($status) : null,
            'signal' => pcntl_wifsignaled($status) ? pcntl_wtermsig($status) : null,
        ]);
    }

    /**
     * Ends the master's whole process group, itself last: what the workers
     * started in the background (shell_exec('cmd &')) would otherwise
     * outlive the pool, as it would outlive php-fpm but not systemd's stop
     * of its control group. Node started the master as a group leader, so
     * the group is this master's alone; a process that left it (setsid) is
     * out of reach, as it is for any kill of a group.
     */
    /**
     * Opcache's state as the master sees it: its shared memory is the
     * workers' too, so a full cache here means every worker compiles into
     * private memory. Null when opcache is off.
     *
     * @return array<string, mixed>|null
     */
    private static function opcacheStatus(): ?array
    {
        $status = function_exists('opcache_get_status') ? @opcache_get_status(false) : false;
        if (!is_array($status)) {
            return null;
        }
        $memory = $status['memory_usage'] ?? [];
        $strings = $status['interned_strings_usage'] ?? [];
        $stats = $status['opcache_statistics'] ?? [];
        return [
            'cacheFull' => (bool) ($status['cache_full'] ?? false),
            'restartPending' => (bool) ($status['restart_pending'] ?? false),
            'usedMemory' => (int) ($memory['used_memory'] ?? 0),
            'freeMemory' => (int) ($memory['free_memory'] ?? 0),
            'wastedMemory' => (int) ($memory['wasted_memory'] ?? 0),
            'internedUsed' => (int) ($strings['used_memory'] ?? 0),
            'internedFree' => (int) ($strings['free_memory'] ?? 0),
            'cachedScripts' => (int) ($stats['num_cached_scripts'] ?? 0),
            'cachedKeys' => (int) ($stats['num_cached_keys'] ?? 0),
            'maxCachedKeys' => (int) ($stats['max_cached_keys'] ?? 0),
            'hits' => (int) ($stats['hits'] ?? 0),
            'misses' => (int) ($stats['misses'] ?? 0),
            'oomRestarts' => (int) ($stats['oom_restarts'] ?? 0),
            'hashRestarts' => (int) ($stats['hash_restarts'] ?? 0),
        ];
    }

    private function shutdown(): never
    {
        $this->killChildren();
        posix_kill(0, SIGKILL);
        exit(0); // not reached
    }

    private function killChildren(): void
    {
        foreach (array_keys($this->children) as $pid) {
            posix_kill($pid, SIGKILL);
        }
        foreach (array_keys($this->children) as $pid) {
            pcntl_waitpid($pid, $status);
        }
        $this->children = [];
    }

    private function setTitle(string $role): void
    {
        // Cosmetic (ps shows which process is which); some systems refuse it.
        @cli_set_process_title("php-zygote $role: " . ($_SERVER['SCRIPT_FILENAME'] ?? ''));
    }
}
