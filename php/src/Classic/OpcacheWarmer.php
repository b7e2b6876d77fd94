<?php

declare(strict_types=1);

namespace Zygote\Classic;

/**
 * Compiles every .php file under the document root into opcache before
 * the first fork, so workers find them compiled in shared memory instead
 * of each compiling its own copy.
 *
 * The compiling happens in a helper fork. opcache_compile_file() catches
 * compile errors itself (even "Cannot redeclare", a fatal error, becomes
 * a warning), but not a crash or memory exhaustion in the compiler, which
 * in the master would stop the app from booting. opcache's memory is
 * shared, so what the helper compiles is there for the master and every
 * worker. The helper announces each file before compiling it; if it
 * dies, the file it announced last is skipped and a new helper goes on
 * after it.
 *
 * opcache.file_update_protection (2 s by default) skips files modified in
 * the last 2 seconds, which after a deploy is every file. It is set to 0
 * for the warm-up only when opcache.validate_timestamps is on: a file
 * caught while it was still being written is then compiled again once
 * its mtime changes. Without timestamp validation such a file would stay
 * cached half-written, so the protection stays.
 *
 * opcache_compile_file() compiles without early binding
 * (ZEND_COMPILE_WITHOUT_EXECUTION), and the cached script keeps that: a
 * class declared at the top level is then declared only when execution
 * reaches its line, never hoisted as a normal include hoists it. A file
 * whose top-level code uses a class declared further down (DokuWiki's
 * lib/exe/css.php calls css_out(), which needs DokuCssFile, declared
 * below) would fail with "Class not found" in every worker. Such files
 * (a top-level class, interface, trait or enum after other top-level
 * code) are left out of the warm-up: the first worker that includes
 * one compiles it normally and opcache shares that copy.
 */
final class OpcacheWarmer
{
    /** A helper that dies this many times gives up: something other than one file is wrong. */
    private const MAX_HELPER_DEATHS = 20;

    public function __construct(
        private readonly Sapi $sapi,
        private readonly int $maxFiles = 20000,
        private readonly float $maxSeconds = 20.0,
    ) {
    }

    /**
     * @return array{files: int, compiled: int, failed: list<string>, stopped: ?string} stopped says why it did not finish
     */
    public function warm(string $root): array
    {
        $result = ['files' => 0, 'compiled' => 0, 'failed' => [], 'stopped' => null];
        if (!function_exists('opcache_compile_file') || !is_array(@opcache_get_status(false))) {
            $result['stopped'] = 'opcache is off (opcache.enable_cli=0)';
            return $result;
        }
        $deadline = microtime(true) + $this->maxSeconds;
        $files = $this->find($root, $deadline, $result);
        $result['files'] = count($files);

        $protection = ini_get('opcache.file_update_protection');
        if (ini_get('opcache.validate_timestamps')) {
            ini_set('opcache.file_update_protection', '0');
        }
        try {
            $next = 0;
            $deaths = 0;
            while ($next < count($files) && microtime(true) < $deadline) {
                [$next, $failed] = $this->helper($files, $next, $deadline);
                array_push($result['failed'], ...$failed);
                if ($failed !== [] && ++$deaths >= self::MAX_HELPER_DEATHS) {
                    $result['stopped'] = "the helper died $deaths times";
                    break;
                }
            }
            if ($result['stopped'] === null && $next < count($files)) {
                $result['stopped'] = "time limit of {$this->maxSeconds} s";
            }
        } finally {
            ini_set('opcache.file_update_protection', (string) $protection);
        }
        // Counted here, not by the helper: opcache_compile_file() does not
        // say whether a file made it into shared memory (it may be full).
        $result['compiled'] = count(array_filter($files, 'opcache_is_script_cached'));
        return $result;
    }

    /**
     * The .php files under $root, symbolic links followed, each directory
     * visited once (a link back up would loop).
     *
     * @param array{stopped: ?string} $result
     * @return list<string>
     */
    private function find(string $root, float $deadline, array &$result): array
    {
        $files = [];
        $seen = [];
        $stack = [$root];
        while ($stack !== []) {
            $dir = array_pop($stack);
            $real = realpath($dir);
            if ($real === false || isset($seen[$real])) {
                continue;
            }
            $seen[$real] = true;
            foreach (@scandir($dir) ?: [] as $entry) {
                if ($entry === '.' || $entry === '..') {
                    continue;
                }
                $path = "$dir/$entry";
                if (is_dir($path)) {
                    $stack[] = $path;
                } elseif (str_ends_with($entry, '.php') && is_file($path)) {
                    $files[] = $path;
                    if (count($files) >= $this->maxFiles) {
                        $result['stopped'] = "file limit of {$this->maxFiles}";
                        return $files;
                    }
                }
            }
            if (microtime(true) > $deadline) {
                $result['stopped'] = "time limit of {$this->maxSeconds} s";
                break;
            }
        }
        return $files;
    }

