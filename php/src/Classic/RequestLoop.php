<?php

declare(strict_types=1);

namespace Zygote\Classic;

/**
 * Many PHP requests in one forked worker, each begun and ended by PHP
 * itself, as php-fpm serves requests: through the small C library
 * src-native/php-request-loop.c (prebuilds/linux-<arch>/), loaded with
 * FFI. PHP code cannot end its own request and go on; that library's
 * zygote_request_loop() ends the current request (PHP's request shutdown:
 * shutdown functions, destructors, every request structure freed, ini and
 * declared functions and classes undone) and runs a script as a fresh
 * request, again and again, never returning.
 *
 * The channel to Node must outlive each request, while PHP closes every
 * socket and stream a request opened: the library keeps a copy of its fd
 * that no PHP object owns, and each request opens its own handle on it.
 */
final class RequestLoop
{
    /** The library's C declarations (its scope when preloaded). */
    private const HEADER = 'request-loop.h';

    /** This request's handle on the library (PHP frees it with the request). */
    private static ?\FFI $ffi = null;

    /** The library built for this machine, in the package's prebuilds/. */
    public static function library(): string
    {
        $machine = php_uname('m');
        $arch = ['x86_64' => 'x64', 'aarch64' => 'arm64'][$machine] ?? $machine;
        return dirname(__DIR__, 3) . "/prebuilds/linux-$arch/php-request-loop.so";
    }

    /** @throws SapiMismatchException naming the library that is missing or cannot be loaded */
    public static function open(): \FFI
    {
        try {
            // Preloaded (ffi.preload, lib/http/docroot/reuse-preload.ts):
            // parsed and resolved once for the life of the process.
            return \FFI::scope('zygote_request_loop');
        } catch (\FFI\Exception) {
        }
        $library = self::library();
        if (!is_file($library)) {
            throw new SapiMismatchException("reused workers need $library, which is missing (scripts/prebuild.sh builds it for linux-x64 and linux-arm64)");
        }
        try {
            return \FFI::cdef(FfiScope::declarations(self::HEADER), $library);
        } catch (\FFI\Exception $e) {
            throw new SapiMismatchException("cannot load $library: " . $e->getMessage(), $e);
        }
    }

    /**
     * In a fresh worker: ends the current request (the master's, as
     * inherited by the fork) and runs $script as one new request after
     * another. Each request gets the channel with channel() and ends the
     * process itself when there is no more work.
     */
    public static function enter(\Socket $channel, string $script, \FFI\CData $sapiWords, int $sapiWordCount): never
    {
        $ffi = self::open();
        $fd = self::fdOf($channel);
        if ($ffi->zygote_keep_channel($fd) < 0) {
            throw new SapiMismatchException("cannot keep the channel (fd $fd) across requests");
        }
        // Every request starts with the SAPI hooks as they are now, even
        // after one that could not undo its own.
        if ($ffi->zygote_keep_sapi($sapiWords, $sapiWordCount) < 0) {
            throw new SapiMismatchException('cannot keep the SAPI module\'s hooks across requests');
        }
        [$cache, $flag] = self::pcreCache();
        $ffi->zygote_request_loop($script, $cache, $flag);
        throw new SapiMismatchException("the request loop refused the script path $script (empty or longer than 4095 bytes)");
    }

    /**
     * The job of this request, until jobAnswered(): the library keeps it
     * across the request's end, so that the next request answers it if
     * this one could not (pendingJob()).
     */
    public static function jobStarted(int $id): void
    {
        (self::$ffi ??= self::open())->zygote_job_begin($id);
    }

    public static function jobAnswered(): void
    {
        (self::$ffi ??= self::open())->zygote_job_end();
    }

    /**
     * Keeps $state (plain values: what json_encode() keeps) for kept():
     * what the master worked out once (the web ini values, whether
     * getenv() is hooked) and every request needs again after PHP freed
     * the request before.
     */
    public static function keep(array $state): void
    {
        $bytes = json_encode($state, JSON_THROW_ON_ERROR);
        if ((self::$ffi ??= self::open())->zygote_keep_state($bytes, strlen($bytes)) < 0) {
            throw new SapiMismatchException('cannot keep the worker\'s state across requests (out of memory)');
        }
    }

    /** What keep() kept, or [] before it did. */
    public static function kept(): array
    {
        $json = (self::$ffi ??= self::open())->zygote_kept_state();
        return is_string($json) ? (array) json_decode($json, true) : [];
    }

