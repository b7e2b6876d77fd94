<?php

declare(strict_types=1);

namespace Zygote\Classic;

/**
 * Makes the CLI SAPI behave like a web SAPI for one request, through FFI
 * on PHP's own `sapi_module` (main/SAPI.h): the hooks a web SAPI fills in
 * and the CLI leaves empty or stubbed.
 *
 *   slot  field            CLI value                    docroot mode
 *   0     name             "cli"                        checked
 *   1     pretty_name      "Command Line Interface"     checked
 *   4     activate         NULL                         checked
 *   6     ub_write         writes to fd 1               the response body (per request)
 *   7     flush            fflush(stdout)               flush(): a streamed part (per request)
 *   8,9   get_stat, getenv NULL                         checked
 *   10    sapi_error       php_error (= zend_error)     checked against the symbol's address
 *   11    header_handler   drops every header           NULL (once, in the master): headers are kept
 *   12,13 send_headers/_header  no-ops                  checked non-NULL
 *   14    read_post        NULL                         php://input reads the job body (per request)
 *   15    read_cookies     returns NULL                 checked non-NULL
 *
 * Layout: every field up to read_post is pointer-sized, in this order,
 * from PHP 7.0 through 8.4 (main/SAPI.h of 8.1, 8.2, 8.3 and 8.4; 8.2's
 * as installed by php8.2-dev). php-src's master adds `child_startup`
 * after `shutdown` (PR 13551), which would move every slot from 4 on by
 * one: slot 10 then holds getenv (NULL), not zend_error, so the check
 * below refuses it instead of writing to the wrong field. Nothing is
 * written unless the whole fingerprint matches: any mismatch is a
 * SapiMismatchException naming what differs.
 *
 * Callbacks run PHP code from inside the engine: they must never throw
 * (FFI turns that into a fatal error), and they are released (the CLI's
 * own pointers put back) before the request's shutdown goes further
 * than the shutdown functions, so no C code calls a closure that PHP has
 * already freed.
 */
final class Sapi
{
    private const SLOT_NAME = 0;
    private const SLOT_PRETTY_NAME = 1;
    private const SLOT_ACTIVATE = 4;
    private const SLOT_UB_WRITE = 6;
    private const SLOT_FLUSH = 7;
    private const SLOT_GET_STAT = 8;
    public const SLOT_GETENV = 9;
    private const SLOT_SAPI_ERROR = 10;
    private const SLOT_HEADER_HANDLER = 11;
    private const SLOT_SEND_HEADERS = 12;
    private const SLOT_SEND_HEADER = 13;
    private const SLOT_READ_POST = 14;
    private const SLOT_READ_COOKIES = 15;

    /** The C declarations: php/ffi/sapi.h. */
    private const HEADER = 'sapi.h';

    /** @var array<int, int> original pointers of the slots this request replaced */
    private array $saved = [];

    /** @var list<\Closure> kept alive while C holds them */
    private array $callbacks = [];

    private function __construct(
        private readonly \FFI $ffi,
        /** Raw view: each slot as an integer, for checks and restores. */
        private readonly \FFI\CData $words,
        /** Typed view: the same memory, with function-pointer slots PHP closures can be assigned to. */
        private readonly \FFI\CData $hooks,
    ) {
    }

    /**
     * Opens sapi_module through FFI and checks that it is the CLI's, laid
     * out as above. Writes nothing.
     *
     * @throws SapiMismatchException naming what is missing or different
     */
    public static function open(): self
    {
        if (PHP_VERSION_ID < 80100 || PHP_VERSION_ID >= 80500) {
            throw new SapiMismatchException('PHP ' . PHP_VERSION . ': the layout of sapi_module_struct is verified for PHP 8.1 to 8.4 only');
        }
        if (PHP_SAPI !== 'cli') {
            throw new SapiMismatchException('the ' . PHP_SAPI . ' SAPI: docroot mode patches the CLI SAPI only (run the master with the php CLI binary)');
        }
        if (!extension_loaded('ffi')) {
            throw new SapiMismatchException('the FFI extension is missing from ' . PHP_BINARY . ' (Debian/Ubuntu: apt-get install php-cli; elsewhere extension=ffi)');
        }
        try {
            $ffi = FfiScope::open('zygote_sapi', self::HEADER);
        } catch (\FFI\Exception $e) {
            // ffi.enable=0 lands here ("restricted by ffi.enable").
            throw new SapiMismatchException('FFI is not usable (' . $e->getMessage() . '; ffi.enable is ' . var_export(ini_get('ffi.enable'), true) . ', docroot mode needs "preload" or "1")', $e);
        }
        // One declarator per field: the FFI parser has read "void *a, *b"
        // with the second one not a pointer, which would shift the slots.
        if (\FFI::sizeof($ffi->type('zygote_sapi_hooks')) !== \FFI::sizeof($ffi->type('zygote_sapi_words'))) {
            throw new SapiMismatchException('the FFI declaration of sapi_module does not have 16 pointer-sized slots');
        }
        $sapi = self::over($ffi);
        $sapi->verify();
        return $sapi;
    }

