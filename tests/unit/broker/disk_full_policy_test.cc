// The per-topic disk-full policy (broker/disk_guard.h) against an in-process broker whose
// free-space source is a fake: refuse answers produce with KAFKA_STORAGE_ERROR and keeps every
// acknowledged record; drop_oldest deletes the oldest segments despite the keep-until-mirrored
// floor, counts and logs the ranges, and produce goes on; a write that fails with ENOSPC (the
// platform's write-space seam) triggers the policy even when statvfs shows space.
#include <gtest/gtest.h>

#include "broker/disk_guard.h"
#include "broker_fixture.h"
#include "platform/file.h"

namespace ferry::broker::test {
namespace {

using namespace protocol;

constexpr uint64_t kMinFree = 1 << 20;

class DiskFullPolicyTest : public BrokerFixture {
 protected:
  void configure(config::BrokerConfig& cfg) override {
    cfg.log_dir_min_free_bytes = static_cast<int64_t>(kMinFree);
  }
  void SetUp() override {
    BrokerFixture::SetUp();
    ASSERT_NE(broker_, nullptr);
    // What the policy deletes comes back as free space, as with a real statvfs (the periodic
    // check runs too while the loop runs).
    broker_->disk_guard().set_free_space([this]() -> Result<platform::SpaceInfo> {
      return platform::SpaceInfo{uint64_t{1} << 30,
                                 free_ + broker_->disk_guard().counters().bytes_dropped};
    });
  }
  void TearDown() override {
    platform::set_write_space_for_testing(std::nullopt);
    BrokerFixture::TearDown();
  }

  ProduceResponse::Topic::Partition produce(const std::string& topic, int32_t partition,
                                            std::span<const std::byte> b) {
    ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 5000;
    ProduceRequest::Topic t;
    t.name = topic;
    t.partition_data.push_back({partition, RecordsRef{b}});
    req.topic_data.push_back(t);
    auto resp = call<ProduceResponse>(ApiKey::produce, 8, req);
    if (resp.responses.empty() || resp.responses[0].partition_responses.empty()) return {};
    return resp.responses[0].partition_responses[0];
  }
  // Produces `n` batches of 5 records each; every one must be acknowledged.
  void produce_ok(const std::string& topic, int32_t partition, int n) {
    for (int i = 0; i < n; ++i) {
      auto batch = ferry::test::make_batch(5, "r", 1'700'000'000'000, 200);
      auto p = produce(topic, partition, batch);
      ASSERT_EQ(p.error_code, 0) << topic << "-" << partition << " batch " << i;
    }
  }
  std::vector<FetchedRecord> fetch_from(const std::string& topic, int32_t partition,
                                        int64_t offset) {
    auto resp = call<FetchResponse>(ApiKey::fetch, 11, fetch_request(topic, partition, offset));
    const auto& p = resp.responses.at(0).partitions.at(0);
    EXPECT_EQ(p.error_code, 0);
    if (!p.records.data) return {};
    return fetched_records(*p.records.data);
  }
  std::shared_ptr<Partition> part(const std::string& topic, int32_t p) {
    return broker_->topics().partition(topic, p);
  }

