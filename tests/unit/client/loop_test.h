// What the client tests share: a fixture owning a libuv loop (every handle must be closed by the
// end of a test) with a bounded run_until(), and encoding/decoding of message bodies for
// scripted brokers.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "protocol/api.h"
#include "protocol/schema.h"

namespace ferry::client::test {

class LoopTest : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open";
  }
  // Runs the loop until `done` holds, at most `max_ms`; a test fails if it never does. A prepare
  // handle stops the loop once `done` holds, so that an iteration whose timers completed it does
  // not block in poll.
  void run_until(const std::function<bool()>& done, uint64_t max_ms = 10000) {
    struct State {
      const std::function<bool()>* done;
      bool expired = false;
    } st{&done};
    uv_timer_t guard;
    uv_prepare_t check;
    uv_timer_init(&loop_, &guard);
    uv_prepare_init(&loop_, &check);
    guard.data = &st;
    check.data = &st;
    uv_timer_start(
        &guard, [](uv_timer_t* t) { static_cast<State*>(t->data)->expired = true; }, max_ms, 0);
    uv_prepare_start(&check, [](uv_prepare_t* p) {
      if ((*static_cast<State*>(p->data)->done)()) uv_stop(p->loop);
    });
    while (!done() && !st.expired) uv_run(&loop_, UV_RUN_ONCE);
    EXPECT_TRUE(done()) << "timed out";
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&check), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);  // runs the close callbacks: the handles live on this stack
  }

  uv_loop_t loop_{};
};

// A message body as `version` of `key` encodes it.
template <typename M>
std::vector<std::byte> encode_body(const M& m, protocol::ApiKey key, int16_t version) {
  std::vector<std::byte> out;
  protocol::Writer w(out);
  protocol::encode_message(m, version, protocol::is_flexible(key, version), w);
  return out;
}

// A request or response body decoded as `version` of `key`; a decoding failure fails the test.
template <typename M>
M decode_body(std::span<const std::byte> body, protocol::ApiKey key, int16_t version) {
  M m;
  auto st = protocol::decode_message(body, version, protocol::is_flexible(key, version), m);
  EXPECT_TRUE(st.ok()) << st.error().message();
  return m;
}

}  // namespace ferry::client::test
