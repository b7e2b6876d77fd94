<?php

declare(strict_types=1);

namespace Zygote\Classic;

use Zygote\Http\HeaderBytes;
use Zygote\InvalidContextException;
use Zygote\Job;

/**
 * Docroot mode: unmodified scripts written for php-fpm, one request per
 * fork. php/docroot.php is the master script and calls these steps in
 * order; the script itself is required by docroot.php at global scope,
 * which no method can do.
 *
 * Namespace Zygote\Classic (not Zygote\Http): everything here makes the
 * CLI process look like php-fpm to code that knows nothing of
 * php-zygote, while Zygote\Http is the API of apps written for it.
 * (Zygote\Http\Classic is the in-between: fpm-style globals for a
 * handler that stays booted across requests.)
 *
 *   master: prepareMaster() → require bootFile() → afterBoot() → forkPerJob()
 *   worker: begin($job) → require script() → exit()/return/fatal error
 *           → shutdown functions → RequestEnd::end(): final frame, wait for Node
 *
 * With reused workers (PHP_ZYGOTE_DOCROOT_REUSE=1, php-fpm's model: many
 * requests per worker, PHP's own request shutdown between them):
 *
 *   master: prepareMaster() → afterBoot() → forkPerWorker() → serveRequests()
 *   worker: php/docroot-request.php as a fresh PHP request per job:
 *           beginNext() → require bootFile() → require script() → ...
 *           → RequestEnd::end(): final frame → PHP's request shutdown → next request
 */
final class Docroot
{
    private static ?Sapi $sapi = null;
    private static ?WebIni $ini = null;
    /** Whether getenv() reads this request's CGI variables through the SAPI (RequestLoop::hookGetenv()) rather than putenv(). */
    private static bool $sapiGetenv = false;
    private static string $script = '';

    /**
     * In the master, before anything else: checks that this PHP can be
     * patched (or exits 78 with one line saying why) and makes it keep
     * headers; checks the environment.
     */
    public static function prepareMaster(): void
    {
        try {
            self::$sapi = Sapi::open();
        } catch (SapiMismatchException $e) {
            self::refuse('cannot make the CLI SAPI keep headers and capture output: ' . $e->getMessage());
        }
        self::$sapi->keepHeaders();
        if (extension_loaded('filter') && self::$sapi->inputFilter() === null) {
            fwrite(\Zygote\Runtime::stderr(), "php-zygote docroot: filter_input() will not see the requests: sapi_module's input filter is not where PHP 8.1-8.4 keep it\n");
        }
        self::$ini = WebIni::fromCommandLine();
        if (self::reusesWorkers()) {
            try {
                // What every request needs and PHP would free with the
                // request before: worked out once, kept by the library.
                RequestLoop::keep(['ini' => self::$ini->values(), 'sapiGetenv' => RequestLoop::hookGetenv(self::$sapi)]);
            } catch (SapiMismatchException $e) {
                self::refuse('cannot reuse workers: ' . $e->getMessage());
            }
        }
        $root = getenv('PHP_ZYGOTE_DOCROOT');
        if ($root === false || $root === '' || !is_dir($root)) {
            self::refuse('PHP_ZYGOTE_DOCROOT must name the document root directory (got ' . var_export($root, true) . ')');
        }
        // Output during boot must not reach the SAPI: PHP would mark the
        // headers as sent in the master, and every fork would inherit it.
        ob_start();
    }

    /**
     * Whether each worker serves many requests, PHP ending and beginning
     * the request between them (PHP_ZYGOTE_DOCROOT_REUSE=1, set by Node
     * for a pool that is not isolated), rather than one request per fork.
     * The boot file then runs at the start of every request, like
     * php-fpm's auto_prepend_file: PHP's request shutdown would discard
     * whatever it defined in the master.
     */
    public static function reusesWorkers(): bool
    {
        return getenv('PHP_ZYGOTE_DOCROOT_REUSE') === '1';
    }

