/*
 * src-native/php-request-loop.c, the request loop of reused docroot
 * workers (php/src/Classic/RequestLoop.php), parsed with FFI::cdef() once
 * per request. Not preloaded: ffi.preload would need the library's path
 * in an FFI_LIB line, and that path is wherever the package is installed.
 */

int zygote_keep_channel(int fd);
int zygote_kept_channel(void);
int zygote_cloexec_from(int low);
int zygote_request_loop(const char *script, void *pcre_cache, unsigned char *per_request_cache);
int zygote_keep_sapi(uintptr_t *words, int count);
int zygote_keep_state(const char *bytes, size_t length);
const char *zygote_kept_state(void);
int zygote_set_params(const char *bytes, size_t length);
int zygote_hook_getenv(uintptr_t *words, int slot);
void zygote_job_begin(long long id);
void zygote_job_end(void);
long long zygote_job_pending(void);
