#include "poller.h"

#include "addon.h"
#include "arguments.h"
#include "system_error.h"

namespace zygote {

Napi::Function Poller::Define(Napi::Env env) {
  return DefineClass(env, "Poller",
                     {
                         InstanceMethod<&Poller::Start>("start"),
                         InstanceMethod<&Poller::Stop>("stop"),
                         InstanceMethod<&Poller::Close>("close"),
                         InstanceMethod<&Poller::RefHandle>("ref"),
                         InstanceMethod<&Poller::UnrefHandle>("unref"),
                         InstanceMethod<&Poller::HasRef>("hasRef"),
                         StaticValue("READABLE", Napi::Number::New(env, UV_READABLE)),
                         StaticValue("WRITABLE", Napi::Number::New(env, UV_WRITABLE)),
                         StaticValue("DISCONNECT", Napi::Number::New(env, UV_DISCONNECT)),
                     });
}

Poller::Poller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Poller>(info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0, "fd");
  if (!info[1].IsFunction()) {
    throw ArgumentError(env, "The \"callback\" argument must be a function");
  }

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    throw Napi::Error::New(env, "cannot get the event loop of this environment");
  }

  auto* handle = new uv_poll_t;
  int rc = uv_poll_init(loop, handle, fd);
  if (rc < 0) {
    delete handle;  // a failed init registers nothing with the loop
    throw SystemError(env, rc, "uv_poll_init");
  }
  handle->data = this;
  handle_ = handle;
  callback_ = Napi::Persistent(info[1].As<Napi::Function>());
  async_context_ = std::make_unique<Napi::AsyncContext>(env, "PhpZygotePoller");

  live_ = &Addon::From(env)->pollers();
  live_->insert(this);
}

Poller::~Poller() {
  // The GC (or environment teardown) is already deleting our reference;
  // touching its count now would be a use after free.
  active_ = false;
  CloseHandle();
}

void Poller::CloseHandle() {
  if (live_ != nullptr) {
    live_->erase(this);
    live_ = nullptr;
  }
  if (handle_ == nullptr) return;
  uv_poll_stop(handle_);  // also removes the fd from epoll right away
  handle_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle_), OnClose);
  handle_ = nullptr;
  SetActive(false);
}

void Poller::OnClose(uv_handle_t* handle) {
  delete reinterpret_cast<uv_poll_t*>(handle);
}

void Poller::SetActive(bool active) {
  if (active == active_) return;
  active_ = active;
  if (active) {
    Ref();
  } else {
    Unref();
  }
}

Napi::Value Poller::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (handle_ == nullptr) {
    throw CodedError(env, "ERR_POLLER_CLOSED", "Poller is closed");
  }
  int events = UV_READABLE;
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    events = IntegerArg(info, 0, "events", 0);
  }
  int rc = uv_poll_start(handle_, events, OnPoll);
  if (rc < 0) throw SystemError(env, rc, "uv_poll_start");
  SetActive(true);
  return env.Undefined();
}

Napi::Value Poller::Stop(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) uv_poll_stop(handle_);
  SetActive(false);
  return info.Env().Undefined();
}

Napi::Value Poller::Close(const Napi::CallbackInfo& info) {
  CloseHandle();
  return info.Env().Undefined();
}

Napi::Value Poller::RefHandle(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(handle_));
  return info.Env().Undefined();
}

Napi::Value Poller::UnrefHandle(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
  return info.Env().Undefined();
}

Napi::Value Poller::HasRef(const Napi::CallbackInfo& info) {
  bool ref = handle_ != nullptr &&
             uv_has_ref(reinterpret_cast<uv_handle_t*>(handle_)) != 0;
  return Napi::Boolean::New(info.Env(), ref);
}

void Poller::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<Poller*>(handle->data);
  if (self != nullptr) self->Deliver(status, events);
}

void Poller::Deliver(int status, int events) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);

  Napi::Value error = env.Null();
  if (status < 0) {
    // libuv stops reporting on a failed fd; say so once and stay stopped.
    uv_poll_stop(handle_);
    SetActive(false);
    error = SystemError(env, status, "uv_poll").Value();
  }
  // `this` may be closed by the callback itself: nothing below touches it.
  try {
    callback_.MakeCallback(Value(), {error, Napi::Number::New(env, events)},
                           *async_context_);
  } catch (const Napi::Error& e) {
    // A throwing callback behaves like a throwing event listener: it
    // reaches process 'uncaughtException', it never aborts the process.
    napi_fatal_exception(env, e.Value());
  }
}

}  // namespace zygote