    /** The user's boot file (PHP_ZYGOTE_BOOT), to be required at global scope, or null. */
    public static function bootFile(): ?string
    {
        $file = getenv('PHP_ZYGOTE_BOOT');
        if ($file === false || $file === '') {
            return null;
        }
        if (!is_file($file)) {
            self::refuse('PHP_ZYGOTE_BOOT names no file: ' . $file);
        }
        return $file;
    }

    /** In the master, after the boot file: web ini values, opcache warm-up. */
    public static function afterBoot(): void
    {
        $output = (string) ob_get_clean();
        if ($output !== '') {
            fwrite(\Zygote\Runtime::stderr(), $output); // the log, as boot output always is
        }
        if (headers_sent($file, $line)) {
            fwrite(\Zygote\Runtime::stderr(), "php-zygote docroot: output was sent during boot ($file:$line), so header() will fail in every worker\n");
        }
        self::$ini->applyToMaster();
        $root = (string) getenv('PHP_ZYGOTE_DOCROOT');
        $started = hrtime(true);
        $warm = (new OpcacheWarmer(self::$sapi))->warm($root);
        fwrite(\Zygote\Runtime::stderr(), sprintf(
            "php-zygote docroot: opcache warm-up of %s: %d of %d .php files compiled in %d ms%s\n",
            $root,
            $warm['compiled'],
            $warm['files'],
            intdiv(hrtime(true) - $started, 1_000_000),
            $warm['stopped'] !== null ? ' (stopped: ' . $warm['stopped'] . ')' : '',
        ));
    }

    /**
     * In a fresh worker with reused workers: from here on, every job runs
     * in a PHP request of its own (php/docroot-request.php).
     */
    public static function serveRequests(\Socket $channel): never
    {
        RequestLoop::enter($channel, dirname(__DIR__, 2) . '/docroot-request.php', self::$sapi->words(), Sapi::WORDS);
    }

    /**
     * At the start of each request of a reused worker, at global scope:
     * reads the job (the process ends once Node closed the channel),
     * then begin(). Everything static is new: PHP ended the request before.
     */
    public static function beginNext(): void
    {
        \Zygote\Runtime::becomeWorker(); // role and slow log: the request before took them along
        self::$sapi = Sapi::reopen();
        $kept = RequestLoop::kept();
        self::$ini = WebIni::fromValues($kept['ini'] ?? null);
        self::$sapiGetenv = ($kept['sapiGetenv'] ?? false) === true;
        try {
            $channel = RequestLoop::channel();
            self::answerPendingJob($channel);
            $job = \Zygote\Worker::nextJobOn($channel, \Zygote\Zygote::maxFrameSize());
        } catch (\Zygote\ChannelException $e) {
            // exit() would only end this request; the loop would start the next.
            fwrite(\Zygote\Runtime::stderr(), 'php-zygote worker ' . getmypid() . ': ' . $e->getMessage() . "\n");
            self::$sapi->hardExit($e instanceof \Zygote\ProtocolException ? \Zygote\ProtocolException::EXIT_CODE : 0);
        }
        if ($job === null) {
            self::$sapi->hardExit(0); // Node closed the channel: this worker is done
        }
        self::$ini->applyMemoryLimit();
        self::begin($job);
    }

