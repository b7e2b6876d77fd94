/*
 * The request loop of a reused docroot worker, loaded into PHP (not Node)
 * through FFI by php/src/Classic/RequestLoop.php.
 *
 * A PHP CLI process runs one request: its script. A worker that serves
 * many requests must end each one with PHP's own request shutdown
 * (shutdown functions, destructors, freeing every request structure,
 * undoing ini_set and declared functions and classes) and begin the next
 * with PHP's own request startup, as php-fpm does between requests. PHP
 * code cannot do that itself: the shutdown frees the very stack it runs
 * on. So PHP calls zygote_request_loop() once and it never returns: it
 * shuts the current request down (the C stack below stays, unused), then
 * runs the given script as a fresh request, again and again. The script
 * reads one job, runs it, and ends the process itself when Node closes
 * the channel.
 *
 * Linked with -z nodelete: the request shutdown unloads the FFI library
 * handle PHP holds, and this code must stay mapped while it runs.
 * The PHP functions it calls are exported by the php executable (the
 * same symbols every PHP extension links against); their signatures are
 * those of PHP 8.1 to 8.4.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern int php_request_startup(void);
extern void php_request_shutdown(void *dummy);
extern void zend_stream_init_filename(void *handle, const char *filename);
extern void zend_destroy_file_handle(void *handle);
extern _Bool php_execute_script(void *primary_file);
/* ZEND_FASTCALL is empty on x86-64 and arm64. */
extern void _zend_hash_init(void *ht, unsigned size, void (*destructor)(void *), _Bool persistent);

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* zend_file_handle is 80 bytes in PHP 8.1-8.4; this is room for it. */
typedef struct {
  _Alignas(16) unsigned char bytes[256];
} file_handle_space;

static int kept_channel = -1;
/* The worker's own pid, taken when it keeps its channel: a process that a
   script forked (pcntl_fork) runs the rest of its request in a copy of
   this loop, and must end there instead of reading the worker's jobs. */
static pid_t worker_pid = 0;
static char script_path[4096];

/* The SAPI module's hooks as the master left them, put back after every
   request: a request that ended before it could undo its own hooks (a
   fatal error or exit() in a shutdown function) would otherwise leave
   pointers to PHP closures its shutdown has freed. */
static uintptr_t *sapi_words = NULL;
static uintptr_t sapi_saved[32];
static size_t sapi_count = 0;

/* The job of the request in progress, until it is answered: a request
   that ended without answering leaves it here for the next request to
   answer with an error, so that no job waits for an answer forever. */
static long long pending_job = -1;

/* Whether the request in progress took a job. Every request of the loop
   reads one job before anything else (or ends the process when Node
   closed the channel); one that ended without a job failed in the
   runtime itself (a broken installation, an error before the job was
   read), and every later request would fail the same way at once: the
   worker ends instead of spinning, and Node replaces it (its crash-loop
   guard stops replacing a worker that keeps failing). */
static int job_taken = 0;

int zygote_keep_sapi(uintptr_t *words, int count) {
  if (words == NULL || count <= 0 || (size_t)count > sizeof sapi_saved / sizeof *sapi_saved) return -1;
  memcpy(sapi_saved, words, (size_t)count * sizeof *words);
  sapi_words = words;
  sapi_count = (size_t)count;
  return 0;
}

/* Text (no NUL) the worker computed once (in the master, before its
   first request ended) and reads again at the start of every request,
   when PHP has freed everything the request before held: see
   RequestLoop::keep(). */
static char *kept_state = NULL;

int zygote_keep_state(const char *bytes, size_t length) {
  char *copy = malloc(length + 1);
  if (copy == NULL) return -1;
  memcpy(copy, bytes, length);
  copy[length] = '\0';
  free(kept_state);
  kept_state = copy;
  return 0;
}

/* NUL-terminated (PHP's FFI makes it a string up to the NUL), or NULL. */
const char *zygote_kept_state(void) { return kept_state; }

/* The request's CGI variables as "NAME=VALUE\0" one after another, for
   getenv(): what php-fpm's SAPI getenv hook answers from the FastCGI
   parameters. Emptied between requests. */
static char *params = NULL;
static size_t params_length = 0;
static size_t params_capacity = 0;

int zygote_set_params(const char *bytes, size_t length) {
  if (length > params_capacity) {
    char *grown = realloc(params, length);
    if (grown == NULL) return -1;
    params = grown;
    params_capacity = length;
  }
  if (length > 0) memcpy(params, bytes, length); /* params is NULL until the first non-empty set */
  params_length = length;
  return 0;
}

/* One "NAME=VALUE" of the parameters; the value ends with a NUL. */
typedef struct {
  const char *name;
  size_t name_length;
  const char *value;
  size_t value_length;
} param;

/* The parameter at *at, moving *at past it: 1, or 0 after the last. An
   entry without a name before its "=" is skipped (RequestLoop packs
   none). */
static int next_param(size_t *at, param *out) {
  while (*at < params_length) {
    const char *entry = params + *at;
    size_t entry_length = strnlen(entry, params_length - *at);
    *at += entry_length + 1;
    const char *equals = memchr(entry, '=', entry_length);
    if (equals == NULL || equals == entry) continue;
    out->name = entry;
    out->name_length = (size_t)(equals - entry);
    out->value = equals + 1;
    out->value_length = entry_length - out->name_length - 1;
    return 1;
  }
  return 0;
}

/* sapi_module.getenv: PHP's getenv("NAME") asks it before the process
   environment (main/SAPI.c, sapi_getenv), and copies what it returns. */