    /**
     * In a request of a reused worker: the module the master verified
     * with open() (this is the same process image), without checking it
     * again; the words the request loop puts back after every request
     * keep it as the master left it.
     */
    public static function reopen(): self
    {
        return self::over(FfiScope::open('zygote_sapi', self::HEADER));
    }

    private static function over(\FFI $ffi): self
    {
        $hooks = $ffi->sapi_module;
        return new self($ffi, $ffi->cast('zygote_sapi_words *', \FFI::addr($hooks))[0], $hooks);
    }

    private function verify(): void
    {
        $w = $this->words->slot;
        $name = $w[self::SLOT_NAME] === 0 ? null : \FFI::string($this->hooks->name);
        $pretty = $w[self::SLOT_PRETTY_NAME] === 0 ? null : \FFI::string($this->hooks->pretty_name);
        if ($name !== 'cli' || $pretty !== 'Command Line Interface') {
            throw new SapiMismatchException('sapi_module does not read as the CLI\'s through the known layout (name ' . var_export($name, true) . ', pretty_name ' . var_export($pretty, true) . ')');
        }
        $zendError = \FFI::cast('uintptr_t', \FFI::addr($this->ffi->zend_error))->cdata;
        if ($w[self::SLOT_SAPI_ERROR] !== $zendError) {
            throw new SapiMismatchException('sapi_module.sapi_error is not zend_error at the expected offset: the struct layout differs from PHP 8.1-8.4\'s');
        }
        $null = [self::SLOT_ACTIVATE => 'activate', self::SLOT_GET_STAT => 'get_stat', self::SLOT_GETENV => 'getenv', self::SLOT_READ_POST => 'read_post'];
        $set = [self::SLOT_UB_WRITE => 'ub_write', self::SLOT_FLUSH => 'flush', self::SLOT_SEND_HEADERS => 'send_headers', self::SLOT_SEND_HEADER => 'send_header', self::SLOT_READ_COOKIES => 'read_cookies'];
        foreach ($null as $slot => $field) {
            if ($w[$slot] !== 0) {
                throw new SapiMismatchException("sapi_module.$field is set where the CLI leaves it NULL: the struct layout differs");
            }
        }
        foreach ($set as $slot => $field) {
            if ($w[$slot] === 0) {
                throw new SapiMismatchException("sapi_module.$field is NULL where the CLI sets it: the struct layout differs");
            }
        }
        // header_handler is the CLI's or already NULL (a fork of a master that cleared it).
    }

    /**
     * The SAPI's input filter (slot 29: ext/filter's php_sapi_filter when
     * filter is loaded), which PHP's request startup calls for every GET,
     * POST and COOKIE variable it registers; filter_input() reads what it
     * keeps. Null when the module's tail does not read as PHP 8.1-8.4's
     * after start-up: default_post_reader (21) is php_default_post_reader,
     * the two ints php_ini_ignore(_cwd) (24) are 0 or 1, get_fd,
     * force_http_10 and get_target_uid/gid (25-28) are NULL as the CLI
     * leaves them, and the filter is set. Calls nothing on a mismatch.
     *
     * @return (\Closure(int, string, string): void)|null arg (PARSE_POST 0, PARSE_GET 1, PARSE_COOKIE 2), name, value
     */
    public function inputFilter(): ?\Closure
    {
        $words = $this->ffi->cast('zygote_sapi_words30 *', \FFI::addr($this->hooks))[0]->slot;
        $postReader = \FFI::cast('uintptr_t', \FFI::addr($this->ffi->php_default_post_reader))->cdata;
        $ints = $words[24];
        $matches = $words[21] === $postReader
            && in_array($ints & 0xffffffff, [0, 1], true) && in_array($ints >> 32, [0, 1], true)
            && $words[25] === 0 && $words[26] === 0 && $words[27] === 0 && $words[28] === 0
            && $words[29] !== 0;
        if (!$matches) {
            return null;
        }
        $filter = $this->ffi->cast('zygote_sapi_filter_view *', \FFI::addr($this->hooks))[0]->input_filter;
        return static function (int $arg, string $name, string $value) use ($filter): void {
            // The filter copies both (it frees neither for these kinds):
            // PHP's own request startup passes its buffers the same way.
            $length = strlen($value);
            $bytes = \FFI::new('char[' . ($length + 1) . ']');
            \FFI::memcpy($bytes, $value . "\0", $length + 1);
            $pointer = \FFI::cast('char *', \FFI::addr($bytes[0]));
            $newLength = \FFI::new('size_t');
            $filter($arg, $name, \FFI::addr($pointer), $length, \FFI::addr($newLength));
        };
    }

