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
 *           → shutdown functions → end(): final frame, wait for Node
 *
 * With reused workers (PHP_ZYGOTE_DOCROOT_REUSE=1, php-fpm's model: many
 * requests per worker, PHP's own request shutdown between them):
 *
 *   master: prepareMaster() → afterBoot() → forkPerWorker() → serveRequests()
 *   worker: php/docroot-request.php as a fresh PHP request per job:
 *           beginNext() → require bootFile() → require script() → ...
 *           → end(): final frame → PHP's request shutdown → next request
 */
final class Docroot
{
    private static ?Sapi $sapi = null;
    private static ?WebIni $ini = null;
    private static ?Job $job = null;
    private static ?ResponseOutput $output = null;
    private static string $script = '';
    private static bool $finished = false;
    private static bool $ending = false;
    private const STEP_DESTRUCTORS = 0;
    private const STEP_BUFFERS = 1;
    private const STEP_SESSION = 2;
    private const STEPS = 4; // the last one answers
    /** The next step of end() to begin (runEndSteps()). */
    private static int $step = 0;
    /** The output buffer level whose flush was begun last. */
    private static int $flushedLevel = -1;
    /** How often a continuation waited for newer objects. */
    private static int $postponed = 0;
    /** @var list<EndContinuation> kept until PHP's destructor pass reaches them */
    private static array $continuations = [];
    /** The process that serves the request: a child the script forks (pcntl_fork()) must never answer it. */
    private static int $pid = 0;
    /** Ends the request from PHP's destructor phase if no shutdown function could (see begin()). */
    private static ?object $guard = null;

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
        self::$ini = WebIni::fromCommandLine();
        if (self::reusesWorkers()) {
            try {
                RequestLoop::open();
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
        self::$sapi = Sapi::open();
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
        self::$ini = WebIni::fromCommandLine();
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
        self::$job = $job;
        self::$pid = getmypid();
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
            self::answered();
            if (!self::reusesWorkers()) {
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
        self::$output = $output;
        self::$sapi->capture($output->write(...), $output->flush(...), $job->body);
        header_remove();
        http_response_code(200); // the CLI starts at 0: http_response_code() would be false
        error_clear_last();
        RequestGlobals::fill($server, $decoded, $job->body, $form);
        if ($form !== null) {
            self::registerUploads($form);
        }
        unset($GLOBALS['argv'], $GLOBALS['argc']); // php-fpm has neither
        register_shutdown_function([self::class, 'shutdown']);
        // exit() in a shutdown function ends PHP's shutdown functions, end()
        // among them; destructors still run, so this one ends the request.
        self::$guard = new class () {
            public function __destruct()
            {
                Docroot::end();
            }
        };
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

    /**
     * php-fpm's fastcgi_finish_request(), which the CLI lacks
     * (php/docroot-functions.php declares it): every output buffer is
     * flushed, the headers and the whole response go to the client now,
     * and the script goes on without it (later output is dropped), as
     * Symfony's Response::send() and WordPress's wp-cron.php expect. The
     * worker is busy until the script ends. False when there is no
     * request to finish, or it was finished already.
     */
    public static function finishRequest(): bool
    {
        if (self::$job === null || self::$output === null || self::$finished || self::isForkedChild()) {
            return false;
        }
        self::$finished = true;
        while (ob_get_level() > 0 && @ob_end_flush()) {
        }
        if (!headers_sent()) {
            self::$sapi->sendHeaders();
        }
        try {
            self::$output->close();
        } catch (\Throwable $e) {
            fwrite(\Zygote\Runtime::stderr(), 'php-zygote docroot: the response could not be sent: ' . $e->getMessage() . "\n");
        }
        self::answered();
        return true;
    }

    /** The script docroot.php requires after begin(). */
    public static function script(): string
    {
        return self::$script;
    }

    /**
     * @internal First shutdown function of the request: registers end()
     * from within the shutdown phase, so it runs after the shutdown
     * functions the script registered (they may still print or send
     * headers, as WordPress's shutdown hooks do).
     */
    public static function shutdown(): void
    {
        register_shutdown_function([self::class, 'end']);
    }

    /**
     * @internal The end of the request, however it ended (return, exit(),
     * die(), an uncaught exception or a fatal error, which PHP itself has
     * already turned into status 500 when no output was sent yet, as
     * under php-fpm with display_errors off).
     */
    public static function end(): void
    {
        if (self::$job === null || self::$output === null || self::$ending) {
            return;
        }
        if (self::isForkedChild()) {
            // The script forked and this child's copy of the request is
            // over (its shutdown functions ran). The job is the parent's:
            // the child ends here, without destructors, session write or
            // answer, rather than answer in the parent's place or (reused
            // workers) go on to read the parent's next job.
            self::$sapi->hardExit(0);
        }
        self::$ending = true;
        self::runEndSteps();
    }

    /**
     * @internal The rest of end(), from a continuation's destructor (see
     * runEndSteps()): only once it is the newest object, as PHP's
     * destructor pass (which never reuses a slot) reaches objects in the
     * order they were made: every destructor before it has run then.
     */
    public static function resumeEnd(object $continuation): void
    {
        if (self::$job === null || !self::$ending || self::$step >= self::STEPS || self::isForkedChild()) {
            return;
        }
        $probe = new \stdClass();
        $newest = spl_object_id($probe) === spl_object_id($continuation) + 1;
        unset($probe);
        if (!$newest && ++self::$postponed < 10_000) {
            self::$continuations[] = new EndContinuation(); // after the objects made since
            return;
        }
        self::runEndSteps();
    }

    /**
     * The steps of the request's end, each begun once: the destructors,
     * the output buffers (one at a time), the session, the answer. Each
     * step may run the script's code (a destructor, a buffer's callback, a
     * session handler), and exit() there ends this method as it ends
     * everything PHP code is running; so before each step an object is
     * made whose destructor goes on with the next one (resumeEnd()). PHP
     * calls it in its destructor pass, which goes on after an exit(): the
     * one end() runs in the first step, or PHP's own at the request's
     * shutdown. Without exit(), the steps run to the end here (from the
     * first continuation PHP reaches in the destructors step) and the
     * later continuations find nothing left to do.
     */
    private static function runEndSteps(): void
    {
        while (self::$step < self::STEPS) {
            self::$continuations[] = new EndContinuation();
            if (self::$step === self::STEP_BUFFERS) {
                // The buffers still open are flushed to the client, as PHP
                // does at the end of a request. One that refuses to be
                // removed stays; an exit() in a callback loses its buffer only.
                $level = ob_get_level();
                if ($level > 0 && $level !== self::$flushedLevel) {
                    self::$flushedLevel = $level;
                    try {
                        @ob_end_flush();
                    } catch (\Throwable $e) {
                        self::uncaught($e, true);
                    }
                    continue;
                }
                self::$step++;
                continue;
            }
            $step = self::$step++;
            if ($step === self::STEP_DESTRUCTORS) {
                self::destroyGlobals();
            } elseif ($step === self::STEP_SESSION) {
                // Before the answer: php-fpm writes the session before the
                // request ends, and the client's next request may come at once.
                try {
                    if (session_status() === PHP_SESSION_ACTIVE) {
                        session_write_close();
                    }
                } catch (\Throwable $e) {
                    self::uncaught($e, false); // php-fpm writes it after the response has gone
                }
            } else {
                self::answer();
            }
        }
    }

    /** The last step of end(): the final frame; a fresh fork then ends. */
    private static function answer(): void
    {
        if (!headers_sent()) {
            self::$sapi->sendHeaders();
        }
        try {
            self::$output->finish();
        } catch (\Throwable $e) {
            fwrite(\Zygote\Runtime::stderr(), 'php-zygote docroot: the response could not be sent: ' . $e->getMessage() . "\n");
        }
        self::answered();
        self::$sapi->release();
        set_time_limit(0);
        $job = self::$job;
        self::$job = null;
        if (self::reusesWorkers()) {
            // PHP's request shutdown goes on (destructors of what is left,
            // freeing the request), then the next request reads its job.
            return;
        }
        $job->awaitChannelEnd();
        // The request is over and answered, and this fork will never serve
        // another. PHP's own shutdown from here on (freeing every request
        // and persistent structure, unloading extensions) only writes to
        // memory shared copy-on-write with the master: measured on
        // DokuWiki, most of a request's page faults and much of its CPU.
        // The kernel frees it all at once instead. The status is PHP's for
        // a fatal error (255); that of exit(N) is not visible from here.
        $error = error_get_last();
        $fatal = $error !== null && ($error['type'] & (E_ERROR | E_CORE_ERROR | E_COMPILE_ERROR | E_USER_ERROR | E_RECOVERABLE_ERROR | E_PARSE)) !== 0;
        self::$sapi->hardExit($fatal ? 255 : 0);
    }

    /**
     * An exception thrown by the script's code at the request's end, as
     * PHP reports it uncaught: logged and, when the status can still
     * change, a 500, as php-fpm with display_errors off.
     */
    private static function uncaught(\Throwable $e, bool $status): void
    {
        error_log('PHP Fatal error:  Uncaught ' . $e);
        if ($status && !headers_sent() && http_response_code() === 200) {
            http_response_code(500);
        }
    }

    /** Whether this is a child the script forked during the request (pcntl_fork()), not the worker. */
    private static function isForkedChild(): bool
    {
        return self::$pid !== 0 && getmypid() !== self::$pid;
    }

    /** The job has its final frame: nothing is left for the next request to answer. */
    private static function answered(): void
    {
        if (self::reusesWorkers()) {
            RequestLoop::jobAnswered();
        }
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
     * The destructors of the request's objects, before its answer, as
     * PHP's own request shutdown runs them after the shutdown functions
     * and before the output ends (zend_call_destructors): their output is
     * part of the response, as under php-fpm. With a fresh fork per
     * request this is the only time they run (the process then ends with
     * _exit(), see end()); a reused worker's own shutdown finds them done.
     */
    private static function destroyGlobals(): void
    {
        try {
            self::$sapi->callDestructors();
        } catch (\Throwable $e) {
            // A destructor threw: PHP's own shutdown would report it as uncaught.
            error_log('PHP Fatal error:  Uncaught ' . $e);
        }
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
