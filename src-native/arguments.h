// Argument checks shared by the glue (binding.cc, poller.cc): each throws a
// TypeError with code ERR_INVALID_ARG_TYPE that names the argument, as
// Node's own APIs do.
#pragma once

#include <napi.h>

#include <vector>

namespace zygote {

// An integer in [min, INT_MAX] at info[index].
int IntegerArg(const Napi::CallbackInfo& info, size_t index, const char* name, int min);

// A file descriptor: a non-negative integer.
int FdArg(const Napi::CallbackInfo& info, size_t index, const char* name);

// An array of file descriptors (how many the kernel takes is syscalls.h's
// concern: more than kMaxPassedFds is EINVAL there, as from sendmsg).
std::vector<int> FdArrayArg(const Napi::CallbackInfo& info, size_t index);

}  // namespace zygote
