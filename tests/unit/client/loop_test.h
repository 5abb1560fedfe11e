// What the client tests share: a fixture owning a libuv loop (every handle must be closed by the
// end of a test) with a bounded run_until(), one for tests running one call at a time, and
// encoding/decoding of message bodies for scripted brokers.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "client/connection.h"
#include "client/sync.h"
#include "protocol/api.h"
#include "protocol/schema.h"
#include "support/loop.h"

namespace ferry::client::test {

class LoopTest : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open";
  }
  // Runs the loop until `done` holds, at most `max_ms`; a test fails if it never does.
  void run_until(const std::function<bool()>& done, uint64_t max_ms = 10000) {
    EXPECT_TRUE(ferry::test::run_until(&loop_, done, max_ms)) << "timed out";
  }

  uv_loop_t loop_{};
};

// A loop fixture for tests that run one call at a time (Admin, GroupAdmin) against scripted
// brokers: connection options with short timeouts and run<T>(), which drives one call to its end.
class CallTest : public LoopTest {
 protected:
  ConnectionOptions options() {
    ConnectionOptions o;
    o.request_timeout_ms = 5000;
    o.connect_timeout_ms = 5000;
    return o;
  }
  // Runs one call, started by `start(done)`, to completion.
  template <typename T, typename Start>
  KafkaResult<T> run(Start&& start) {
    return run_until_done<T>(&loop_, std::forward<Start>(start));
  }
};

// A message body as `version` of `key` encodes it.
template <typename M>
std::vector<std::byte> encode(const M& m, protocol::ApiKey key, int16_t version) {
  std::vector<std::byte> out;
  protocol::Writer w(out);
  protocol::encode_message(m, version, protocol::is_flexible(key, version), w);
  return out;
}

// A request or response body decoded as `version` of `key`; a decoding failure fails the test.
template <typename M>
M decode(std::span<const std::byte> body, protocol::ApiKey key, int16_t version) {
  M m;
  auto st = protocol::decode_message(body, version, protocol::is_flexible(key, version), m);
  EXPECT_TRUE(st.ok()) << st.error().message();
  return m;
}

}  // namespace ferry::client::test
