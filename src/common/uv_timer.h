// RAII owner of a libuv timer. libuv frees handles asynchronously (uv_close completes on a later
// loop turn), so the handle lives on the heap and is deleted by its close callback; the owner
// may be destroyed at any time on the loop thread.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

namespace ferry {

class UvTimer {
 public:
  // Loop thread only. `loop` must outlive the handle's close (run the loop after destruction).
  explicit UvTimer(uv_loop_t* loop) : handle_(new uv_timer_t) {
    uv_timer_init(loop, handle_);
    handle_->data = this;
  }
  ~UvTimer() {
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  }
  UvTimer(const UvTimer&) = delete;
  UvTimer& operator=(const UvTimer&) = delete;

  // (Re)arms a one-shot timer; `fn` runs on the loop thread.
  void start(uint64_t timeout_ms, std::function<void()> fn) {
    fn_ = std::move(fn);
    uv_timer_start(handle_, &UvTimer::on_timer, timeout_ms, 0);
  }
  void stop() { uv_timer_stop(handle_); }
  bool active() const { return uv_is_active(reinterpret_cast<const uv_handle_t*>(handle_)) != 0; }
  // Lets the loop exit while only this timer is pending.
  void unref() { uv_unref(reinterpret_cast<uv_handle_t*>(handle_)); }

 private:
  static void on_timer(uv_timer_t* h) {
    auto* self = static_cast<UvTimer*>(h->data);
    if (self == nullptr) return;
    auto fn = self->fn_;  // the callback may destroy or re-arm the timer
    if (fn) fn();
  }
  uv_timer_t* handle_;
  std::function<void()> fn_;
};

}  // namespace ferry
