// Unit tests of broker::Partition over a real storage::Log: leader-epoch stamping, the high
// watermark apart from the log end, follower appends and truncation, fetch wake-ups, and the
// leader's LZ4 storage encoding (leader_encoding.h).
#include "broker/partition.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "broker/fetch_waiters.h"
#include "broker/leader_encoding.h"
#include "protocol/record_batch.h"
#include "storage/log.h"
#include "support/test_support.h"

namespace ferry::broker {
namespace {

using protocol::BatchView;
using storage::Log;
using storage::LogConfig;
using test::make_batch;
using test::TempDir;

std::shared_ptr<Log> open_log(const std::string& dir, const LogConfig& cfg = {}) {
  auto log = Log::open(dir, cfg);  // no loop: flushes run inline
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().to_string());
  return log.ok() ? log.value() : nullptr;
}

// Every batch of a read, as views into `r`.
std::vector<BatchView> batches_of(const storage::ReadResult& r) {
  std::vector<BatchView> out;
  std::span<const std::byte> rest(r.data);
  while (!rest.empty()) {
    auto n = protocol::declared_batch_size(rest);
    if (!n || *n > rest.size()) break;
    out.emplace_back(rest.first(*n));
    rest = rest.subspan(*n);
  }
  return out;
}

// A batch copied from a leader: `count` records from `base`, stamped with `epoch`.
std::vector<std::byte> leader_batch(int64_t base, int count, int32_t epoch,
                                    const std::string& prefix = "f") {
  auto b = make_batch(count, prefix);
  protocol::set_base_offset(b, Offset(base));
  protocol::set_leader_epoch(b, LeaderEpoch(epoch));
  return b;
}

TEST(Partition, AppendStampsTheLeaderEpochAndCommitsAtOnceOnASingleNode) {
  TempDir dir;
  Partition p("t", PartitionId(0), open_log(dir.path()), nullptr);
  EXPECT_EQ(p.leader_epoch(), LeaderEpoch(0));
  auto b = make_batch(3, "a");
  protocol::set_leader_epoch(b, LeaderEpoch(-1));  // what producers send
  auto info = p.append(b);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(p.log_end_offset(), Offset(3));
  EXPECT_EQ(p.high_watermark(), Offset(3));
  auto r = p.read(Offset(0), 1 << 20);
  ASSERT_TRUE(r.ok());
  auto v = batches_of(*r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].leader_epoch(), LeaderEpoch(0));
  EXPECT_TRUE(protocol::validate_batch(v[0].bytes()).ok());  // the epoch is outside the CRC
}

TEST(Partition, LeaderEpochStartsAtTheEpochStampedInTheLog) {
  TempDir dir;
  {
    Partition p("t", PartitionId(0), open_log(dir.path()), nullptr);
    p.set_leader_epoch(LeaderEpoch(4));
    p.set_leader_epoch(LeaderEpoch(2));  // never goes back
    EXPECT_EQ(p.leader_epoch(), LeaderEpoch(4));
    auto b = make_batch(2);
    ASSERT_TRUE(p.append(b).ok());
    p.log().flush();
  }
  Partition reopened("t", PartitionId(0), open_log(dir.path()), nullptr);
  EXPECT_EQ(reopened.leader_epoch(), LeaderEpoch(4));
  EXPECT_EQ(reopened.high_watermark(), Offset(2));
}

TEST(Partition, FollowerHighWatermarkMovesOnlyWhenAdvancedAndBoundsReads) {
  TempDir dir;
  Partition p("t", PartitionId(1), open_log(dir.path()), nullptr,
              Partition::Commit::by_replication);
  auto b1 = leader_batch(0, 2, 7);
  auto b2 = leader_batch(2, 3, 7);
  ASSERT_TRUE(p.append_at_offset(b1).ok());
  ASSERT_TRUE(p.append_at_offset(b2).ok());
  EXPECT_EQ(p.log_end_offset(), Offset(5));
  EXPECT_EQ(p.high_watermark(), Offset(0));
  auto r = p.read(Offset(0), 1 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->data.empty());  // nothing committed yet

  p.advance_high_watermark(Offset(2));
  r = p.read(Offset(0), 1 << 20);
  ASSERT_TRUE(r.ok());
  auto v = batches_of(*r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].leader_epoch(), LeaderEpoch(7));  // stored as the leader stamped it
  EXPECT_EQ(r->next_offset, Offset(2));

  p.advance_high_watermark(Offset(99));  // capped at the log end
  EXPECT_EQ(p.high_watermark(), Offset(5));
  p.advance_high_watermark(Offset(1));  // never down
  EXPECT_EQ(p.high_watermark(), Offset(5));
}

TEST(Partition, AppendAtOffsetRefusesABatchThatDoesNotStartAtTheLogEnd) {
  TempDir dir;
  Partition p("t", PartitionId(0), open_log(dir.path()), nullptr,
              Partition::Commit::by_replication);
  auto gap = leader_batch(5, 1, 0);
  auto r = p.append_at_offset(gap);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::invalid_argument);
  EXPECT_EQ(p.log_end_offset(), Offset(0));
}

