// Errors shaped like Node's own SystemError, so callers can switch on
// err.code exactly as they do for fs or net errors.
#pragma once

#include <napi.h>

namespace zygote {

// Builds Error('ESRCH: no such process, pidfd_open') with code 'ESRCH',
// errno -3 (negative, as Node's fs and net errors have it) and syscall.
// `negative_errno` is what the syscalls.h functions return.
Napi::Error SystemError(Napi::Env env, int negative_errno, const char* syscall);

// Error(message) with a `code` property, for errors that are no errno.
Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message);

// TypeError with code ERR_INVALID_ARG_TYPE, for arguments of the wrong type.
Napi::TypeError ArgumentError(Napi::Env env, const std::string& message);

}  // namespace zygote
