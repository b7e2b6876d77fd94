/*
 * PCRE's module globals up to the flag the request loop needs (ext/pcre's
 * zend_pcre_globals in PHP 8.1 to 8.4, 64-bit): the regex cache (a
 * HashTable, 56 bytes), backtrack_limit and recursion_limit (zend_long),
 * then the bools jit and per_request_cache. RequestLoop::pcreCache()
 * checks each field against the ini value it holds before use, once per
 * worker.
 */

typedef struct {
    unsigned char cache[56];
    int64_t backtrack_limit;
    int64_t recursion_limit;
    unsigned char jit;
    unsigned char per_request_cache;
} zygote_pcre_globals;
extern zygote_pcre_globals pcre_globals;
