#include "arguments.h"

#include <string>

#include "system_error.h"

namespace zygote {

namespace {

// Whether `value` is a number holding an integer in [min, INT_MAX]; stores it.
bool ToInteger(const Napi::Value& value, int min, int* out) {
  if (!value.IsNumber()) return false;
  double d = value.As<Napi::Number>().DoubleValue();
  if (d < min || d > 2147483647.0 || d != static_cast<int>(d)) return false;
  *out = static_cast<int>(d);
  return true;
}

}  // namespace

int IntegerArg(const Napi::CallbackInfo& info, size_t index, const char* name, int min) {
  int value;
  if (ToInteger(info[index], min, &value)) return value;
  throw ArgumentError(info.Env(), std::string("The \"") + name +
                                      "\" argument must be an integer >= " +
                                      std::to_string(min));
}

int FdArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  return IntegerArg(info, index, name, 0);
}

std::vector<int> FdArrayArg(const Napi::CallbackInfo& info, size_t index) {
  Napi::Env env = info.Env();
  const char* message = "The \"fds\" argument must be an array of fds";
  if (!info[index].IsArray()) throw ArgumentError(env, message);
  Napi::Array array = info[index].As<Napi::Array>();
  std::vector<int> fds;
  fds.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    int fd;
    if (!ToInteger(array.Get(i), 0, &fd)) throw ArgumentError(env, message);
    fds.push_back(fd);
  }
  return fds;
}

}  // namespace zygote
