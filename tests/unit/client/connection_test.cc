// Connection against a scripted in-process broker on the same loop (no threads): version
// negotiation, pipelining, timeouts, lost connections, and callbacks that destroy their owner.
#include "client/connection.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "unit/client/fake_broker.h"

namespace ferry::client {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;
using test::FakeBroker;

// A ListGroups answer naming one group after the request's correlation id.
std::vector<std::byte> list_groups_answer(const protocol::RequestHeader& h) {
  protocol::ListGroupsResponse resp;
  resp.groups.push_back({"g" + std::to_string(h.correlation_id), "consumer"});
  std::vector<std::byte> out;
  protocol::Writer w(out);
  protocol::encode_message(resp, h.api_version, false, w);
  return out;
}

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open";
  }
  // Runs the loop until `done` (bounded by a 5 s guard timer). A prepare handle stops the loop
  // once `done` holds, so that an iteration whose timers completed it does not block in poll.
  void run_until(const std::function<bool()>& done) {
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
        &guard, [](uv_timer_t* t) { static_cast<State*>(t->data)->expired = true; }, 5000, 0);
    uv_prepare_start(&check, [](uv_prepare_t* p) {
      if ((*static_cast<State*>(p->data)->done)()) uv_stop(p->loop);
    });
    while (!done() && !st.expired) uv_run(&loop_, UV_RUN_ONCE);
    EXPECT_TRUE(done()) << "timed out";
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&check), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);  // runs the close callbacks: the handles live on this stack
  }
  ConnectionOptions options(uint64_t request_timeout_ms = 5000) {
    ConnectionOptions o;
    o.request_timeout_ms = request_timeout_ms;
    o.connect_timeout_ms = 5000;
    return o;
  }
  uv_loop_t loop_;
};

using ListGroupsResult = KafkaResult<protocol::ListGroupsResponse>;

TEST_F(ConnectionTest, NegotiatesTheHighestCommonVersion) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 1};  // we describe 0-2
  broker.versions[static_cast<int16_t>(ApiKey::metadata)] = {0, 12};    // we describe 0-8
  broker.handler = [](const auto& h, auto) { return list_groups_answer(h); };
  Connection c(&loop_, "127.0.0.1", broker.port, options());
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_TRUE(got->ok()) << got->error().to_string();
  EXPECT_EQ(c.version(ApiKey::list_groups), 1);
  EXPECT_EQ(c.version(ApiKey::metadata), 8);
  EXPECT_EQ(c.version(ApiKey::fetch), -1);
  EXPECT_EQ(broker.api_versions_seen, std::vector<int16_t>{3});
}

TEST_F(ConnectionTest, FallsBackToApiVersionsV0) {
  FakeBroker broker(&loop_);
  broker.max_api_versions = 2;
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  broker.handler = [](const auto& h, auto) { return list_groups_answer(h); };
  Connection c(&loop_, "127.0.0.1", broker.port, options());
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_TRUE(got->ok()) << got->error().to_string();
  EXPECT_EQ(broker.api_versions_seen, (std::vector<int16_t>{3, 0}));
  EXPECT_EQ(c.version(ApiKey::api_versions), 2);
}

TEST_F(ConnectionTest, PipelinedRequestsGetTheirOwnResponses) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  broker.handler = [](const auto& h, auto) { return list_groups_answer(h); };
  Connection c(&loop_, "127.0.0.1", broker.port, options());
  std::vector<std::string> names(3);
  int done = 0;
  for (size_t i = 0; i < 3; ++i) {
    c.send<ApiKey::list_groups>({}, [&, i](ListGroupsResult r) {
      ASSERT_TRUE(r.ok());
      names[i] = r->groups.at(0).group_id;
      ++done;
    });
  }
  run_until([&] { return done == 3; });
  // Correlation id 1 went to ApiVersions.
  EXPECT_EQ(names, (std::vector<std::string>{"g2", "g3", "g4"}));
}

TEST_F(ConnectionTest, AtMostMaxInFlightRequestsAwaitResponses) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  std::vector<std::string> names;  // responses the client has completed, in order
  size_t received = 0;
  size_t most_outstanding = 0;  // requests received whose response the client has not seen
  broker.handler = [&](const auto& h, auto) -> std::optional<std::vector<std::byte>> {
    ++received;
    most_outstanding = std::max(most_outstanding, received - names.size());
    return list_groups_answer(h);
  };
  auto o = options();
  o.max_in_flight = 2;
  Connection c(&loop_, "127.0.0.1", broker.port, o);
  for (int i = 0; i < 6; ++i) {
    c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) {
      ASSERT_TRUE(r.ok());
      names.push_back(r->groups.at(0).group_id);
    });
  }
  run_until([&] { return names.size() == 6; });
  EXPECT_EQ(most_outstanding, 2u);
  EXPECT_EQ(names, (std::vector<std::string>{"g2", "g3", "g4", "g5", "g6", "g7"}));
}

TEST_F(ConnectionTest, AnApiWithoutACommonVersionFailsWithoutBeingSent) {
  FakeBroker broker(&loop_);
  int sent = 0;
  broker.handler = [&](const auto&, auto) -> std::optional<std::vector<std::byte>> {
    ++sent;
    return std::nullopt;
  };
  Connection c(&loop_, "127.0.0.1", broker.port, options());
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code(), ErrorCode::unsupported_version);
  EXPECT_FALSE(got->error().from_broker());
  EXPECT_EQ(sent, 0);
}

TEST_F(ConnectionTest, AnUnansweredRequestTimesOutAndFailsTheConnection) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  broker.handler = [](const auto&, auto) { return std::nullopt; };
  Connection c(&loop_, "127.0.0.1", broker.port, options(50));
  std::vector<ListGroupsResult> got;
  for (int i = 0; i < 2; ++i)
    c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.push_back(std::move(r)); });
  run_until([&] { return got.size() == 2; });
  for (const auto& r : got) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::request_timed_out);
  }
  EXPECT_TRUE(c.failed());
  // Sticky: a later request fails the same way, and not inside send().
  std::optional<ListGroupsResult> later;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { later.emplace(std::move(r)); });
  EXPECT_FALSE(later.has_value());
  run_until([&] { return later.has_value(); });
  EXPECT_EQ(later->error().code(), ErrorCode::request_timed_out);
}

TEST_F(ConnectionTest, ARefusedConnectionIsANetworkError) {
  uint16_t port = 0;
  {
    FakeBroker closed(&loop_);  // a port nothing listens on once it is gone
    port = closed.port;
  }
  Connection c(&loop_, "127.0.0.1", port, options());
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code(), ErrorCode::network_exception);
  EXPECT_NE(got->error().message().find("connect to 127.0.0.1:"), std::string::npos);
}

TEST_F(ConnectionTest, TheBrokerClosingFailsPendingRequests) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  broker.handler = [&](const auto&, auto) -> std::optional<std::vector<std::byte>> {
    broker.drop_clients();
    return std::nullopt;
  };
  Connection c(&loop_, "127.0.0.1", broker.port, options());
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code(), ErrorCode::network_exception);
}

TEST_F(ConnectionTest, ACallbackMayDestroyItsConnection) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  broker.handler = [](const auto& h, auto) { return list_groups_answer(h); };
  auto c = std::make_unique<Connection>(&loop_, "127.0.0.1", broker.port, options());
  int calls = 0;
  for (int i = 0; i < 3; ++i) {
    c->send<ApiKey::list_groups>({}, [&](ListGroupsResult) {
      ++calls;
      c.reset();  // the other two callbacks are dropped
    });
  }
  run_until([&] { return c == nullptr; });
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace ferry::client