    /**
     * One helper fork from $files[$from]: returns where the next helper
     * starts, and the file it died on, if it did.
     *
     * @param list<string> $files
     * @return array{int, list<string>}
     */
    private function helper(array $files, int $from, float $deadline): array
    {
        $pair = stream_socket_pair(STREAM_PF_UNIX, STREAM_SOCK_STREAM, STREAM_IPPROTO_IP);
        $pid = pcntl_fork();
        if ($pid === -1) {
            return [count($files), []];
        }
        if ($pid === 0) {
            fclose($pair[0]);
            for ($i = $from; $i < count($files) && microtime(true) < $deadline; $i++) {
                fwrite($pair[1], "$i\n");
                if (self::declaresClassAfterCode((string) @file_get_contents($files[$i]))) {
                    continue;
                }
                try {
                    @opcache_compile_file($files[$i]);
                } catch (\Throwable) {
                    // A ParseError: not cached, nothing else to do.
                }
            }
            fwrite($pair[1], "end $i\n");
            // Not exit(): that would run the boot file's shutdown work here.
            $this->sapi->hardExit(0);
        }
        fclose($pair[1]);
        $last = $from;
        $end = null;
        while (($line = fgets($pair[0])) !== false) {
            if (str_starts_with($line, 'end ')) {
                $end = (int) substr($line, 4);
            } else {
                $last = (int) $line;
            }
        }
        fclose($pair[0]);
        pcntl_waitpid($pid, $status);
        if ($end !== null) {
            return [$end, []];
        }
        fwrite(\Zygote\Runtime::stderr(), "php-zygote docroot: opcache warm-up skipped {$files[$last]}: compiling it ended the process (its error is above)\n");
        return [$last + 1, [$files[$last]]];
    }

    /**
     * Whether $code declares a class-like at the top level (of the file or
     * of a braced namespace) after a top-level statement that is not
     * namespace, use or declare: code that may run before the declaration
     * and expect it hoisted. Conservative: a function declared before the
     * class counts as code too.
     */
    public static function declaresClassAfterCode(string $code): bool
    {
        if (!preg_match('/\b(class|interface|trait|enum)\b/i', $code)) {
            return false;
        }
        try {
            $tokens = \PhpToken::tokenize($code);
        } catch (\Throwable) {
            return false; // a parse error: opcache_compile_file() caches nothing anyway
        }
        $stack = [];           // per open brace: whether it opened a namespace body
        $depth = 0;            // braces open that are not namespace bodies
        $statementStart = true;
        $statement = null;     // 'namespace' | 'declaration' | 'class' | 'code': the top-level statement under way
        $codeSeen = false;
        foreach ($tokens as $token) {
            if ($token->isIgnorable() || $token->is([T_OPEN_TAG, T_CLOSE_TAG])) {
                continue;
            }
            if ($depth === 0 && $statementStart && $token->text !== '}' && $token->text !== ';') {
                $statementStart = false;
                if ($token->is(T_NAMESPACE)) {
                    $statement = 'namespace';
                } elseif ($token->is([T_USE, T_DECLARE])) {
                    $statement = 'declaration';
                } elseif ($token->is([T_CLASS, T_INTERFACE, T_TRAIT, T_ENUM, T_ABSTRACT, T_FINAL, T_READONLY, T_ATTRIBUTE])) {
                    if ($codeSeen) {
                        return true;
                    }
                    $statement = 'class';
                } else {
                    $statement = 'code';
                    $codeSeen = true;
                }
            }
            $text = $token->text;
            if ($text === '{' || $token->is([T_CURLY_OPEN, T_DOLLAR_OPEN_CURLY_BRACES])) {
                $namespaceBody = $depth === 0 && $statement === 'namespace' && $text === '{';
                $stack[] = $namespaceBody;
                if ($namespaceBody) {
                    $statementStart = true;
                } else {
                    $depth++;
                }
            } elseif ($text === '}') {
                if (array_pop($stack) === false) {
                    $depth--;
                }
                if ($depth === 0) {
                    $statementStart = true; // the end of a block, a class body, a namespace body or a group use
                }
            } elseif ($text === ';' && $depth === 0) {
                $statementStart = true;
            }
        }
        return false;
    }
}
