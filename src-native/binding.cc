// Glue between JavaScript and syscalls.h: argument checks, fd ownership
// bookkeeping and error conversion. No system call is made here directly.
#include <errno.h>

#include <string>
#include <vector>

#include "addon.h"
#include "arguments.h"
#include "syscalls.h"
#include "system_error.h"

namespace zygote {

Addon::Addon(Napi::Env env, Napi::Object exports) {
  DefineAddon(exports,
              {
                  InstanceMethod<&Addon::PidfdOpen>("pidfdOpen"),
                  InstanceMethod<&Addon::PidfdSendSignal>("pidfdSendSignal"),
                  InstanceMethod<&Addon::SocketPair>("socketPair"),
                  InstanceMethod<&Addon::SendFds>("sendFds"),
                  InstanceMethod<&Addon::ReceiveFds>("receiveFds"),
                  InstanceMethod<&Addon::SetPassCredentials>("setPassCredentials"),
                  InstanceMethod<&Addon::SetChildSubreaper>("setChildSubreaper"),
                  InstanceMethod<&Addon::IsChildSubreaper>("isChildSubreaper"),
                  InstanceMethod<&Addon::ReapPidfd>("reapPidfd"),
                  InstanceMethod<&Addon::CloseFd>("closeFd"),
                  InstanceMethod<&Addon::ReleaseFd>("releaseFd"),
                  InstanceMethod<&Addon::OwnedFdCount>("ownedFdCount"),
                  InstanceValue("Poller", Poller::Define(env)),
              });
}

Addon::~Addon() {
  // Environment teardown. Pollers first: their handles must be closed while
  // the loop still exists; fds are closed by ~FdRegistry afterwards.
  PollerSet open;
  open.swap(pollers_);
  for (Poller* poller : open) {
    poller->Detach();
    poller->CloseHandle();
  }
}

Napi::Value Addon::PidfdOpen(const Napi::CallbackInfo& info) {
  // pid 0 and negatives are the kernel's to refuse (EINVAL), so callers see
  // the same error they would from the system call.
  int pid = IntegerArg(info, 0, "pid", -2147483647);
  int fd = OpenPidfd(pid);
  if (fd < 0) throw SystemError(info.Env(), fd, "pidfd_open");
  fds_.Adopt(fd);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Addon::PidfdSendSignal(const Napi::CallbackInfo& info) {
  int pidfd = FdArg(info, 0, "pidfd");
  int signal = IntegerArg(info, 1, "signal", 0);
  int rc = SendSignal(pidfd, signal);
  if (rc < 0) throw SystemError(info.Env(), rc, "pidfd_send_signal");
  return info.Env().Undefined();
}

Napi::Value Addon::SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool nonblock = info.Length() > 0 && info[0].ToBoolean().Value();
  int fds[2];
  int rc = OpenSocketPair(nonblock, fds);
  if (rc < 0) throw SystemError(env, rc, "socketpair");
  fds_.Adopt(fds[0]);
  fds_.Adopt(fds[1]);
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(uint32_t(0), Napi::Number::New(env, fds[0]));
  pair.Set(uint32_t(1), Napi::Number::New(env, fds[1]));
  return pair;
}

// sendFds(sock, data: Uint8Array, fds: number[]) -> bytes sent.
// The sender keeps its own copies of `fds`; close them when done.
Napi::Value Addon::SendFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = FdArg(info, 0, "sock");
  if (!info[1].IsTypedArray()) {
    throw ArgumentError(env, "The \"data\" argument must be a Buffer or Uint8Array");
  }
  Napi::TypedArray data = info[1].As<Napi::TypedArray>();
  std::vector<int> fds = FdArrayArg(info, 2);
  const uint8_t* bytes =
      static_cast<const uint8_t*>(data.ArrayBuffer().Data()) + data.ByteOffset();
  ssize_t sent = zygote::SendWithFds(sock, bytes, data.ByteLength(), fds);
  if (sent < 0) throw SystemError(env, static_cast<int>(sent), "sendmsg");
  return Napi::Number::New(env, static_cast<double>(sent));
}