    /** The module's first 16 words, for RequestLoop to put back after every request. */
    public function words(): \FFI\CData
    {
        return \FFI::addr($this->words->slot[0]);
    }

    public const WORDS = 16;

    /**
     * header(), setcookie(), session_start() and http_response_code()
     * then keep their headers in PHP's list (headers_list()) as under a
     * web SAPI. Done once in the master; forks inherit it.
     */
    public function keepHeaders(): void
    {
        $this->words->slot[self::SLOT_HEADER_HANDLER] = 0;
    }

    /**
     * For this request: output that reaches the SAPI goes to $write,
     * flush() calls $flush, and php://input reads $body.
     *
     * @param \Closure(string): void $write
     * @param \Closure(): void $flush
     */
    public function capture(\Closure $write, \Closure $flush, string $body): void
    {
        foreach ([self::SLOT_UB_WRITE, self::SLOT_FLUSH, self::SLOT_READ_POST] as $slot) {
            $this->saved[$slot] ??= $this->words->slot[$slot];
        }
        $offset = 0;
        $this->callbacks = [
            static function ($str, int $length) use ($write): int {
                try {
                    $write(\FFI::string($str, $length));
                } catch (\Throwable $e) {
                    // Throwing here would be fatal inside the engine.
                    error_log('php-zygote: output lost: ' . $e->getMessage());
                }
                return $length;
            },
            static function ($serverContext) use ($flush): void {
                try {
                    $flush();
                } catch (\Throwable $e) {
                    error_log('php-zygote: flush failed: ' . $e->getMessage());
                }
            },
            // sapi_read_post_block() calls this until it returns less than
            // asked; PHP keeps what it read, so php://input can be read
            // (and rewound) any number of times, as under php-fpm.
            static function ($buffer, int $count) use ($body, &$offset): int {
                $n = min($count, strlen($body) - $offset);
                if ($n <= 0) {
                    return 0;
                }
                \FFI::memcpy($buffer, substr($body, $offset, $n), $n);
                $offset += $n;
                return $n;
            },
        ];
        $this->hooks->ub_write = $this->callbacks[0];
        $this->hooks->flush = $this->callbacks[1];
        $this->hooks->read_post = $this->callbacks[2];
    }

    /** Puts the CLI's own pointers back: later output goes to the log again. */
    public function release(): void
    {
        foreach ($this->saved as $slot => $pointer) {
            $this->words->slot[$slot] = $pointer;
        }
        $this->saved = [];
        $this->callbacks = [];
    }

    /**
     * PHP's own sapi_send_headers(): adds the default Content-type, runs
     * header_register_callback() and marks the headers sent, exactly as
     * before a web SAPI's first byte of output.
     */
    public function sendHeaders(): void
    {
        $this->ffi->sapi_send_headers();
    }

    /**
     * PHP's own zend_call_destructors(), the second step of its request
     * shutdown: the global variables holding the last reference to an
     * object go (in reverse order), then every object still alive has its
     * destructor called (also those kept by a static property or a
     * cycle). PHP's shutdown then finds them destructed already.
     */
    public function callDestructors(): void
    {
        $this->ffi->zend_call_destructors();
    }

    /**
     * Ends this process at once, without shutdown functions or
     * destructors: for a helper fork of the master, which must not run
     * the boot code's shutdown work a second time.
     */
    public function hardExit(int $status): never
    {
        $this->ffi->_exit($status);
        exit($status); // not reached
    }
}
