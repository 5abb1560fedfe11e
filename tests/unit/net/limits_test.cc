// Connection limits on a real loop over 127.0.0.1: the idle and request-frame deadlines,
// max.connections.per.ip and its overrides, eviction at max.connections, and the broker-wide
// memory budget (queued.max.request.bytes), with short timeouts and small budgets.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "net/memory_budget.h"
#include "net_fixture.h"

namespace ferry::net {
namespace {

using test_support::Client;
using test_support::frame_of;
using test_support::ServerTest;

// The first `n` bytes of a frame announcing `size` bytes.
std::vector<std::byte> partial_frame(int32_t size, size_t n) {
  std::vector<std::byte> f(4 + n, std::byte{'x'});
  store_i32(f.data(), size);
  return f;
}

TEST_F(ServerTest, AnIdleConnectionIsClosedAfterConnectionsMaxIdleMs) {
  ConnectionLimits limits;
  limits.idle_ms = 60;
  start(limits);
  Client idle(&loop_, server_->port());
  ASSERT_TRUE(run_until([&] { return server_->connection_count() == 1; }));
  ASSERT_TRUE(run_until([&] { return idle.eof(); }));
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(ServerTest, AConnectionWaitingForItsResponseIsNotIdle) {
  ConnectionLimits limits;
  limits.idle_ms = 40;
  std::vector<ResponseSlot> held;
  handler_ = [&](Connection&, ResponseSlot slot, const std::string&) { held.push_back(slot); };
  start(limits);
  Client client(&loop_, server_->port());
  client.send(frame_of("slow-request"));
  ASSERT_TRUE(run_until([&] { return held.size() == 1; }));
  run_for(200);  // five idle periods
  EXPECT_FALSE(client.eof()) << "closed while its request was being handled";
  held[0].respond(frame_of("done"));
  ASSERT_TRUE(run_until([&] { return client.frames().size() == 1; }));
  // Answered and quiet again: now it is idle.
  ASSERT_TRUE(run_until([&] { return client.eof(); }));
}

TEST_F(ServerTest, AFrameNotCompletedWithinTheFrameTimeoutClosesTheConnection) {
  ConnectionLimits limits;
  limits.frame_timeout_ms = 60;
  start(limits);
  Client slow(&loop_, server_->port());
  Client quiet(&loop_, server_->port());  // sends nothing: only the idle limit applies to it
  slow.send(partial_frame(100, 10));
  ASSERT_TRUE(run_until([&] { return slow.eof(); }));
  EXPECT_FALSE(quiet.eof());
  EXPECT_EQ(server_->connection_count(), 1u);
  EXPECT_TRUE(requests_.empty());
}

TEST_F(ServerTest, AFrameCompletedInTimeIsServed) {
  ConnectionLimits limits;
  limits.frame_timeout_ms = 200;
  start(limits);
  Client client(&loop_, server_->port());
  auto f = frame_of("in two parts");
  client.send(std::vector<std::byte>(f.begin(), f.begin() + 6));
  run_for(50);
  client.send(std::vector<std::byte>(f.begin() + 6, f.end()));
  ASSERT_TRUE(run_until([&] { return client.frames().size() == 1; }));
  EXPECT_EQ(client.frames()[0], "re:in two parts");
}

TEST_F(ServerTest, ConnectionsPerAddressAreLimitedWithOverrides) {
  start({}, [](ServerOptions& o) {
    o.max_connections_per_ip = 2;
    o.max_connections_per_ip_overrides["127.0.0.3"] = 3;
  });
  Client a1(&loop_, server_->port(), "127.0.0.2");
  Client a2(&loop_, server_->port(), "127.0.0.2");
  ASSERT_TRUE(run_until([&] { return server_->connection_count() == 2; }));
  Client a3(&loop_, server_->port(), "127.0.0.2");
  ASSERT_TRUE(run_until([&] { return a3.eof(); })) << "a third connection from one address";
  EXPECT_FALSE(a1.eof());
  Client b1(&loop_, server_->port(), "127.0.0.3");
  Client b2(&loop_, server_->port(), "127.0.0.3");
  Client b3(&loop_, server_->port(), "127.0.0.3");
  ASSERT_TRUE(run_until([&] { return server_->connection_count() == 5; }));
  b3.send(frame_of("hello there"));
  ASSERT_TRUE(run_until([&] { return b3.frames().size() == 1; }));
  Client b4(&loop_, server_->port(), "127.0.0.3");
  ASSERT_TRUE(run_until([&] { return b4.eof(); }));
  EXPECT_EQ(server_->connection_count(), 5u);
}

TEST_F(ServerTest, AtMaxConnectionsTheLongestIdleQuietConnectionMakesRoom) {
  std::vector<ResponseSlot> held;
  handler_ = [&](Connection&, ResponseSlot slot, const std::string& body) {
    if (body == "hold this one") {
      held.push_back(slot);
    } else {
      slot.respond(frame_of("re:" + body));
    }
  };
  start({}, [](ServerOptions& o) { o.max_connections = 3; });
  Client oldest(&loop_, server_->port());
  ASSERT_TRUE(run_until([&] { return server_->connection_count() == 1; }));
  run_for(20);
  Client busy(&loop_, server_->port());
  busy.send(frame_of("hold this one"));
  ASSERT_TRUE(run_until([&] { return held.size() == 1; }));
  run_for(20);
  Client recent(&loop_, server_->port());
  ASSERT_TRUE(run_until([&] { return server_->connection_count() == 3; }));
  Client newcomer(&loop_, server_->port());
  ASSERT_TRUE(run_until([&] { return oldest.eof(); })) << "the longest-idle connection stays";
  newcomer.send(frame_of("hello there"));
  ASSERT_TRUE(run_until([&] { return newcomer.frames().size() == 1; }));
  EXPECT_FALSE(busy.eof()) << "a connection with a request in progress was evicted";
  EXPECT_FALSE(recent.eof());
  held[0].respond(frame_of("ok"));
  ASSERT_TRUE(run_until([&] { return busy.frames().size() == 1; }));
}

TEST_F(ServerTest, AtMaxConnectionsWithEveryConnectionBusyTheNewcomerIsRefused) {
  std::vector<ResponseSlot> held;
  handler_ = [&](Connection&, ResponseSlot slot, const std::string&) { held.push_back(slot); };
  start({}, [](ServerOptions& o) { o.max_connections = 1; });
  Client busy(&loop_, server_->port());
  busy.send(frame_of("hold this one"));
  ASSERT_TRUE(run_until([&] { return held.size() == 1; }));
  Client newcomer(&loop_, server_->port());
  ASSERT_TRUE(run_until([&] { return newcomer.eof(); }));
  EXPECT_FALSE(busy.eof());
  held[0].respond(frame_of("ok"));
  ASSERT_TRUE(run_until([&] { return busy.frames().size() == 1; }));
}

constexpr uint64_t kBudget = 1u << 20;

TEST_F(ServerTest, AFrameLargerThanTheMemoryBudgetIsRefused) {
  start({}, [](ServerOptions& o) { o.queued_max_request_bytes = kBudget; });
  Client big(&loop_, server_->port());
  big.send(partial_frame(static_cast<int32_t>(kBudget) + 1, 100));
  ASSERT_TRUE(run_until([&] { return big.eof(); }));
  EXPECT_EQ(server_->budget().used(), 0u);
}

TEST_F(ServerTest, PartialFramesStopBeingReadWhenTheBudgetIsFullAndResumeAsItFrees) {
  start({}, [](ServerOptions& o) { o.queued_max_request_bytes = kBudget; });
  const int32_t kFrame = 400 * 1024;
  auto a = std::make_unique<Client>(&loop_, server_->port());
  Client b(&loop_, server_->port());
  a->send(partial_frame(kFrame, 1000));
  ASSERT_TRUE(run_until([&] { return server_->budget().used() == uint64_t{kFrame}; }));
  b.send(partial_frame(kFrame, 1000));
  ASSERT_TRUE(run_until([&] { return server_->budget().used() == 2 * uint64_t{kFrame}; }));
  Client c(&loop_, server_->port());
  c.send(frame_of("a small request that still fits"));  // 800 KiB of 1 MiB used
  ASSERT_TRUE(run_until([&] { return c.frames().size() == 1; }));
  Client d(&loop_, server_->port());
  d.send(partial_frame(kFrame, 1000));
  ASSERT_TRUE(run_until([&] { return server_->budget().waiting() == 1; }));
  run_for(20);
  EXPECT_EQ(server_->budget().used(), 2 * uint64_t{kFrame}) << "a frame beyond the budget";
  a.reset();  // the first partial frame's client goes away: its charge is released
  ASSERT_TRUE(run_until([&] { return server_->budget().waiting() == 0; }));
  EXPECT_EQ(server_->budget().used(), 2 * uint64_t{kFrame});
  // The waiting frame is read once its client sends the rest.
  d.send(std::vector<std::byte>(static_cast<size_t>(kFrame) - 1000, std::byte{'y'}));
  ASSERT_TRUE(run_until([&] { return requests_.size() == 2; }));
  ASSERT_TRUE(run_until([&] { return d.frames().size() == 1; }));
  EXPECT_EQ(server_->budget().used(), uint64_t{kFrame}) << "only b's partial frame is left";
}

TEST_F(ServerTest, UnreadResponsesCountAgainstTheBudgetButLeaveRoomForOthers) {
  handler_ = [&](Connection&, ResponseSlot slot, const std::string& body) {
    slot.respond(frame_of(body == "a big answer" ? std::string(3u << 20, 'r') : "re:" + body));
  };
  start({}, [](ServerOptions& o) { o.queued_max_request_bytes = 4 * kBudget; });
  Client hog(&loop_, server_->port());
  ASSERT_TRUE(run_until([&] { return server_->connection_count() == 1; }));
  hog.pause();
  std::vector<std::byte> all;
  for (int i = 0; i < 8; ++i) {
    auto f = frame_of("a big answer");
    all.insert(all.end(), f.begin(), f.end());
  }
  hog.send(all);
  // Responses pile up until the budget (less the reserve for others) is used up; the hog's
  // further requests wait.
  ASSERT_TRUE(run_until([&] { return server_->budget().waiting() == 1; }));
  const size_t read = requests_.size();
  EXPECT_LT(read, 8u);
  EXPECT_LE(server_->budget().used(), 4 * kBudget + (3u << 20) + 64);
  // A client that holds nothing still gets its request read and answered.
  Client polite(&loop_, server_->port());
  polite.send(frame_of("ping pong"));
  ASSERT_TRUE(run_until([&] { return polite.frames().size() == 1; }));
  EXPECT_EQ(polite.frames()[0], "re:ping pong");
  hog.resume();
  ASSERT_TRUE(run_until([&] { return hog.frames().size() == 8; }));
  ASSERT_TRUE(run_until([&] { return server_->budget().used() == 0; }));
}

TEST(MemoryBudget, ConnectionsHoldingChargesLeaveTheReserveToOthers) {
  using Pool = MemoryBudget::Pool;
  MemoryBudget b(800);  // 700 main, 100 reserve
  Pool pool{};
  EXPECT_TRUE(b.try_reserve(600, true, &pool));
  EXPECT_EQ(pool, Pool::main);
  EXPECT_FALSE(b.try_reserve(150, false, &pool)) << "holders may not use the reserve";
  EXPECT_TRUE(b.try_reserve(100, true, &pool));
  EXPECT_EQ(pool, Pool::main);
  b.charge(300);  // responses are charged even over the capacity
  EXPECT_EQ(b.used(), 1000u);
  EXPECT_FALSE(b.try_reserve(10, false, &pool));
  EXPECT_TRUE(b.try_reserve(100, true, &pool)) << "a client holding nothing gets the reserve";
  EXPECT_EQ(pool, Pool::reserve);
  EXPECT_FALSE(b.try_reserve(1, true, &pool));
  b.release(100, Pool::reserve);
  b.release(1000, Pool::main);
  EXPECT_EQ(b.used(), 0u);
  EXPECT_TRUE(b.try_reserve(800, true, &pool)) << "a frame of the whole capacity fits when empty";
  EXPECT_EQ(pool, Pool::main);
}

struct FakeWaiter final : BudgetWaiter {
  FakeWaiter(MemoryBudget& b, uint64_t n, std::vector<int>& log, int id)
      : budget(b), bytes(n), order(log), name(id) {}
  bool retry_budget() override {
    MemoryBudget::Pool pool{};
    if (!budget.try_reserve(bytes, false, &pool)) return false;
    order.push_back(name);
    return true;
  }
  MemoryBudget& budget;
  uint64_t bytes;
  std::vector<int>& order;
  int name;
};

TEST(MemoryBudget, ReleaseLetsEveryWaiterTryInOrder) {
  MemoryBudget b(800);  // 700 main
  MemoryBudget::Pool pool{};
  ASSERT_TRUE(b.try_reserve(700, true, &pool));
  std::vector<int> order;
  auto big = std::make_shared<FakeWaiter>(b, 600, order, 1);
  auto small1 = std::make_shared<FakeWaiter>(b, 200, order, 2);
  auto small2 = std::make_shared<FakeWaiter>(b, 200, order, 3);
  b.wait(big);
  b.wait(small1);
  b.wait(small2);
  b.release(400);  // 400 free: the big one does not fit, the small ones behind it do
  EXPECT_EQ(order, (std::vector<int>{2, 3}));
  EXPECT_EQ(b.waiting(), 1u);
  b.release(700);  // everything released
  EXPECT_EQ(order, (std::vector<int>{2, 3, 1}));
  EXPECT_EQ(b.waiting(), 0u);
}

}  // namespace
}  // namespace ferry::net