    /**
     * In the master: getenv("NAME") answers from the request's CGI
     * variables (setParams()) before the process environment, and getenv()
     * lists them after it, as under php-fpm, whose SAPI answers from the
     * FastCGI parameters. The library's own function goes into
     * sapi_module's getenv slot, which the CLI leaves NULL (Sapi checked
     * it), and wraps PHP's import of the environment. False if it could not.
     */
    public static function hookGetenv(Sapi $sapi): bool
    {
        return (self::$ffi ??= self::open())->zygote_hook_getenv($sapi->words(), Sapi::SLOT_GETENV) === 0;
    }

    /**
     * This request's CGI variables for getenv() (hookGetenv()), packed as
     * "NAME=VALUE\0" one after another.
     *
     * @param array<string, string> $vars names and values that can be C strings of the environment (RequestGlobals::fill() hands only those)
     */
    public static function setParams(array $vars): void
    {
        $packed = '';
        foreach ($vars as $name => $value) {
            $packed .= "$name=$value\0";
        }
        (self::$ffi ??= self::open())->zygote_set_params($packed, strlen($packed));
    }

    /** The job a request before this one began and never answered, or null. */
    public static function pendingJob(): ?int
    {
        $id = (self::$ffi ??= self::open())->zygote_job_pending();
        return $id < 0 ? null : $id;
    }

    /** In a request of the loop: this request's own handle on the worker's channel. */
    public static function channel(): \Socket
    {
        $ffi = self::$ffi ??= self::open();
        $stream = fopen('php://fd/' . $ffi->zygote_kept_channel(), 'r+');
        // php://fd/N is a dup(2) of N without FD_CLOEXEC: the channel must
        // not leak into processes the script starts.
        $ffi->zygote_cloexec_from(3);
        $socket = $stream === false ? false : socket_import_stream($stream);
        if ($socket === false) {
            throw new \Zygote\ChannelException('cannot open the kept channel (fd ' . $ffi->zygote_kept_channel() . ')');
        }
        return $socket;
    }

    /**
     * PCRE's regex cache and its per_request_cache flag, for the loop to
     * make the cache live across requests (src-native/php-request-loop.c),
     * or [null, null] when pcre_globals does not read as expected: each
     * field before the flag is checked against the ini setting it holds,
     * and nothing is touched on a mismatch (regexes are then compiled in
     * every request, as in the CLI; slower, nothing breaks).
     *
     * @return array{\FFI\CData|null, \FFI\CData|null}
     */
    private static function pcreCache(): array
    {
        if (PHP_INT_SIZE !== 8 || PHP_VERSION_ID < 80100 || PHP_VERSION_ID >= 80500) {
            return [null, null];
        }
        try {
            // Kept in a variable: the struct's type lives as long as $ffi.
            $ffi = \FFI::cdef(FfiScope::declarations('pcre.h'));
            $pcre = $ffi->pcre_globals;
        } catch (\FFI\Exception) {
            return [null, null]; // no such symbol: PCRE is linked otherwise
        }
        $matches = $pcre->backtrack_limit === (int) ini_get('pcre.backtrack_limit')
            && $pcre->recursion_limit === (int) ini_get('pcre.recursion_limit')
            && $pcre->jit === (int) (bool) ini_get('pcre.jit')
            && $pcre->per_request_cache === 1;
        if (!$matches) {
            return [null, null];
        }
        return [\FFI::cast('void *', \FFI::addr($pcre->cache)), \FFI::addr($pcre->per_request_cache)];
    }

    /**
     * The fd number of a socket, which PHP does not expose: the fd in
     * /proc/self/fd that links to the socket's inode.
     */
    private static function fdOf(\Socket $socket): int
    {
        $stream = socket_export_stream($socket);
        $inode = $stream === false ? false : (fstat($stream)['ino'] ?? false);
        if ($inode === false) {
            throw new SapiMismatchException('cannot read the inode of the channel socket');
        }
        foreach (scandir('/proc/self/fd') ?: [] as $entry) {
            if (ctype_digit($entry) && @readlink("/proc/self/fd/$entry") === "socket:[$inode]") {
                return (int) $entry;
            }
        }
        throw new SapiMismatchException("no fd in /proc/self/fd is the channel socket (inode $inode)");
    }
}
