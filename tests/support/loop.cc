// The bounded loop run shared by the tests (see loop.h).
#include "support/loop.h"

namespace ferry::test {

bool run_until(uv_loop_t* loop, const std::function<bool()>& done, uint64_t max_ms) {
  uv_timer_t tick;
  uv_timer_init(loop, &tick);
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 5, 5);
  uv_update_time(loop);
  const uint64_t start = uv_now(loop);
  while (!done() && uv_now(loop) - start < max_ms) uv_run(loop, UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);  // runs the close callback: the handle lives on this stack
  return done();
}

}  // namespace ferry::test
