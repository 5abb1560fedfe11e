// The mirror's pure parts: sequence numbers across the 2^31 wrap, the reconciliation decision
// from the target's batches, parsing fetched batches, and the status file format.
#include "mirror/reconcile.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "mirror/sequence.h"
#include "mirror/status.h"
#include "protocol/record_batch.h"

namespace ferry::mirror {
namespace {

constexpr int64_t kWrap = int64_t{1} << 31;

TEST(Sequence, SourceOffsetModTwoToThe31) {
  EXPECT_EQ(sequence_for(Offset(0)), 0);
  EXPECT_EQ(sequence_for(Offset(kWrap - 1)), INT32_MAX);
  EXPECT_EQ(sequence_for(Offset(kWrap)), 0);
  EXPECT_EQ(sequence_for(Offset(3 * kWrap + 17)), 17);
}

TEST(Sequence, SourceFromSequenceAndFloorAcrossTheWrap) {
  EXPECT_EQ(source_for(5, Offset(0)), Offset(5));
  EXPECT_EQ(source_for(5, Offset(5)), Offset(5));
  EXPECT_EQ(source_for(INT32_MAX, Offset(kWrap - 10)), Offset(kWrap - 1));
  EXPECT_EQ(source_for(3, Offset(kWrap - 10)), Offset(kWrap + 3));  // wrapped
  EXPECT_EQ(source_for(0, Offset(kWrap)), Offset(kWrap));
  EXPECT_EQ(source_for(4, Offset(5 * kWrap + 7)), Offset(6 * kWrap + 4));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    const int64_t floor = static_cast<int64_t>(rng() % (int64_t{1} << 40));
    const int64_t source = floor + static_cast<int64_t>(rng() % (kWrap - 1));
    EXPECT_EQ(source_for(sequence_for(Offset(source)), Offset(floor)), Offset(source));
  }
}

TargetBatch ours(int64_t target, int64_t source, int32_t count, int64_t pid = 7) {
  return {target, count - 1, pid, sequence_for(Offset(source)), false};
}

TEST(Reconcile, NothingFoundResumesAtTheCheckpoint) {
  Reconciler r(Offset(100), 40, {7});
  r.feed(std::vector<TargetBatch>{{40, 4, 99, 0, false}});  // another producer's batch
  EXPECT_EQ(r.resume_source(), Offset(100));
  EXPECT_EQ(r.resume_target(), 40);
  EXPECT_EQ(r.found(), 0);
  EXPECT_FALSE(r.problem());
}

TEST(Reconcile, ResumesAfterTheLastOfTheMirrorsBatches) {
  Reconciler r(Offset(100), 40, {7, 9});
  const std::vector<TargetBatch> a = {ours(40, 100, 5), {45, 2, 1234, 0, false}};
  const std::vector<TargetBatch> b = {ours(48, 105, 10, 9), {58, 0, -1, -1, false}};
  r.feed(a);
  r.feed(b);  // in two fetches; the second under a newer producer id
  EXPECT_EQ(r.resume_source(), Offset(115));
  EXPECT_EQ(r.resume_target(), 58);
  EXPECT_EQ(r.found(), 2);
  EXPECT_FALSE(r.problem());
}

TEST(Reconcile, IgnoresBatchesBeforeTheCheckpointAndUnknownProducerIds) {
  Reconciler r(Offset(100), 40, {7});
  // The fetch returned the batch holding offset 38..41 (before the checkpoint) — it is not
  // past the checkpoint, whatever it carries; and a batch of producer 8, not recorded.
  r.feed(std::vector<TargetBatch>{ours(36, 90, 4), ours(40, 100, 5, 8)});
  EXPECT_EQ(r.resume_source(), Offset(100));
  EXPECT_EQ(r.found(), 0);
}

TEST(Reconcile, AcrossTheSequenceWrap) {
  const Offset checkpoint(kWrap - 3);
  Reconciler r(checkpoint, 1000, {7});
  // 5 records from 2^31-3: base sequence 2^31-3, its last sequence wraps to 1.
  r.feed(std::vector<TargetBatch>{ours(1000, kWrap - 3, 5), ours(1005, kWrap + 2, 3)});
  EXPECT_FALSE(r.problem());
  EXPECT_EQ(r.resume_source(), Offset(kWrap + 5));
  EXPECT_EQ(r.resume_target(), 1008);
}

TEST(Reconcile, AHoleOrADuplicateIsAProblemNeverSilent) {
  Reconciler hole(Offset(100), 0, {7});
  hole.feed(std::vector<TargetBatch>{ours(0, 100, 5), ours(5, 110, 5)});  // 105..109 missing
  ASSERT_TRUE(hole.problem());
  EXPECT_NE(hole.problem()->find("but not those from 105"), std::string::npos);
  Reconciler dup(Offset(100), 0, {7});
  dup.feed(std::vector<TargetBatch>{ours(0, 100, 5), ours(5, 100, 5)});
  ASSERT_TRUE(dup.problem());
  EXPECT_NE(dup.problem()->find("twice"), std::string::npos);
  EXPECT_EQ(dup.resume_source(), Offset(105));  // not moved back
}

TEST(Reconcile, ParsesFetchedBatchesAndDropsAPartialTail) {
  protocol::RecordInput rec{"k", "v", 5, {}};
  std::vector<protocol::RecordInput> recs(3, rec);
  protocol::BuildOptions o;
  o.base_offset = Offset(40);
  o.producer_id = ProducerId(7);
  o.producer_epoch = 0;
  o.base_sequence = 100;
  auto a = protocol::build_batch(recs, o);
  ASSERT_TRUE(a.ok());
  o.base_offset = Offset(43);
  o.base_sequence = 103;
  o.compression = protocol::Compression::lz4;
  auto b = protocol::build_batch(recs, o);
  ASSERT_TRUE(b.ok());
  std::vector<std::byte> bytes = *a;
  bytes.insert(bytes.end(), b->begin(), b->end());
  bytes.insert(bytes.end(), b->begin(), b->begin() + 30);  // a fetch may end mid-batch
  const std::vector<TargetBatch> got = parse_target_batches(bytes);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].base_offset, 40);
  EXPECT_EQ(got[0].last_offset_delta, 2);
  EXPECT_EQ(got[0].producer_id, 7);
  EXPECT_EQ(got[0].base_sequence, 100);
  EXPECT_EQ(got[1].base_offset, 43);
  EXPECT_EQ(got[1].base_sequence, 103);
}