// receiveFds(sock, buffer: Uint8Array, maxFds) ->
//   { bytes, fds, truncated, pid } or null when a non-blocking socket has no
//   data. `pid` is the writer's (SO_PASSCRED on), else null.
// Bytes land in the caller's buffer (no copy); bytes 0 means end of stream.
Napi::Value Addon::ReceiveFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = FdArg(info, 0, "sock");
  if (!info[1].IsTypedArray()) {
    throw ArgumentError(env, "The \"buffer\" argument must be a Buffer or Uint8Array");
  }
  Napi::TypedArray buffer = info[1].As<Napi::TypedArray>();
  int max_fds = info.Length() > 2 && !info[2].IsUndefined()
                    ? IntegerArg(info, 2, "maxFds", 0)
                    : kMaxPassedFds;
  if (max_fds > kMaxPassedFds) max_fds = kMaxPassedFds;

  uint8_t* bytes =
      static_cast<uint8_t*>(buffer.ArrayBuffer().Data()) + buffer.ByteOffset();
  ReceivedMessage message;
  ssize_t got = ReceiveMessage(sock, bytes, buffer.ByteLength(), max_fds, &message);
  if (got == -EAGAIN || got == -EWOULDBLOCK) return env.Null();
  if (got < 0) throw SystemError(env, static_cast<int>(got), "recvmsg");

  Napi::Array received = Napi::Array::New(env, message.fds.size());
  for (size_t i = 0; i < message.fds.size(); i++) {
    fds_.Adopt(message.fds[i]);
    received.Set(static_cast<uint32_t>(i), Napi::Number::New(env, message.fds[i]));
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("bytes", Napi::Number::New(env, static_cast<double>(got)));
  result.Set("fds", received);
  result.Set("truncated", Napi::Boolean::New(env, message.truncated));
  result.Set("pid", message.sender_pid > 0
                        ? Napi::Number::New(env, message.sender_pid)
                        : env.Null());
  return result;
}

Napi::Value Addon::SetPassCredentials(const Napi::CallbackInfo& info) {
  int sock = FdArg(info, 0, "sock");
  if (!info[1].IsBoolean()) {
    throw ArgumentError(info.Env(), "The \"on\" argument must be a boolean");
  }
  int rc = zygote::SetPassCredentials(sock, info[1].As<Napi::Boolean>().Value());
  if (rc < 0) throw SystemError(info.Env(), rc, "setsockopt");
  return info.Env().Undefined();
}

Napi::Value Addon::SetChildSubreaper(const Napi::CallbackInfo& info) {
  if (!info[0].IsBoolean()) {
    throw ArgumentError(info.Env(), "The \"on\" argument must be a boolean");
  }
  int rc = zygote::SetChildSubreaper(info[0].As<Napi::Boolean>().Value());
  if (rc < 0) throw SystemError(info.Env(), rc, "prctl");
  return info.Env().Undefined();
}

Napi::Value Addon::IsChildSubreaper(const Napi::CallbackInfo& info) {
  bool on = false;
  int rc = GetChildSubreaper(&on);
  if (rc < 0) throw SystemError(info.Env(), rc, "prctl");
  return Napi::Boolean::New(info.Env(), on);
}

// reapPidfd(pidfd) -> { pid, code, signal, coreDumped } or null while the
// child runs. `code` is null when killed; `signal` is a number or null.
Napi::Value Addon::ReapPidfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pidfd = FdArg(info, 0, "pidfd");
  ExitStatus status;
  int rc = zygote::ReapPidfd(pidfd, &status);
  if (rc < 0) throw SystemError(env, rc, "waitid");
  if (rc == 0) return env.Null();

  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, status.pid));
  result.Set("code", status.signal == 0 ? Napi::Number::New(env, status.code)
                                        : env.Null());
  result.Set("signal", status.signal != 0 ? Napi::Number::New(env, status.signal)
                                          : env.Null());
  result.Set("coreDumped", Napi::Boolean::New(env, status.core_dumped));
  return result;
}

// closeFd(fd) -> true when closed, false when the fd was not ours (already
// closed, released, or never created here). Never closes a foreign fd.
Napi::Value Addon::CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0, "fd");
  if (!fds_.Release(fd)) return Napi::Boolean::New(env, false);
  int rc = zygote::CloseFd(fd);
  if (rc < 0) throw SystemError(env, rc, "close");
  return Napi::Boolean::New(env, true);
}

// releaseFd(fd) -> true when the fd was ours; the caller owns it from now on.
Napi::Value Addon::ReleaseFd(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), fds_.Release(FdArg(info, 0, "fd")));
}

Napi::Value Addon::OwnedFdCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(fds_.size()));
}

}  // namespace zygote

using zygote::Addon;
NODE_API_ADDON(Addon)
