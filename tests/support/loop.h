// A bounded run of a test's libuv loop until a condition holds.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

namespace ferry::test {

// Runs `loop` (on the calling thread, which must own it) until `done` holds or `max_ms` of loop
// time have passed; returns done(). `done` is checked between loop iterations only, never from
// inside a callback, so it may itself run requests on the loop. A 5 ms tick keeps an iteration
// from blocking in poll for longer, e.g. when `done` changes on another thread. The tick is
// closed again before it returns, so the loop can be closed afterwards.
bool run_until(uv_loop_t* loop, const std::function<bool()>& done, uint64_t max_ms = 10000);

}  // namespace ferry::test
