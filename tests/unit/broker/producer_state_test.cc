// PartitionProducers: each sequence and epoch rule for idempotent producers, the five-batch
// duplicate window, wrapping sequences, expiry and the snapshot encoding.
#include "broker/producers/producer_state.h"

#include <gtest/gtest.h>

#include <limits>

namespace ferry::broker {
namespace {

constexpr int64_t kPid = 42;
constexpr int64_t kNow = 1'000'000;

ProducerBatch batch(int32_t base_sequence, int32_t records, int16_t epoch = 0, int64_t pid = kPid) {
  return {pid, epoch, base_sequence, records - 1};
}

// Records `b` as appended at `first` (offsets first..first+records-1).
void append(PartitionProducers& p, const ProducerBatch& b, int64_t first, int64_t now = kNow) {
  ASSERT_TRUE(p.check(b, true).error.ok());
  ASSERT_FALSE(p.check(b, true).duplicate.has_value());
  p.record(b, Offset(first), Offset(first + b.last_offset_delta), first * 10, now);
}

ErrorCode verdict(const PartitionProducers& p, const ProducerBatch& b, bool issued = true) {
  return p.check(b, issued).error.code();
}

TEST(ProducerState, AFirstBatchIsAcceptedAtAnySequenceWhenTheIdWasIssuedHere) {
  PartitionProducers p;
  EXPECT_EQ(verdict(p, batch(0, 5)), ErrorCode::none);
  // No state (for example expired): any sequence, as Kafka 2.5+ does.
  EXPECT_EQ(verdict(p, batch(700, 5)), ErrorCode::none);
}

TEST(ProducerState, AnIdThisBrokerNeverIssuedIsUnknown) {
  PartitionProducers p;
  auto c = p.check(batch(3, 1), false);
  EXPECT_EQ(c.error.code(), ErrorCode::unknown_producer_id);
  EXPECT_NE(c.error.message().find("42"), std::string::npos) << c.error.message();
  // Once the partition has state for the id, the issued flag no longer matters.
  append(p, batch(0, 1), 0);
  EXPECT_EQ(verdict(p, batch(1, 1), false), ErrorCode::none);
}

TEST(ProducerState, InSequenceBatchesAreAcceptedAndAGapIsOutOfOrder) {
  PartitionProducers p;
  append(p, batch(0, 5), 0);
  append(p, batch(5, 3), 5);
  EXPECT_EQ(verdict(p, batch(8, 1)), ErrorCode::none);
  auto gap = p.check(batch(9, 1), true);
  EXPECT_EQ(gap.error.code(), ErrorCode::out_of_order_sequence_number);
  EXPECT_NE(gap.error.message().find("expected sequence 8"), std::string::npos)
      << gap.error.message();
  // Behind the window and not a cached batch: also out of order, never appended twice.
  EXPECT_EQ(verdict(p, batch(2, 2)), ErrorCode::out_of_order_sequence_number);
}

TEST(ProducerState, ARetryOfAnyOfTheLastFiveBatchesIsADuplicateWithItsOriginalOffsets) {
  PartitionProducers p;
  for (int i = 0; i < 7; ++i) append(p, batch(i * 10, 10), 100 + i * 10);
  // Batches 2..6 are cached (first sequences 20..60).
  for (int i = 2; i < 7; ++i) {
    auto c = p.check(batch(i * 10, 10), true);
    ASSERT_TRUE(c.error.ok()) << i;
    ASSERT_TRUE(c.duplicate.has_value()) << i;
    EXPECT_EQ(c.duplicate->first_offset, Offset(100 + i * 10));
    EXPECT_EQ(c.duplicate->last_offset, Offset(109 + i * 10));
    EXPECT_EQ(c.duplicate->timestamp_ms, (100 + i * 10) * 10);
  }
  // Batch 1 fell out of the window: it can no longer be recognised, so it is refused.
  EXPECT_EQ(verdict(p, batch(10, 10)), ErrorCode::out_of_order_sequence_number);
  EXPECT_FALSE(p.check(batch(10, 10), true).duplicate.has_value());
  // A batch with the right first sequence but another length is not the same batch.
  EXPECT_EQ(verdict(p, batch(60, 3)), ErrorCode::out_of_order_sequence_number);
}

TEST(ProducerState, AnOlderEpochIsFencedAndANewEpochMustStartAtZero) {
  PartitionProducers p;
  append(p, batch(0, 4, 3), 0);
  EXPECT_EQ(verdict(p, batch(4, 1, 2)), ErrorCode::invalid_producer_epoch);
  // A duplicate under an older epoch is still fenced, not answered.
  EXPECT_EQ(verdict(p, batch(0, 4, 2)), ErrorCode::invalid_producer_epoch);
  EXPECT_EQ(verdict(p, batch(4, 1, 4)), ErrorCode::out_of_order_sequence_number);
  append(p, batch(0, 2, 4), 4);
  EXPECT_EQ(p.find(kPid)->epoch, 4);
  ASSERT_EQ(p.find(kPid)->batches.size(), 1u);  // the old epoch's batches are gone
  EXPECT_EQ(verdict(p, batch(0, 4, 3)), ErrorCode::invalid_producer_epoch);
  EXPECT_EQ(verdict(p, batch(2, 1, 4)), ErrorCode::none);
}

TEST(ProducerState, SequencesWrapAfterInt32Max) {
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  EXPECT_EQ(batch(kMax - 1, 2).last_sequence(), kMax);
  EXPECT_EQ(batch(kMax - 1, 3).last_sequence(), 0);
  EXPECT_EQ(batch(kMax, 5).last_sequence(), 3);
  PartitionProducers p;
  append(p, batch(kMax - 4, 5), 0);  // ends at kMax
  EXPECT_EQ(verdict(p, batch(0, 1)), ErrorCode::none);
  EXPECT_EQ(verdict(p, batch(1, 1)), ErrorCode::out_of_order_sequence_number);
  append(p, batch(0, 1), 5);
  EXPECT_EQ(verdict(p, batch(1, 1)), ErrorCode::none);
}

TEST(ProducerState, ProducersAreTrackedIndependently) {
  PartitionProducers p;
  append(p, batch(0, 3, 0, 1), 0);
  append(p, batch(0, 3, 0, 2), 3);
  EXPECT_TRUE(p.check(batch(0, 3, 0, 1), true).duplicate.has_value());
  EXPECT_EQ(p.check(batch(0, 3, 0, 2), true).duplicate->first_offset, Offset(3));
  EXPECT_EQ(verdict(p, batch(3, 1, 0, 1)), ErrorCode::none);
  EXPECT_EQ(p.size(), 2u);
}

TEST(ProducerState, IdleProducersExpire) {
  PartitionProducers p;
  append(p, batch(0, 1, 0, 1), 0, kNow);
  append(p, batch(0, 1, 0, 2), 1, kNow + 500);
  p.clear_changed();
  EXPECT_EQ(p.expire(kNow + 999, 1000), 0u);
  EXPECT_FALSE(p.changed());
  EXPECT_EQ(p.expire(kNow + 1000, 1000), 1u);
  EXPECT_TRUE(p.changed());
  EXPECT_EQ(p.find(1), nullptr);
  ASSERT_NE(p.find(2), nullptr);
  // With its state gone the producer may continue at any sequence.
  EXPECT_EQ(verdict(p, batch(57, 1, 0, 1)), ErrorCode::none);
}

TEST(ProducerState, SnapshotRowsRoundTrip) {
  PartitionProducers p;
  for (int i = 0; i < 6; ++i) append(p, batch(i * 2, 2, 1, 9), 1000 + i * 2, kNow + i);
  append(p, batch(0, 1, 0, 3), 2000, kNow);
  auto rows = p.to_records("t", PartitionId(2));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].producer_id, ProducerId(3));
  EXPECT_EQ(rows[1].producer_id, ProducerId(9));
  EXPECT_EQ(rows[1].topic, "t");
  EXPECT_EQ(rows[1].partition, PartitionId(2));
  EXPECT_EQ(rows[1].producer_epoch, 1);
  EXPECT_EQ(rows[1].last_sequence, 11);
  EXPECT_EQ(rows[1].last_offset, Offset(1011));
  EXPECT_EQ(rows[1].timestamp_ms, kNow + 5);
  EXPECT_EQ(rows[1].batches.size(), 5u * 28);

