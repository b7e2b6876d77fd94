#define FFI_SCOPE "zygote_sapi"
/*
 * The CLI SAPI's sapi_module and the engine functions docroot mode calls
 * (php/src/Classic/Sapi.php says slot by slot what each word is, and how
 * the layout is verified before anything is written). Reused docroot
 * workers preload it (ffi.preload) as a scope that lives as long as the
 * process; elsewhere FFI::cdef() parses it (php/src/Classic/FfiScope.php).
 */

typedef struct { uintptr_t slot[16]; } zygote_sapi_words;
typedef struct {
    const char *name;
    const char *pretty_name;
    void *startup;
    void *shutdown;
    void *activate;
    void *deactivate;
    size_t (*ub_write)(const void *str, size_t str_length);
    void (*flush)(void *server_context);
    void *get_stat;
    void *getenv;
    void *sapi_error;
    void *header_handler;
    void *send_headers;
    void *send_header;
    size_t (*read_post)(void *buffer, size_t count_bytes);
    void *read_cookies;
} zygote_sapi_hooks;
typedef struct { uintptr_t slot[30]; } zygote_sapi_words30;
typedef struct {
    void *before[29];
    unsigned int (*input_filter)(int arg, const char *var, char **val, size_t val_len, size_t *new_val_len);
} zygote_sapi_filter_view;
extern zygote_sapi_hooks sapi_module;
extern char php_default_post_reader;
extern char zend_error;
int sapi_send_headers(void);
void zend_call_destructors(void);
void _exit(int status);