TEST(Partition, TruncateToCutsTheTailAcrossSegmentsAndSurvivesReopen) {
  TempDir dir;
  LogConfig cfg;
  cfg.segment_bytes = 300;  // a few batches per segment
  {
    Partition p("t", PartitionId(0), open_log(dir.path(), cfg), nullptr,
                Partition::Commit::by_replication);
    for (int64_t i = 0; i < 12; ++i) {
      auto b = leader_batch(i * 2, 2, 1, "x" + std::to_string(i));
      ASSERT_TRUE(p.append_at_offset(b).ok());
    }
    ASSERT_GE(p.log().segment_count(), 3u);
    p.advance_high_watermark(Offset(24));
    const size_t segments_before = p.log().segment_count();

    // Offset 9 is inside the batch [8, 9]: that batch goes whole.
    auto end = p.truncate_to(Offset(9));
    ASSERT_TRUE(end.ok()) << end.error().to_string();
    EXPECT_EQ(*end, Offset(8));
    EXPECT_EQ(p.log_end_offset(), Offset(8));
    EXPECT_EQ(p.high_watermark(), Offset(8));
    EXPECT_LT(p.log().segment_count(), segments_before);

    // The log goes on from the cut: a diverging leader's batch takes offset 8.
    auto next = leader_batch(8, 2, 2, "new");
    ASSERT_TRUE(p.append_at_offset(next).ok());
    p.log().flush();
  }
  auto log = open_log(dir.path(), cfg);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_end_offset(), Offset(10));
  auto r = log->read(Offset(6), 1 << 20);
  ASSERT_TRUE(r.ok());
  auto v = batches_of(*r);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].base_offset(), Offset(6));
  EXPECT_EQ(v[0].leader_epoch(), LeaderEpoch(1));
  EXPECT_EQ(v[1].base_offset(), Offset(8));
  EXPECT_EQ(v[1].leader_epoch(), LeaderEpoch(2));
}

TEST(Partition, TruncateToAtOrPastTheEndChangesNothingAndBelowTheStartIsRefused) {
  TempDir dir;
  Partition p("t", PartitionId(0), open_log(dir.path()), nullptr);
  auto b = make_batch(4);
  ASSERT_TRUE(p.append(b).ok());
  auto end = p.truncate_to(Offset(4));
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, Offset(4));
  EXPECT_EQ(p.high_watermark(), Offset(4));
  auto below = p.truncate_to(Offset(-1));
  ASSERT_FALSE(below.ok());
  EXPECT_EQ(below.error().code(), Errc::out_of_range);
  auto all = p.truncate_to(Offset(0));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, Offset(0));
  EXPECT_EQ(p.log_end_offset(), Offset(0));
}

// A parked fetch completes when the high watermark moves over enough bytes, not when a follower
// merely writes them.
TEST(Partition, ParkedFetchWakesWhenTheHighWatermarkMoves) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    TempDir dir;
    FetchWaiters waiters(&loop);
    Partition p("t", PartitionId(0), open_log(dir.path()), &waiters,
                Partition::Commit::by_replication);
    bool woken = false;
    waiters.park({{"t", 0}}, 1, 60000, [&] { woken = true; });
    auto b = leader_batch(0, 2, 0);
    ASSERT_TRUE(p.append_at_offset(b).ok());
    EXPECT_FALSE(woken);
    p.advance_high_watermark(Offset(2));
    EXPECT_TRUE(woken);
    EXPECT_EQ(waiters.size(), 0u);

    // Single node: the append itself commits and wakes.
    Partition leader("u", PartitionId(0), open_log(dir.path() + "/u"), &waiters);
    bool leader_woken = false;
    waiters.park({{"u", 0}}, 1, 60000, [&] { leader_woken = true; });
    auto c = make_batch(1);
    ASSERT_TRUE(leader.append(c).ok());
    EXPECT_TRUE(leader_woken);
  }
  for (int i = 0; i < 10 && uv_run(&loop, UV_RUN_NOWAIT) != 0; ++i) {
  }
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(Partition, RetentionFloorIsHeldForRetention) {
  TempDir dir;
  Partition p("t", PartitionId(0), open_log(dir.path()), nullptr);
  EXPECT_FALSE(p.retention_floor().has_value());
  p.set_retention_floor(Offset(42));
  EXPECT_EQ(p.retention_floor(), Offset(42));
}

TEST(LeaderEncoding, StoresUncompressedBatchesAsLz4WhenTheTopicAsks) {
  config::TopicSettings settings;
  auto b = make_batch(50, "compressible", 1, 300);
  EXPECT_FALSE(encode_for_storage(b, settings).has_value());  // compression.type=producer
  settings.store_codec = protocol::Compression::lz4;
  auto lz = encode_for_storage(b, settings);
  ASSERT_TRUE(lz.has_value());
  EXPECT_LT(lz->size(), b.size() / 4);
  const BatchView v(*lz);
  EXPECT_EQ(v.compression(), protocol::Compression::lz4);
  EXPECT_EQ(v.record_count(), 50);
  EXPECT_TRUE(protocol::validate_batch(*lz).ok());
  std::vector<std::byte> scratch;
  auto recs = protocol::decode_records(v, scratch);
  ASSERT_TRUE(recs.ok());
  ASSERT_EQ(recs->size(), 50u);
  EXPECT_EQ(test::to_string(*(*recs)[49].value).substr(0, 15), "compressible-49");
}

// A damaged batch is not re-encoded (that would give it a valid CRC): it is left for the
// append's check to refuse.
TEST(LeaderEncoding, LeavesADamagedBatchAlone) {
  config::TopicSettings settings;
  settings.store_codec = protocol::Compression::lz4;
  auto b = make_batch(50, "compressible", 1, 300);
  b[b.size() - 3] ^= std::byte{0x5a};
  EXPECT_FALSE(encode_for_storage(b, settings).has_value());
}

}  // namespace
}  // namespace ferry::broker