  PartitionProducers q;
  ASSERT_TRUE(q.load(rows).ok());
  EXPECT_FALSE(q.changed());
  for (int i = 1; i < 6; ++i) {
    auto c = q.check(batch(i * 2, 2, 1, 9), true);
    ASSERT_TRUE(c.duplicate.has_value()) << i;
    EXPECT_EQ(c.duplicate->first_offset, Offset(1000 + i * 2));
  }
  EXPECT_EQ(verdict(q, batch(12, 1, 1, 9)), ErrorCode::none);
  EXPECT_EQ(verdict(q, batch(13, 1, 1, 9)), ErrorCode::out_of_order_sequence_number);
  EXPECT_EQ(q.to_records("t", PartitionId(2)), rows);
}

TEST(ProducerState, AnUnreadableSnapshotRowIsSkippedAndReported) {
  PartitionProducers p;
  append(p, batch(0, 1, 0, 1), 0);
  append(p, batch(0, 1, 0, 2), 1);
  auto rows = p.to_records("t", PartitionId(0));
  rows[0].batches.resize(27);  // producer 1: truncated
  PartitionProducers q;
  auto st = q.load(rows);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("1"), std::string::npos);
  EXPECT_EQ(q.find(1), nullptr);
  EXPECT_NE(q.find(2), nullptr);
}

}  // namespace
}  // namespace ferry::broker
