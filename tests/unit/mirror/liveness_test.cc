// The mirror's liveness and lost-target parts that need no network: the heartbeat record's key
// and value, and what a target that lost records can still be shown to hold (UnshownFinder).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "mirror/heartbeat.h"
#include "mirror/lost_target.h"
#include "mirror/sequence.h"

namespace ferry::mirror {
namespace {

constexpr int64_t kWrap = int64_t{1} << 31;

// A batch of the mirror's as the target stores it: source offsets [base, base + count).
TargetBatch ours(int64_t target_offset, int64_t source_base, int32_t count, int64_t pid = 7) {
  return {target_offset, count - 1, pid, sequence_for(Offset(source_base)), false};
}

TEST(Heartbeat, KeyAndValue) {
  EXPECT_EQ(heartbeat_key(42, "central"), "42/central");
  EXPECT_EQ(heartbeat_value(42, "central", 1'700'000'000'123, {5, 1234}),
            "{\"node\":42,\"mirror\":\"central\",\"sent_ms\":1700000000123,\"partitions\":5,"
            "\"records_behind\":1234}");
}

TEST(UnshownFinder, ARecreatedTargetShowsNothing) {
  UnshownFinder f({7}, Offset(0), Offset(300));
  EXPECT_EQ(f.first_unshown(), Offset(0));
  const std::vector<TargetBatch> foreign = {{0, 9, 99, 0, false}};  // another producer's
  f.feed(foreign);
  EXPECT_EQ(f.first_unshown(), Offset(0));
  EXPECT_EQ(f.found(), 0);
}

TEST(UnshownFinder, ATruncatedTargetShowsItsPrefix) {
  // The target kept source offsets 0-199 of 300 acknowledged (lost its tail).
  UnshownFinder f({7}, Offset(0), Offset(300));
  const std::vector<TargetBatch> b = {ours(0, 0, 100), ours(100, 100, 50), ours(150, 150, 50)};
  f.feed(b);
  EXPECT_EQ(f.first_unshown(), Offset(200));
  EXPECT_EQ(f.found(), 3);
}

TEST(UnshownFinder, OnlyWhatJoinsUpFromTheGatewaysStartCounts) {
  // The gateway holds from 100 on; the target holds 0-149 and, after a gap, 200-249.
  UnshownFinder f({7, 8}, Offset(100), Offset(250));
  const std::vector<TargetBatch> b = {ours(0, 0, 100), ours(100, 100, 50, 8), ours(150, 200, 50)};
  f.feed(b);
  EXPECT_EQ(f.first_unshown(), Offset(150));
  // The missing batch arrives later on the target (a resend): the ranges join up.
  const std::vector<TargetBatch> late = {ours(200, 150, 50)};
  f.feed(late);
  EXPECT_EQ(f.first_unshown(), Offset(250));
}

TEST(UnshownFinder, OnlyANewerBatchOnARecreatedTopic) {
  // The topic was re-created and one batch (source 290-299) landed on it before the mirror
  // noticed: nothing from the gateway's start is shown, so everything is resent.
  UnshownFinder f({7}, Offset(0), Offset(290));
  const std::vector<TargetBatch> b = {ours(0, 290, 10)};
  f.feed(b);
  EXPECT_EQ(f.first_unshown(), Offset(0));
}

TEST(UnshownFinder, SequencesResolvedAcrossTheWrap) {
  UnshownFinder f({7}, Offset(kWrap - 100), Offset(kWrap + 50));
  const std::vector<TargetBatch> b = {ours(0, kWrap - 100, 100), ours(100, kWrap, 60)};
  f.feed(b);
  EXPECT_EQ(f.first_unshown(), Offset(kWrap + 60));
}

}  // namespace
}  // namespace ferry::mirror