TEST(Status, FileRoundTripAndOutputs) {
  StatusSnapshot s;
  s.written_ms = 1'700'000'000'000;
  StatusRow r;
  r.mirror = "central";
  r.link_state = "backing_off";
  r.link_since_ms = s.written_ms - 5000;
  r.reconnects = 3;
  r.last_error = "NETWORK_EXCEPTION:\tclosed";  // a tab inside is written as a space
  r.last_error_ms = s.written_ms - 1000;
  r.topic = "t";
  r.partition = 2;
  r.target_topic = "site.t";
  r.state = "forwarding";
  r.source_end = 500;
  r.forwarded = 450;
  r.records_behind = 50;
  r.seconds_behind = 12;
  r.target_offset = 9450;
  r.bytes_behind = 4096;
  r.bytes_sent = 81920;
  r.records_sent = 450;
  r.last_ack_ms = s.written_ms - 2000;
  r.target_lost = 1;
  r.records_resent = 120;
  r.heartbeats_sent = 17;
  r.heartbeat_ok_ms = s.written_ms - 3000;
  s.rows.push_back(r);
  StatusRow idle;
  idle.mirror = "backup";
  idle.link_state = "disabled";
  s.rows.push_back(idle);
  auto back = parse_status_file(render_status_file(s));
  ASSERT_TRUE(back.ok()) << back.error().message();
  s.rows[0].last_error = "NETWORK_EXCEPTION: closed";
  EXPECT_EQ(*back, s);
  EXPECT_EQ(
      render_status_json(*back),
      "{\"written_ms\":1700000000000,\"mirrors\":[{\"name\":\"central\",\"link_state\":"
      "\"backing_off\",\"link_since_ms\":1699999995000,\"reconnects\":3,\"last_error\":"
      "\"NETWORK_EXCEPTION: closed\",\"last_error_ms\":1699999999000,"
      "\"heartbeats_sent\":17,\"heartbeat_ok_ms\":1699999997000,\"partitions\":[{"
      "\"topic\":\"t\",\"partition\":2,\"target_topic\":\"site.t\",\"state\":"
      "\"forwarding\",\"source_end\":500,\"forwarded\":450,\"records_behind\":50,"
      "\"seconds_behind\":12,\"target_offset\":9450,\"bytes_behind\":4096,"
      "\"bytes_sent\":81920,\"records_sent\":450,\"last_ack_ms\":1699999998000,"
      "\"target_lost\":1,\"records_resent\":120}]},{\"name\":\"backup\",\"link_state\":"
      "\"disabled\",\"link_since_ms\":0,\"reconnects\":0,\"last_error\":null,"
      "\"last_error_ms\":0,\"heartbeats_sent\":0,\"heartbeat_ok_ms\":0,\"partitions\":[]}]}\n");
  const std::string text = render_status_text(*back, s.written_ms);
  EXPECT_NE(text.find("mirror central: backing_off since 5s ago, 3 reconnects, 17 heartbeats "
                      "(last ok 3s ago)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("t/2 -> site.t"), std::string::npos) << text;
  EXPECT_NE(text.find("mirror backup: disabled"), std::string::npos) << text;
  EXPECT_FALSE(parse_status_file("something else\n").ok());
  // A version 1 file (15 columns) is refused rather than misread.
  EXPECT_FALSE(parse_status_file("ferry-mirror-status 1 5\nmirror\tlink_state\n").ok());
}

}  // namespace
}  // namespace ferry::mirror
