#include "system_error.h"

#include <errno.h>
#include <string.h>
#include <uv.h>

#include <cctype>
#include <string>

namespace zygote {

namespace {

// libuv's table, which Node uses for its own errors, lacks some errnos we
// meet here (ECHILD from waitid, for one). Fall back to our own names for
// those; the list covers every errno our system calls document.
const char* ErrnoName(int err) {
  switch (err) {
#define ERRNO_CASE(e) case e: return #e;
    ERRNO_CASE(EPERM) ERRNO_CASE(ENOENT) ERRNO_CASE(ESRCH) ERRNO_CASE(EINTR)
    ERRNO_CASE(EIO) ERRNO_CASE(ENXIO) ERRNO_CASE(E2BIG) ERRNO_CASE(EBADF)
    ERRNO_CASE(ECHILD) ERRNO_CASE(EAGAIN) ERRNO_CASE(ENOMEM) ERRNO_CASE(EACCES)
    ERRNO_CASE(EFAULT) ERRNO_CASE(EBUSY) ERRNO_CASE(EEXIST) ERRNO_CASE(ENODEV)
    ERRNO_CASE(EINVAL) ERRNO_CASE(ENFILE) ERRNO_CASE(EMFILE) ERRNO_CASE(ENOSPC)
    ERRNO_CASE(EPIPE) ERRNO_CASE(ENOSYS) ERRNO_CASE(ENOTSOCK)
    ERRNO_CASE(EMSGSIZE) ERRNO_CASE(EOPNOTSUPP) ERRNO_CASE(ECONNRESET)
    ERRNO_CASE(ENOTCONN) ERRNO_CASE(ENOBUFS) ERRNO_CASE(ETOOMANYREFS)
#undef ERRNO_CASE
    default: return nullptr;
  }
}

}  // namespace

Napi::Error SystemError(Napi::Env env, int negative_errno, const char* syscall) {
  // libuv's error numbers are the negated errno values on Unix, so where it
  // knows the error its name and text match the rest of Node word for word.
  std::string name;
  std::string text;
  if (const char* known = ErrnoName(-negative_errno)) {
    char buffer[256];
    name = known;
    text = uv_strerror_r(negative_errno, buffer, sizeof buffer);
    if (text.rfind("Unknown system error", 0) == 0) {
      // GNU strerror_r: "No child processes"; Node's style is lower case.
      text = strerror_r(-negative_errno, buffer, sizeof buffer);
      if (!text.empty()) text[0] = static_cast<char>(std::tolower(text[0]));
    }
  } else {
    char buffer[256];
    name = uv_err_name_r(negative_errno, buffer, sizeof buffer);
    text = uv_strerror_r(negative_errno, buffer, sizeof buffer);
  }

  std::string message = name + ": " + text + ", " + syscall;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, name));
  error.Set("errno", Napi::Number::New(env, negative_errno));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

Napi::TypeError ArgumentError(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  return error;
}

}  // namespace zygote