static char *zygote_getenv(const char *name, size_t name_length) {
  size_t at = 0;
  param p;
  while (next_param(&at, &p)) {
    if (p.name_length == name_length && memcmp(p.name, name, name_length) == 0) return (char *)p.value;
  }
  return NULL;
}

/* getenv() without a name lists php_import_environment_variables()'s
   array: the process environment, to which php-fpm adds the FastCGI
   parameters (its cgi_php_import_environment_variables). This does the
   same with the request's CGI variables. The zval is PHP's, opaque here. */
extern void (*php_import_environment_variables)(void *array);
extern void add_assoc_stringl_ex(void *array, const char *key, size_t key_length, const char *value, size_t value_length);
static void (*process_environment)(void *array) = NULL;

static void zygote_import_environment(void *array) {
  process_environment(array);
  size_t at = 0;
  param p;
  while (next_param(&at, &p)) add_assoc_stringl_ex(array, p.name, p.name_length, p.value, p.value_length);
}

/* Makes getenv() see the request's CGI variables (zygote_set_params()),
   as under php-fpm: zygote_getenv into the getenv slot of the SAPI
   module's words (slot 9, which the CLI leaves NULL), and the import of
   the environment wrapped. Returns 0, or -1 (nothing changed) if the
   slot is taken. */
int zygote_hook_getenv(uintptr_t *words, int slot) {
  if (words == NULL || slot < 0 || words[slot] != 0 || php_import_environment_variables == NULL) return -1;
  words[slot] = (uintptr_t)zygote_getenv;
  if (process_environment == NULL) {
    process_environment = php_import_environment_variables;
    php_import_environment_variables = zygote_import_environment;
  }
  return 0;
}

void zygote_job_begin(long long id) {
  pending_job = id;
  job_taken = 1;
}
void zygote_job_end(void) { pending_job = -1; }
long long zygote_job_pending(void) { return pending_job; }

/*
 * Keeps a copy of the worker's channel that no PHP object owns, so PHP's
 * request shutdown (which closes every socket and stream of the request)
 * leaves it open. CLOEXEC, like every fd of the worker. Returns the copy,
 * or -1 with errno.
 */
int zygote_keep_channel(int fd) {
  int kept = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (kept >= 0) {
    kept_channel = kept;
    worker_pid = getpid();
  }
  return kept;
}

int zygote_kept_channel(void) { return kept_channel; }

/*
 * Marks every fd from `low` up close-on-exec. PHP's php://fd/N opens a
 * dup(2) of N without CLOEXEC, and a channel must never leak into the
 * processes a script starts (exec, proc_open, mail). Returns 0, or -1.
 */
int zygote_cloexec_from(int low) {
  if (syscall(SYS_close_range, (unsigned)low, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return 0;
  /* Before Linux 5.11: one fcntl per open fd. */
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return -1;
  int own = dirfd(dir);
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    int fd = atoi(entry->d_name);
    if (fd < low || fd == own) continue;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  closedir(dir);
  return 0;
}

/*
 * Ends the current request and runs `script` as a new request, forever.
 * Returns -1 at once (nothing ended) if the path does not fit; never
 * returns otherwise. A request that cannot start, or that ended without
 * taking a job, ends the process with status 70 (EX_SOFTWARE): its
 * channel closes and Node replaces it.
 *
 * `pcre_cache` and `per_request_cache`, when not NULL, are PCRE's regex
 * cache and its per_request_cache flag in pcre_globals (found and checked
 * by the caller). PHP sets the flag for the CLI alone: its regex cache is
 * then a table of the request, made at each request start and destroyed
 * at its end, so a worker serving many requests would compile (and
 * JIT-compile) every regex again in every request. Once the first
 * request is shut down, the loop gives the worker php-fpm's cache
 * instead: the flag cleared, and the table made again as PCRE makes it
 * for every other SAPI at start-up, persistent and living as long as the
 * process. One difference: its destructor (static in PHP) is not
 * reachable, so an entry evicted from a full cache (over 4,096
 * patterns) is not freed; the worker's --max-jobs bounds that.
 */
int zygote_request_loop(const char *script, void *pcre_cache, unsigned char *per_request_cache) {
  /* The caller's string is freed by the shutdown below. */
  size_t length = strlen(script);
  if (length == 0 || length >= sizeof script_path) return -1;
  memcpy(script_path, script, length + 1);
  /* The request being ended first is the master's, which took no job. */
  job_taken = 1;
  for (;;) {
    php_request_shutdown(NULL);
    /* A child the script forked, at the end of its copy of the request:
       only the worker serves jobs. */
    if (worker_pid != 0 && getpid() != worker_pid) _exit(0);
    params_length = 0;
    if (!job_taken) _exit(70);
    job_taken = 0;
    /* An alarm the request set (pcntl_alarm) would kill the worker in a
       later request: SIGALRM's default action ends the process. */
    alarm(0);
    if (sapi_words != NULL) memcpy(sapi_words, sapi_saved, sapi_count * sizeof *sapi_words);
    if (pcre_cache != NULL && per_request_cache != NULL && *per_request_cache) {
      *per_request_cache = 0;
      _zend_hash_init(pcre_cache, 0, NULL, 1);
    }
    /* The request's streams are closed: fd 0 may be among them. It must
       not become some file the next request opens. */
    if (fcntl(0, F_GETFD) < 0) {
      int null = open("/dev/null", O_RDONLY);
      if (null > 0) {
        dup2(null, 0);
        close(null);
      }
    }
    if (php_request_startup() != 0) _exit(70);
    file_handle_space handle;
    memset(&handle, 0, sizeof handle);
    zend_stream_init_filename(&handle, script_path);
    php_execute_script(&handle);
    zend_destroy_file_handle(&handle);
  }
}
