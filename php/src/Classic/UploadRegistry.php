<?php

declare(strict_types=1);

namespace Zygote\Classic;

/**
 * PHP's own list of this request's uploads, `SG(rfc1867_uploaded_files)`
 * (a HashTable* in `sapi_globals`, main/SAPI.h), filled through FFI with
 * the temp files the HTTP front wrote: is_uploaded_file() and
 * move_uploaded_file() accept a path only if it is a key there, and the
 * CLI never fills it.
 *
 * The struct, as in main/SAPI.h of PHP 8.1, 8.2 (php8.2-dev), 8.3 and 8.4
 * (8.4 only appends request_parse_body_context at the end):
 *
 *   void *server_context;
 *   sapi_request_info request_info;            pointers, ints, bools: declared below
 *   sapi_headers_struct sapi_headers;          zend_llist, then int http_response_code
 *   int64_t read_post_bytes;
 *   unsigned char post_read, headers_sent;
 *   zend_stat_t global_stat;                   struct stat: 144 bytes on x86_64, 128 on aarch64
 *   char *default_mimetype, *default_charset;
 *   HashTable *rfc1867_uploaded_files;         ← written here
 *   zend_long post_max_size;
 *   int options; bool sapi_started; ...
 *
 * Nothing is written unless the layout proves itself at run time:
 * http_response_code() set to two values must read back at the declared
 * `sapi_headers.http_response_code` (this pins everything before
 * global_stat), and after global_stat `post_max_size` must equal the ini
 * value, the list pointer must be NULL (no upload registered yet) and
 * `sapi_started` true (this pins the tail). A ZTS build has no
 * `sapi_globals` symbol and is refused the same way.
 *
 * At request shutdown PHP destroys the list itself
 * (sapi_deactivate_destroy → destroy_uploaded_files_hash): it unlinks
 * every file still in it, then frees the table. We let it, as php-fpm
 * does: the values are therefore real zend_strings (PHP reads each with
 * Z_STR_P), immutable persistent ones that no destructor touches, and
 * the table comes from PHP's own _zend_new_array() so that PHP's
 * FREE_HASHTABLE (efree) matches. Node removes the request's directory
 * once the job settled and tolerates files already gone. Clearing the
 * pointer in RequestEnd::end() instead would leave a table with invalid
 * values whenever end() does not run (a shutdown function that calls
 * exit() stops the later ones), and PHP would then read garbage.
 */
final class UploadRegistry
{
    private const CDEF = <<<'C'
        typedef struct { void *head; void *tail; size_t count; size_t size; void *dtor; unsigned char persistent; void *traverse_ptr; } zygote_llist;
        typedef struct {
            const char *request_method;
            char *query_string;
            char *cookie_data;
            int64_t content_length;
            char *path_translated;
            char *request_uri;
            void *request_body;
            const char *content_type;
            bool headers_only;
            bool no_headers;
            bool headers_read;
            void *post_entry;
            char *content_type_dup;
            char *auth_user;
            char *auth_password;
            char *auth_digest;
            char *argv0;
            char *current_user;
            int current_user_length;
            int argc;
            char **argv;
            int proto_num;
        } zygote_request_info;
        typedef struct {
            zygote_llist headers;
            int http_response_code;
            unsigned char send_default_content_type;
            char *mimetype;
            char *http_status_line;
        } zygote_sapi_headers;
        typedef struct {
            void *server_context;
            zygote_request_info request_info;
            zygote_sapi_headers sapi_headers;
            int64_t read_post_bytes;
            unsigned char post_read;
            unsigned char headers_sent;
        } zygote_sg_head;
        typedef struct {
            char *default_mimetype;
            char *default_charset;
            void *rfc1867_uploaded_files;
            int64_t post_max_size;
            int options;
            bool sapi_started;
        } zygote_sg_tail;
        typedef struct { uint32_t refcount; uint32_t type_info; uint64_t h; size_t len; char val[1]; } zygote_string;
        typedef struct { void *value; uint32_t type_info; uint32_t extra; } zygote_zval;
        extern zygote_sg_head sapi_globals;
        void *_zend_new_array(uint32_t size);
        void *zend_hash_str_add(void *ht, const char *key, size_t len, zygote_zval *data);
        C;

    /** sizeof(struct stat) (zend_stat_t on Linux) per machine, from glibc's bits/struct_stat.h. */
    private const STAT_SIZE = ['x86_64' => 144, 'aarch64' => 128];