    /**
     * In the fresh worker, at global scope: sets up everything php-fpm
     * sets up before it runs a script. Ends the request itself (exit)
     * when there is no script to run.
     */
    public static function begin(Job $job): void
    {
        if (self::reusesWorkers()) {
            RequestLoop::jobStarted($job->id);
        }
        $c = $job->context;
        $script = $c['docroot']['script'] ?? null;
        $cwd = $c['docroot']['cwd'] ?? null;
        $server = $c['server'] ?? null;
        $headers = $c['headers'] ?? [];
        if (!is_string($script) || !is_string($cwd) || !is_array($server) || !is_array($headers)) {
            $job->fail(new InvalidContextException('a docroot job needs docroot.script, docroot.cwd (strings), server (object) and headers (pairs)', $job->id));
            if (self::reusesWorkers()) {
                RequestLoop::jobAnswered();
            } else {
                $job->awaitChannelEnd();
            }
            exit(0); // a reused worker goes on with its next request
        }
        // Every string of a docroot job is bytes, one character per byte,
        // like header values (docs/protocol.md, "Document root jobs").
        $script = HeaderBytes::decode($script);
        $cwd = HeaderBytes::decode($cwd);
        $server = array_map(static fn ($v) => is_string($v) ? HeaderBytes::decode($v) : $v, $server);
        $decoded = [];
        foreach ($headers as $pair) {
            if (is_array($pair) && is_string($pair[0] ?? null) && is_string($pair[1] ?? null)) {
                $decoded[] = [HeaderBytes::decode($pair[0]), HeaderBytes::decode($pair[1])];
            }
        }

        $form = isset($c['upload']) ? MultipartForm::fromContext($c['upload']) : null;

        $output = new ResponseOutput($job);
        self::$sapi->capture($output->write(...), $output->flush(...), $job->body);
        header_remove();
        http_response_code(200); // the CLI starts at 0: http_response_code() would be false
        error_clear_last();
        RequestGlobals::fill($server, $decoded, $job->body, $form, self::$sapiGetenv ? RequestLoop::setParams(...) : null);
        FilterInput::expose(self::$sapi, $_SERVER, $job->body, $form);
        if ($form !== null) {
            self::registerUploads($form);
        }
        unset($GLOBALS['argv'], $GLOBALS['argc']); // php-fpm has neither
        RequestEnd::arm($job, $output, self::$sapi, self::reusesWorkers());
        self::$ini->applyToRequest();

        // php-fpm's answers when there is nothing to run (security.limit_extensions, "Primary script unknown").
        if (!str_ends_with($script, '.php')) {
            http_response_code(403);
            echo "Access denied.\n";
            exit;
        }
        if (!is_file($script)) {
            http_response_code(404);
            echo "File not found.\n";
            exit;
        }
        if (!@chdir($cwd)) {
            error_log("php-zygote docroot: chdir($cwd) failed; the script runs in " . getcwd());
        }
        self::$script = $script;
    }

    /** The script docroot.php requires after begin(). */
    public static function script(): string
    {
        return self::$script;
    }

    /**
     * A request before this one ended without an answer (a fatal error in
     * a shutdown function, before end() ran): its job gets an error now,
     * rather than waiting for an answer that will never come. Its output
     * is lost with the request.
     */
    private static function answerPendingJob(\Socket $channel): void
    {
        $pending = RequestLoop::pendingJob();
        if ($pending === null) {
            return;
        }
        RequestLoop::jobAnswered();
        fwrite(\Zygote\Runtime::stderr(), 'php-zygote worker ' . getmypid() . ": a request ended without an answer (a fatal error in a shutdown function?); its job gets an error\n");
        (new \Zygote\Channel($channel, \Zygote\Zygote::maxFrameSize()))->write($pending, \Zygote\Frame::ERROR, [
            'class' => 'Zygote\\Classic\\UnansweredRequest',
            'message' => 'the request ended without an answer: a fatal error or exit() in its shutdown, before php-zygote could answer',
            'file' => '',
            'line' => 0,
            'trace' => '',
        ], '');
    }

    /**
     * The temp files become this request's uploads for is_uploaded_file()
     * and move_uploaded_file() (and PHP unlinks those left at shutdown).
     * If PHP's list cannot be reached safely, $_FILES stays filled but
     * those functions say false: one log line says why.
     */
    private static function registerUploads(MultipartForm $form): void
    {
        $paths = $form->uploadedPaths();
        if ($paths === []) {
            return;
        }
        try {
            UploadRegistry::open()->register($paths);
        } catch (SapiMismatchException $e) {
            error_log('php-zygote docroot: uploads are in $_FILES, but is_uploaded_file() and move_uploaded_file() will refuse them: ' . $e->getMessage());
        }
    }

    private static function refuse(string $why): never
    {
        fwrite(\Zygote\Runtime::stderr(), "php-zygote docroot: $why\n");
        exit(SapiMismatchException::EXIT_CODE);
    }
}
