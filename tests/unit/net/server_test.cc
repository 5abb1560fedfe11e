// Server and Connection on a real loop over 127.0.0.1: framing, response order, acks=0 slots,
// frame limits and in-flight back-pressure. The client side runs on the same loop.
#include "net/server.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <string>
#include <vector>

#include "net_fixture.h"

namespace ferry::net {
namespace {

using test_support::Client;
using test_support::frame_of;
using test_support::ServerTest;

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrderEvenWhenCompletedOutOfOrder) {
  std::vector<ResponseSlot> held;
  handler_ = [&](Connection&, ResponseSlot slot, const std::string& body) {
    if (body == "first-req") {
      held.push_back(slot);  // completed last
    } else {
      slot.respond(frame_of("re:" + body));
    }
  };
  start();
  Client client(&loop_, server_->port());
  std::vector<std::byte> all;
  for (const char* b : {"first-req", "second-r", "third-re"}) {
    auto f = frame_of(b);
    all.insert(all.end(), f.begin(), f.end());
  }
  client.send(all);
  ASSERT_TRUE(run_until([&] { return requests_.size() == 3; }));
  for (int i = 0; i < 20; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_TRUE(client.frames().empty()) << "later responses must wait for the first";
  ASSERT_EQ(held.size(), 1u);
  held[0].respond(frame_of("re:first-req"));
  ASSERT_TRUE(run_until([&] { return client.frames().size() == 3; }));
  EXPECT_EQ(client.frames(),
            (std::vector<std::string>{"re:first-req", "re:second-r", "re:third-re"}));
}

TEST_F(ServerTest, NoResponseSlotsReleaseTheirPlace) {
  handler_ = [](Connection&, ResponseSlot slot, const std::string& body) {
    if (body.rfind("quiet", 0) == 0) {
      slot.no_response();
    } else {
      slot.respond(frame_of("re:" + body));
    }
  };
  start();
  Client client(&loop_, server_->port());
  for (const char* b : {"quiet-1-", "loud-1--", "quiet-2-", "loud-2--"}) client.send(frame_of(b));
  ASSERT_TRUE(run_until([&] { return client.frames().size() == 2; }));
  EXPECT_EQ(client.frames(), (std::vector<std::string>{"re:loud-1--", "re:loud-2--"}));
}

TEST_F(ServerTest, ARequestFrameSplitAcrossReadsIsReassembled) {
  start();
  Client client(&loop_, server_->port());
  auto f = frame_of(std::string(200000, 'x'));
  client.send(std::vector<std::byte>(f.begin(), f.begin() + 3));
  ASSERT_TRUE(run_until([&] { return server_->connection_count() == 1; }));
  for (int i = 0; i < 5; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  client.send(std::vector<std::byte>(f.begin() + 3, f.end()));
  ASSERT_TRUE(run_until([&] { return client.frames().size() == 1; }));
  EXPECT_EQ(client.frames()[0], "re:" + std::string(200000, 'x'));
}

TEST_F(ServerTest, OversizedOrNegativeFramesCloseOnlyTheirConnection) {
  ConnectionLimits limits;
  limits.max_request_bytes = 1024;
  start(limits);
  Client good(&loop_, server_->port());
  Client big(&loop_, server_->port());
  Client negative(&loop_, server_->port());
  big.send(frame_of(std::string(1025, 'b')));
  std::vector<std::byte> neg(4);
  store_i32(neg.data(), -5);
  negative.send(neg);
  ASSERT_TRUE(run_until([&] { return big.eof() && negative.eof(); }));
  good.send(frame_of("still-here"));
  ASSERT_TRUE(run_until([&] { return good.frames().size() == 1; }));
  EXPECT_EQ(good.frames()[0], "re:still-here");
  EXPECT_FALSE(good.eof());
  EXPECT_EQ(requests_, std::vector<std::string>{"still-here"});
}

TEST_F(ServerTest, ReadingPausesAtTheInFlightBoundAndResumesAsSlotsComplete) {
  ConnectionLimits limits;
  limits.max_in_flight = 4;
  std::vector<ResponseSlot> held;
  handler_ = [&](Connection&, ResponseSlot slot, const std::string&) { held.push_back(slot); };
  start(limits);
  Client client(&loop_, server_->port());
  std::vector<std::byte> all;
  for (int i = 0; i < 10; ++i) {
    auto f = frame_of("request-" + std::to_string(i));
    all.insert(all.end(), f.begin(), f.end());
  }
  client.send(all);
  ASSERT_TRUE(run_until([&] { return held.size() == 4; }));
  for (int i = 0; i < 20; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(held.size(), 4u) << "no request beyond the in-flight bound is read";
  for (size_t i = 0; i < 4; ++i) held[i].respond(frame_of("ok"));
  ASSERT_TRUE(run_until([&] { return held.size() == 8; }));
  for (size_t i = 4; i < 8; ++i) held[i].respond(frame_of("ok"));
  ASSERT_TRUE(run_until([&] { return held.size() == 10; }));
  for (size_t i = 8; i < 10; ++i) held[i].respond(frame_of("ok"));
  ASSERT_TRUE(run_until([&] { return client.frames().size() == 10; }));
  EXPECT_EQ(requests_.back(), "request-9");
}

TEST_F(ServerTest, AClientThatDoesNotReadStopsBeingReadUntilItsResponsesDrain) {
  ConnectionLimits limits;
  limits.max_pending_bytes = 2u << 20;
  const size_t kResponse = 4u << 20;  // more than loopback socket buffers absorb in total
  handler_ = [&](Connection&, ResponseSlot slot, const std::string& body) {
    (void)body;
    slot.respond(frame_of(std::string(kResponse, 'r')));
  };
  start(limits);
  Client client(&loop_, server_->port());
  std::vector<std::byte> all;
  for (int i = 0; i < 20; ++i) {
    auto f = frame_of("request-" + std::to_string(i));
    all.insert(all.end(), f.begin(), f.end());
  }
  ASSERT_TRUE(run_until([&] { return server_->connection_count() == 1; }));
  client.pause();
  client.send(all);
  for (int i = 0; i < 200; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  const size_t read_while_paused = requests_.size();
  EXPECT_GE(read_while_paused, 1u);
  EXPECT_LT(read_while_paused, 20u) << "requests kept being read although responses piled up";
  client.resume();
  ASSERT_TRUE(run_until([&] { return client.received_bytes() == 20 * (4 + kResponse); }));
  EXPECT_EQ(requests_.size(), 20u);
}

TEST_F(ServerTest, RequestBytesAwaitingResponsesAreBounded) {
  ConnectionLimits limits;
  limits.max_in_flight_request_bytes = 1u << 20;
  std::vector<ResponseSlot> held;
  handler_ = [&](Connection&, ResponseSlot slot, const std::string&) { held.push_back(slot); };
  start(limits);
  Client client(&loop_, server_->port());
  std::vector<std::byte> all;
  for (int i = 0; i < 8; ++i) {
    auto f = frame_of(std::string(300000, static_cast<char>('a' + i)));
    all.insert(all.end(), f.begin(), f.end());
  }
  client.send(all);
  ASSERT_TRUE(run_until([&] { return held.size() == 4; }));
  for (int i = 0; i < 50; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(held.size(), 4u) << "1.2 MB of requests awaiting responses is the most read";
  for (auto& slot : held) slot.respond(frame_of("ok"));
  ASSERT_TRUE(run_until([&] { return held.size() == 8; }));
  for (size_t i = 4; i < 8; ++i) held[i].respond(frame_of("ok"));
  ASSERT_TRUE(run_until([&] { return client.frames().size() == 8; }));
  EXPECT_EQ(requests_[7], std::string(300000, 'h'));
}

TEST_F(ServerTest, DrainAnswersInFlightRequestsThenCloses) {
  std::vector<ResponseSlot> held;
  handler_ = [&](Connection&, ResponseSlot slot, const std::string&) { held.push_back(slot); };
  start();
  Client client(&loop_, server_->port());
  client.send(frame_of("pending-1"));
  ASSERT_TRUE(run_until([&] { return held.size() == 1; }));
  bool drained = false;
  server_->drain([&] { drained = true; });
  EXPECT_FALSE(drained);
  held[0].respond(frame_of("answered"));
  ASSERT_TRUE(run_until([&] { return drained && client.eof(); }));
  EXPECT_EQ(client.frames(), std::vector<std::string>{"answered"});
  EXPECT_FALSE(held[0].connected());
}

TEST_F(ServerTest, CompletingASlotAfterItsConnectionClosedIsHarmless) {
  std::vector<ResponseSlot> held;
  handler_ = [&](Connection&, ResponseSlot slot, const std::string&) { held.push_back(slot); };
  start();
  {
    Client client(&loop_, server_->port());
    client.send(frame_of("will-vanish"));
    ASSERT_TRUE(run_until([&] { return held.size() == 1; }));
  }
  ASSERT_TRUE(run_until([&] { return server_->connection_count() == 0; }));
  EXPECT_FALSE(held[0].connected());
  held[0].respond(frame_of("too late"));
  held[0].no_response();
}

}  // namespace
}  // namespace ferry::net