    /** zval and zend_string type bits (Zend/zend_types.h, unchanged 8.1-8.4). */
    private const IS_STRING = 6;
    /** GC_NOT_COLLECTABLE | IS_STR_INTERNED | IS_STR_PERSISTENT: a string no one refcounts or frees. */
    private const STRING_FLAGS = (1 << 4) | (1 << 6) | (1 << 7);

    private function __construct(private readonly \FFI $ffi, private readonly \FFI\CData $tail)
    {
    }

    /**
     * Opens and verifies the layout (see the class comment); sets
     * http_response_code() to 200 on the way.
     *
     * @throws SapiMismatchException saying what could not be verified
     */
    public static function open(): self
    {
        if (PHP_VERSION_ID < 80100 || PHP_VERSION_ID >= 80500) {
            throw new SapiMismatchException('PHP ' . PHP_VERSION . ': the layout of sapi_globals is verified for PHP 8.1 to 8.4 only');
        }
        if (PHP_ZTS) {
            throw new SapiMismatchException('a thread-safe (ZTS) PHP keeps sapi_globals per thread, not in the sapi_globals symbol');
        }
        $statSize = self::STAT_SIZE[php_uname('m')] ?? null;
        if ($statSize === null) {
            throw new SapiMismatchException('the size of struct stat on ' . php_uname('m') . ' is not known here (x86_64 and aarch64 are)');
        }
        if (headers_sent()) {
            throw new SapiMismatchException('headers were already sent, so http_response_code() cannot be used to verify the layout');
        }
        try {
            $ffi = \FFI::cdef(self::CDEF);
        } catch (\FFI\Exception $e) {
            throw new SapiMismatchException('sapi_globals or the hash functions are not reachable through FFI: ' . $e->getMessage(), $e);
        }
        $head = $ffi->sapi_globals;
        foreach ([599, 200] as $code) {
            http_response_code($code);
            if ($head->sapi_headers->http_response_code !== $code) {
                throw new SapiMismatchException("http_response_code($code) does not read back at sapi_globals.sapi_headers.http_response_code: the struct layout differs");
            }
        }
        $at = \FFI::cast('char *', \FFI::addr($head)) + \FFI::sizeof($ffi->type('zygote_sg_head')) + $statSize;
        $tail = $ffi->cast('zygote_sg_tail *', $at)[0];
        $postMaxSize = RequestGlobals::bytes((string) ini_get('post_max_size'));
        if ($tail->post_max_size !== $postMaxSize) {
            throw new SapiMismatchException("sapi_globals.post_max_size reads {$tail->post_max_size}, not post_max_size's $postMaxSize: the struct layout differs");
        }
        if (!\FFI::isNull($tail->rfc1867_uploaded_files)) {
            throw new SapiMismatchException('sapi_globals.rfc1867_uploaded_files is not NULL before any upload: the struct layout differs');
        }
        if ($tail->sapi_started !== true) {
            throw new SapiMismatchException('sapi_globals.sapi_started is not true during a request: the struct layout differs');
        }
        return new self($ffi, $tail);
    }

    /**
     * Makes these paths uploads of this request, for is_uploaded_file()
     * and move_uploaded_file(), and for PHP's unlinking at shutdown.
     *
     * @param list<string> $paths
     */
    public function register(array $paths): void
    {
        if ($paths === []) {
            return; // PHP leaves the list NULL when nothing was uploaded
        }
        $table = $this->ffi->_zend_new_array(8);
        $value = $this->ffi->new('zygote_zval');
        foreach ($paths as $path) {
            $value->value = $this->persistentString($path);
            $value->type_info = self::IS_STRING; // not refcounted: zval_ptr_dtor() leaves it alone
            $this->ffi->zend_hash_str_add($table, $path, strlen($path), \FFI::addr($value));
        }
        $this->tail->rfc1867_uploaded_files = $table;
    }

    /** A zend_string in malloc'd memory that lives until the process ends (after PHP's shutdown has read it). */
    private function persistentString(string $bytes): \FFI\CData
    {
        $length = strlen($bytes);
        // zend_string: gc (8), h (8), len (8), then the bytes and a NUL.
        $memory = \FFI::new('char[' . (24 + $length + 1) . ']', false, true);
        \FFI::memset($memory, 0, 24 + $length + 1);
        $string = $this->ffi->cast('zygote_string *', \FFI::addr($memory));
        $string->refcount = 1;
        $string->type_info = self::IS_STRING | self::STRING_FLAGS;
        $string->len = $length;
        \FFI::memcpy(\FFI::addr($string->val), $bytes, $length);
        return $this->ffi->cast('void *', $string);
    }
}
