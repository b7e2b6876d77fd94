// Poller: a uv_poll_t on one fd, on the loop of the Node environment that
// created it (never uv_default_loop(), which is wrong inside worker_threads).
// Exit watching is a Poller on a pidfd: the kernel makes a pidfd readable
// when its process terminates, whether or not it is our child, so watching
// N processes costs N epoll registrations and no thread or timer each.
//
// JS: new Poller(fd, (err, events) => {}); start(events); stop(); close();
//     ref(); unref(). The Poller never owns or closes the fd.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>
#include <unordered_set>

namespace zygote {

class Poller;

// Pollers still open in one environment, closed by the addon at teardown
// so no uv handle outlives its loop.
using PollerSet = std::unordered_set<Poller*>;

class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit Poller(const Napi::CallbackInfo& info);
  ~Poller() override;

  // Stops watching and closes the uv handle; safe to call more than once.
  void CloseHandle();
  // Called when the addon's PollerSet goes away before this Poller does.
  void Detach() { live_ = nullptr; }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value RefHandle(const Napi::CallbackInfo& info);
  Napi::Value UnrefHandle(const Napi::CallbackInfo& info);
  Napi::Value HasRef(const Napi::CallbackInfo& info);

  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnClose(uv_handle_t* handle);

  void SetActive(bool active);
  void Deliver(int status, int events);

  // Heap-allocated apart from this object: uv_close completes on a later
  // loop turn, possibly after this object was garbage-collected.
  uv_poll_t* handle_ = nullptr;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  // While started, the JS object is kept alive by a strong reference, so a
  // watcher nobody holds still fires instead of vanishing with the GC.
  bool active_ = false;
  PollerSet* live_ = nullptr;
};

}  // namespace zygote
