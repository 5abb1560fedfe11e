// The Server fixture shared by the net tests: a Server on a real loop over 127.0.0.1, and the
// raw loopback client (tests/support) on the same loop that records what it receives.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "net/server.h"
#include "support/loop.h"
#include "support/loopback_client.h"

namespace ferry::net::test_support {

inline std::vector<std::byte> frame_of(const std::string& body) {
  std::vector<std::byte> f(4 + body.size());
  store_i32(f.data(), static_cast<int32_t>(body.size()));
  std::memcpy(f.data() + 4, body.data(), body.size());
  return f;
}

// The raw loopback client, under the name the net tests use.
using Client = ferry::test::LoopbackClient;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override {
    server_.reset();
    for (int i = 0; i < 10; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  void start(ConnectionLimits limits = {}, const std::function<void(ServerOptions&)>& tweak = {}) {
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.limits = limits;
    if (tweak) tweak(o);
    server_ =
        std::make_unique<Server>(&loop_, o, [this](Connection& c, ResponseSlot slot, Buffer frame) {
          requests_.push_back(
              std::string(reinterpret_cast<const char*>(frame.data()), frame.size()));
          handler_(c, std::move(slot), requests_.back());
        });
    ASSERT_TRUE(server_->listen().ok());
    ASSERT_NE(server_->port(), 0);
  }
  // Runs the loop until `done` or 30 s of loop time: a bound for failures only, wide enough for
  // tests moving tens of MiB under qemu-user on a loaded machine.
  bool run_until(const std::function<bool()>& done) {
    return ferry::test::run_until(&loop_, done, 30000);
  }

  // Runs the loop for `ms` of loop time (to check that something does NOT happen in a window).
  void run_for(uint64_t ms) {
    uv_update_time(&loop_);
    const uint64_t end = uv_now(&loop_) + ms;
    run_until([&] { return uv_now(&loop_) >= end; });
  }

  uv_loop_t loop_{};
  std::unique_ptr<Server> server_;
  std::vector<std::string> requests_;
  std::function<void(Connection&, ResponseSlot, const std::string&)> handler_ =
      [](Connection&, ResponseSlot slot, const std::string& body) {
        slot.respond(frame_of("re:" + body));
      };
};

}  // namespace ferry::net::test_support