  uint64_t free_ = uint64_t{1} << 30;  // free space before anything was dropped
};

TEST_F(DiskFullPolicyTest, RefuseAnswersStorageErrorAndKeepsEveryAcknowledgedRecord) {
  ASSERT_EQ(create_topic("keep", 1).topics.at(0).error_code, 0);
  produce_ok("keep", 0, 4);
  // A mirror that has forwarded nothing holds the floor at 0.
  part("keep", 0)->set_retention_floor(Offset(0));

  ferry::test::LogCapture capture;
  free_ = kMinFree - 1;
  broker_->disk_guard().check();
  EXPECT_TRUE(broker_->disk_guard().low());
  EXPECT_TRUE(capture.saw("data directory nearly full"));

  auto batch = ferry::test::make_batch(5, "late");
  auto refused = produce("keep", 0, batch);
  EXPECT_EQ(refused.error_code, static_cast<int16_t>(ErrorCode::kafka_storage_error));
  EXPECT_EQ(broker_->disk_guard().counters().produce_refused, 1u);
  EXPECT_EQ(broker_->disk_guard().counters().bytes_dropped, 0u);
  EXPECT_EQ(part("keep", 0)->log_end_offset(), Offset(20)) << "a refused batch was written";
  EXPECT_EQ(part("keep", 0)->log_start_offset(), Offset(0)) << "refuse deleted data";
  EXPECT_EQ(fetch_from("keep", 0, 0).size(), 20u);

  // Space freed elsewhere: produce is accepted again.
  free_ = kMinFree;
  broker_->disk_guard().check();
  EXPECT_FALSE(broker_->disk_guard().low());
  EXPECT_TRUE(capture.saw("data directory has space again"));
  EXPECT_EQ(produce("keep", 0, batch).error_code, 0);
  EXPECT_EQ(fetch_from("keep", 0, 0).size(), 25u);
}

TEST_F(DiskFullPolicyTest, DropOldestDeletesUnforwardedSegmentsCountsAndLogsThem) {
  ASSERT_EQ(create_topic("ring", 2, {{"disk.full.policy", "drop_oldest"}}).topics.at(0).error_code,
            0);
  ASSERT_EQ(create_topic("keep", 1).topics.at(0).error_code, 0);
  produce_ok("ring", 0, 6);  // the larger partition: its segment goes first
  produce_ok("ring", 1, 2);
  produce_ok("keep", 0, 2);
  part("ring", 0)->set_retention_floor(Offset(10));  // offsets 10.. not yet forwarded
  part("ring", 1)->set_retention_floor(Offset(0));
  part("keep", 0)->set_retention_floor(Offset(0));
  const uint64_t ring0_bytes = part("ring", 0)->log().size_bytes();
  ASSERT_GT(ring0_bytes, 0u);

  ferry::test::LogCapture capture;
  free_ = kMinFree - 100;  // one segment's bytes are enough
  broker_->disk_guard().check();
  const DiskFullCounters& c = broker_->disk_guard().counters();
  EXPECT_EQ(c.segments_dropped, 1u);
  EXPECT_EQ(c.bytes_dropped, ring0_bytes);
  EXPECT_EQ(c.offsets_dropped, 30u);
  EXPECT_EQ(c.unforwarded_offsets_dropped, 20u);
  EXPECT_TRUE(capture.saw("dropped ring-0 offsets 0 to 29"));
  EXPECT_TRUE(capture.saw("offsets 10 to 29 were not yet forwarded"));
  EXPECT_EQ(part("ring", 0)->log_start_offset(), Offset(30));
  EXPECT_EQ(part("ring", 1)->log_start_offset(), Offset(0)) << "more was dropped than needed";
  EXPECT_EQ(part("keep", 0)->log_start_offset(), Offset(0)) << "a refuse topic lost data";
  EXPECT_FALSE(broker_->disk_guard().low()) << "the freed bytes cover the deficit";

  // Produce goes on at the old end.
  auto batch = ferry::test::make_batch(5, "after");
  auto p = produce("ring", 0, batch);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.base_offset, 30);
  EXPECT_EQ(fetch_from("ring", 0, 30).size(), 5u);

  // Still short of space although everything droppable went: the refuse topic is refused, the
  // drop_oldest one is not.
  free_ = 0;
  broker_->disk_guard().check();
  EXPECT_TRUE(broker_->disk_guard().low());
  EXPECT_EQ(part("ring", 1)->log_start_offset(), Offset(10));
  EXPECT_EQ(produce("keep", 0, batch).error_code,
            static_cast<int16_t>(ErrorCode::kafka_storage_error));
  EXPECT_EQ(produce("ring", 1, batch).error_code, 0);
}

TEST_F(DiskFullPolicyTest, AWriteFailingWithEnospcDropsASegmentEvenWhenStatvfsShowsSpace) {
  ASSERT_EQ(create_topic("ring", 1, {{"disk.full.policy", "drop_oldest"}}).topics.at(0).error_code,
            0);
  produce_ok("ring", 0, 3);
  part("ring", 0)->set_retention_floor(Offset(0));

  ferry::test::LogCapture capture;
  platform::set_write_space_for_testing(10);  // the next write hits ENOSPC
  auto batch = ferry::test::make_batch(5, "full");
  EXPECT_EQ(produce("ring", 0, batch).error_code,
            static_cast<int16_t>(ErrorCode::kafka_storage_error));
  platform::set_write_space_for_testing(std::nullopt);
  // The guard checks on the next loop turn.
  ASSERT_TRUE(run_until([&] { return broker_->disk_guard().counters().segments_dropped > 0; }));
  EXPECT_EQ(broker_->disk_guard().counters().enospc_writes, 1u);
  EXPECT_EQ(part("ring", 0)->log_start_offset(), Offset(15));
  EXPECT_TRUE(capture.saw("dropped ring-0 offsets 0 to 14"));
}

TEST_F(DiskFullPolicyTest, ThePolicyIsATopicConfigDescribeConfigsShows) {
  ASSERT_EQ(create_topic("ring", 1, {{"disk.full.policy", "drop_oldest"}}).topics.at(0).error_code,
            0);
  EXPECT_NE(create_topic("bad", 1, {{"disk.full.policy", "drop_newest"}}).topics.at(0).error_code,
            0);
  DescribeConfigsRequest req;
  DescribeConfigsRequest::Resource r;
  r.resource_type = 2;  // topic
  r.resource_name = "ring";
  req.resources.push_back(r);
  auto resp = call<DescribeConfigsResponse>(ApiKey::describe_configs, 3, req);
  bool found = false;
  for (const auto& e : resp.results.at(0).configs) {
    if (e.name != "disk.full.policy") continue;
    found = true;
    EXPECT_EQ(e.value, std::optional<std::string>("drop_oldest"));
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace ferry::broker::test
