// Per-environment state of the addon: the fds it owns and the pollers it
// must close when the environment (main thread or worker thread) ends.
#pragma once

#include <napi.h>

#include "fd_registry.h"
#include "poller.h"

namespace zygote {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);
  ~Addon();

  static Addon* From(Napi::Env env) { return env.GetInstanceData<Addon>(); }
  PollerSet& pollers() { return pollers_; }

 private:
  Napi::Value PidfdOpen(const Napi::CallbackInfo& info);
  Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info);
  Napi::Value SocketPair(const Napi::CallbackInfo& info);
  Napi::Value SendFds(const Napi::CallbackInfo& info);
  Napi::Value ReceiveFds(const Napi::CallbackInfo& info);
  Napi::Value SetPassCredentials(const Napi::CallbackInfo& info);
  Napi::Value SetChildSubreaper(const Napi::CallbackInfo& info);
  Napi::Value IsChildSubreaper(const Napi::CallbackInfo& info);
  Napi::Value ReapPidfd(const Napi::CallbackInfo& info);
  Napi::Value CloseFd(const Napi::CallbackInfo& info);
  Napi::Value ReleaseFd(const Napi::CallbackInfo& info);
  Napi::Value OwnedFdCount(const Napi::CallbackInfo& info);

  FdRegistry fds_;
  PollerSet pollers_;
};

}  // namespace zygote
