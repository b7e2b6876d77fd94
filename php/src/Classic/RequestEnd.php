<?php

declare(strict_types=1);

namespace Zygote\Classic;

use Zygote\Job;

/**
 * How a docroot request ends, however it ends (return, exit(), die(), an
 * uncaught exception or a fatal error, fastcgi_finish_request()): the
 * script's destructors and output buffers, the session write, then the
 * answer to Node, in that order, as php-fpm ends a request. Armed by
 * Docroot::begin() for each request.
 *
 * The hard part is code of the script that runs during the end and
 * calls exit() (a destructor, a buffer's callback, a session handler, a
 * shutdown function): exit() ends whatever PHP code is running, this
 * class's own included. So the end runs in steps, each carried on by a
 * destructor if one is cut short (runEndSteps()), and a guard object ends
 * the request from PHP's destructor pass when no shutdown function could.
 */
final class RequestEnd
{
    private const STEP_DESTRUCTORS = 0;
    private const STEP_BUFFERS = 1;
    private const STEP_SESSION = 2;
    private const STEPS = 4; // the last one answers

    private static ?Job $job = null;
    private static ?ResponseOutput $output = null;
    private static ?Sapi $sapi = null;
    /** A reused worker: it answers and goes on to its next request, rather than wait for Node to close its channel and end. */
    private static bool $reused = false;
    private static bool $finished = false;
    private static bool $ending = false;
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
    /** Ends the request from PHP's destructor pass if no shutdown function could. */
    private static ?object $guard = null;

    /**
     * At the start of a request, once its output is captured: its first
     * shutdown function, and the guard.
     */
    public static function arm(Job $job, ResponseOutput $output, Sapi $sapi, bool $reused): void
    {
        self::$job = $job;
        self::$output = $output;
        self::$sapi = $sapi;
        self::$reused = $reused;
        self::$pid = getmypid();
        register_shutdown_function([self::class, 'shutdown']);
        // exit() in a shutdown function ends PHP's shutdown functions, end()
        // among them; destructors still run, so this one ends the request.
        self::$guard = new class () {
            public function __destruct()
            {
                RequestEnd::end();
            }
        };
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
    public static function finishEarly(): bool
    {
        if (self::$job === null || self::$output === null || self::$finished || self::isForkedChild()) {
            return false;
        }
        self::$finished = true;
        while (ob_get_level() > 0 && @ob_end_flush()) {
        }
        self::sendResponse(true);
        return true;
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
    public static function resume(object $continuation): void
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
     * made whose destructor goes on with the next one (resume()). PHP
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
                self::callDestructors();
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
        self::sendResponse(false);
        self::$sapi->release();
        set_time_limit(0);
        $job = self::$job;
        self::$job = null;
        if (self::$reused) {
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
     * The headers (PHP's own sapi_send_headers() if none went yet) and the
     * final frame; with $dropLater (fastcgi_finish_request()), what the
     * script prints afterwards goes nowhere.
     */
    private static function sendResponse(bool $dropLater): void
    {
        if (!headers_sent()) {
            self::$sapi->sendHeaders();
        }
        try {
            $dropLater ? self::$output->close() : self::$output->finish();
        } catch (\Throwable $e) {
            fwrite(\Zygote\Runtime::stderr(), 'php-zygote docroot: the response could not be sent: ' . $e->getMessage() . "\n");
        }
        self::answered();
    }

    /**
     * An exception thrown by the script's code at the request's end, as
     * PHP reports it uncaught: logged and, when the status can still
     * change, a 500, as php-fpm with display_errors off.
     */
    private static function uncaught(\Throwable $e, bool $status): void
    {
        error_log('PHP Fatal error:  Uncaught ' . $e);
        // PHP's own rule for a fatal error (main.c, php_error_cb): a 200
        // not sent yet becomes a 500, unless the error is displayed.
        if ($status && !self::displaysErrors() && !headers_sent() && http_response_code() === 200) {
            http_response_code(500);
        }
    }

    /** display_errors as PHP reads it (main.c, php_get_display_errors_mode). */
    private static function displaysErrors(): bool
    {
        $value = strtolower((string) ini_get('display_errors'));
        return in_array($value, ['on', 'yes', 'true', 'stdout', 'stderr'], true) || (int) $value !== 0;
    }

    /** Whether this is a child the script forked during the request (pcntl_fork()), not the worker. */
    private static function isForkedChild(): bool
    {
        return self::$pid !== 0 && getmypid() !== self::$pid;
    }

    /** The job has its final frame: nothing is left for the next request to answer. */
    private static function answered(): void
    {
        if (self::$reused) {
            RequestLoop::jobAnswered();
        }
    }

    /**
     * The destructors of the request's objects, before its answer, as
     * PHP's own request shutdown runs them after the shutdown functions
     * and before the output ends (zend_call_destructors): their output is
     * part of the response, as under php-fpm. With a fresh fork per
     * request this is the only time they run (the process then ends with
     * _exit(), see answer()); a reused worker's own shutdown finds them done.
     */
    private static function callDestructors(): void
    {
        try {
            self::$sapi->callDestructors();
        } catch (\Throwable $e) {
            // A destructor threw: PHP's own shutdown reports it as an
            // uncaught fatal error, and under php-fpm that turns a 200
            // still unsent into a 500. Here the answer has usually gone
            // already: the step's continuation, the newest object, had
            // its destructor called in the same pass and answered (PHP
            // holds the exception aside meanwhile, out of PHP's sight).
            self::uncaught($e, true);
        }
    }
}
