// The mirror's flow control, pure parts: the link's token bucket (bandwidth cap, with a fake
// clock) and the scheduler (priorities, turns among equal priorities).
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <vector>

#include "mirror/scheduler.h"
#include "mirror/token_bucket.h"

namespace ferry::mirror {
namespace {

// ---- token bucket --------------------------------------------------------------------------

TEST(TokenBucket, UnlimitedAlwaysAllows) {
  TokenBucket b(0, 1, 0);
  EXPECT_TRUE(b.unlimited());
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(b.may_send(0));
    b.take(1 << 30, 0);
  }
  EXPECT_EQ(b.wait_ms(0), 0u);
}

TEST(TokenBucket, StartsFullAndRefillsAtTheRate) {
  TokenBucket b(1000, 100, 0);  // 1000 B/s, burst 100 B
  EXPECT_EQ(b.tokens(0), 100);
  b.take(100, 0);
  EXPECT_EQ(b.tokens(0), 0);
  EXPECT_FALSE(b.may_send(0));
  EXPECT_EQ(b.wait_ms(0), 1u);  // 1 byte per ms
  EXPECT_EQ(b.tokens(50), 50);
  EXPECT_EQ(b.tokens(10'000), 100);  // never beyond the burst
}

TEST(TokenBucket, ABatchLargerThanTheBurstGoesAndLeavesDebt) {
  TokenBucket b(1000, 100, 0);
  ASSERT_TRUE(b.may_send(0));
  b.take(5000, 0);  // 50x the burst
  EXPECT_EQ(b.tokens(0), -4900);
  EXPECT_FALSE(b.may_send(0));
  EXPECT_EQ(b.wait_ms(0), 4901u);  // the debt paid, then one more millisecond
  EXPECT_FALSE(b.may_send(4900));
  EXPECT_TRUE(b.may_send(4901));
}

TEST(TokenBucket, SubByteRatesLoseNothingToRounding) {
  TokenBucket b(7, 1, 0);  // 7 B/s: 0.007 B per ms
  b.take(1, 0);
  EXPECT_EQ(b.wait_ms(0), 1u);  // exactly 0 tokens: one millisecond makes it positive
  b.take(7, 1);
  // 7 bytes of debt at 7 B/s: a second.
  EXPECT_FALSE(b.may_send(1000));
  EXPECT_TRUE(b.may_send(1001));
}

TEST(TokenBucket, AClockGoingBackAddsNothing) {
  TokenBucket b(1000, 100, 1000);
  b.take(100, 1000);
  EXPECT_FALSE(b.may_send(500));
  EXPECT_EQ(b.tokens(1010), 10);
}

TEST(TokenBucket, LongRunRateIsTheCap) {
  // Batches of 3000 B sent whenever allowed, on a 1 ms fake clock for 100 s at 50,000 B/s:
  // the bytes sent stay within one burst plus one batch of rate x time.
  const uint64_t rate = 50'000;
  TokenBucket b(rate, TokenBucket::default_burst(rate), 0);
  uint64_t sent = 0;
  for (int64_t now = 0; now <= 100'000; ++now) {
    while (b.may_send(now)) {
      b.take(3000, now);
      sent += 3000;
    }
  }
  const uint64_t expected = rate * 100;
  EXPECT_LE(sent, expected + TokenBucket::default_burst(rate) + 3000);
  EXPECT_GE(sent, expected - 3000);
}

TEST(TokenBucket, WaitIsExactForTheNextSend) {
  TokenBucket b(250'000, 25'000, 0);
  b.take(1'000'000, 0);
  const uint64_t w = b.wait_ms(0);
  EXPECT_FALSE(b.may_send(static_cast<int64_t>(w) - 1));
  EXPECT_TRUE(b.may_send(static_cast<int64_t>(w)));
}

TEST(TokenBucket, HugeRatesAndIdleTimesDoNotOverflow) {
  TokenBucket b(1'000'000'000'000, TokenBucket::default_burst(1'000'000'000'000), 0);
  b.take(uint64_t{1} << 31, 0);
  EXPECT_TRUE(b.may_send(INT64_MAX / 2));
  EXPECT_EQ(b.tokens(INT64_MAX / 2), 100'000'000'000);
}

// ---- scheduler -----------------------------------------------------------------------------

TEST(Scheduler, NothingReadyPicksNothing) {
  Scheduler s;
  EXPECT_FALSE(s.pick({}).has_value());
}

TEST(Scheduler, HighestPriorityAlwaysFirst) {
  Scheduler s;
  const std::vector<SchedulerCandidate> ready = {{1, 0}, {2, 5}, {3, -1}, {4, 0}};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.pick(ready), 2u);
}

TEST(Scheduler, EqualPrioritiesTakeTurnsBatchByBatch) {
  Scheduler s;
  const std::vector<SchedulerCandidate> ready = {{7, 1}, {3, 1}, {5, 1}, {9, 0}};
  std::vector<uint64_t> order;
  for (int i = 0; i < 6; ++i) order.push_back(*s.pick(ready));
  EXPECT_EQ(order, (std::vector<uint64_t>{3, 5, 7, 3, 5, 7}));
}

TEST(Scheduler, TurnsContinueWhenPartitionsComeAndGo) {
  Scheduler s;
  EXPECT_EQ(s.pick(std::vector<SchedulerCandidate>{{1, 0}, {2, 0}, {3, 0}}), 1u);
  // 2 waits on its in-flight limit: 3 is next, not 1 again.
  EXPECT_EQ(s.pick(std::vector<SchedulerCandidate>{{1, 0}, {3, 0}}), 3u);
  EXPECT_EQ(s.pick(std::vector<SchedulerCandidate>{{1, 0}, {2, 0}, {3, 0}}), 1u);
  EXPECT_EQ(s.pick(std::vector<SchedulerCandidate>{{1, 0}, {2, 0}, {3, 0}}), 2u);
}

TEST(Scheduler, LowerPrioritySendsOnlyWhileNoHigherIsReady) {
  Scheduler s;
  // The high partition (id 1) is ready, then busy (in-flight limit), then ready again.
  EXPECT_EQ(s.pick(std::vector<SchedulerCandidate>{{1, 10}, {2, 0}}), 1u);
  EXPECT_EQ(s.pick(std::vector<SchedulerCandidate>{{2, 0}}), 2u);
  EXPECT_EQ(s.pick(std::vector<SchedulerCandidate>{{1, 10}, {2, 0}}), 1u);
}

TEST(Scheduler, FairShareAmongEqualsUnderManyPicks) {
  Scheduler s;
  const std::vector<SchedulerCandidate> ready = {{10, 3}, {20, 3}, {30, 3}, {40, 3}, {50, 1}};
  std::map<uint64_t, int> count;
  for (int i = 0; i < 4000; ++i) ++count[*s.pick(ready)];
  EXPECT_EQ(count[10], 1000);
  EXPECT_EQ(count[20], 1000);
  EXPECT_EQ(count[30], 1000);
  EXPECT_EQ(count[40], 1000);
  EXPECT_EQ(count.count(50), 0u);
}

}  // namespace
}  // namespace ferry::mirror
