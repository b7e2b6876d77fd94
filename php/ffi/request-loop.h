#define FFI_SCOPE "zygote_request_loop"
/*
 * src-native/php-request-loop.c, the request loop of reused docroot
 * workers (php/src/Classic/RequestLoop.php). This file has no FFI_LIB:
 * the library is wherever the package is installed, so the Node side
 * writes a copy with the library's absolute path as its second line
 * (lib/http/docroot/reuse-preload.ts) for ffi.preload. Without that
 * copy, RequestLoop parses these declarations with FFI::cdef() in every
 * request.
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
