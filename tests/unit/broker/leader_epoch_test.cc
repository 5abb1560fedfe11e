// Leader epochs over the wire: OffsetForLeaderEpoch (v0-v3) answered from the partition log's
// epoch cache with Kafka's errors, the current_leader_epoch fence of Fetch and ListOffsets,
// Metadata's leader epoch, ApiVersions listing key 23, a record-less epoch-start batch
// (Partition::append_epoch_start) served by Fetch and stepped over, and the authorization rule
// (CLUSTER_ACTION, else DESCRIBE on the topic).
#include <gtest/gtest.h>

#include <chrono>

#include "broker/authz/acl.h"
#include "broker_fixture.h"

namespace ferry::broker::test {
namespace {

using namespace protocol;

constexpr int16_t kNone = 0;
constexpr int16_t kUnknownTopic = 3;
constexpr int16_t kNotLeader = 6;
constexpr int16_t kTopicDenied = 29;
constexpr int16_t kFenced = 74;
constexpr int16_t kUnknownEpoch = 75;

class LeaderEpochTest : public BrokerFixture {
 protected:
  void configure(config::BrokerConfig& c) override { c.authorizer_enabled = authz_; }

  void produce(const std::string& topic, int records) {
    batches_.push_back(ferry::test::make_batch(records, "v"));
    ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 5000;
    req.topic_data.push_back(
        {topic, {{0, RecordsRef{std::span<const std::byte>(batches_.back())}}}});
    auto resp = call<ProduceResponse>(ApiKey::produce, 8, req);
    ASSERT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 0);
  }
  // The epoch-start batch of `epoch`, through the leader's write job; returns its offset.
  int64_t start_epoch(const std::string& topic, int32_t epoch) {
    auto part = broker_->topics().partition(topic, 0);
    EXPECT_TRUE(part);
    std::optional<Result<storage::AppendInfo>> got;
    part->append_epoch_start(LeaderEpoch(epoch), 1'700'000'000'000,
                             [&](Result<storage::AppendInfo> r) { got = std::move(r); });
    EXPECT_TRUE(run_until([&] { return got.has_value(); }));
    if (!got || !*got) {
      ADD_FAILURE() << (got ? got->error().to_string() : "no answer");
      return -1;
    }
    EXPECT_EQ((*got)->last_offset, (*got)->base_offset);
    return (*got)->base_offset.value();
  }
  OffsetForLeaderEpochResponse::Topic::Partition ask(const std::string& topic, int32_t partition,
                                                     int32_t epoch, int32_t current = -1,
                                                     int16_t version = 3, int32_t replica = -1) {
    OffsetForLeaderEpochRequest req;
    req.replica_id = replica;
    req.topics.push_back({topic, {{partition, current, epoch}}});
    auto resp = call<OffsetForLeaderEpochResponse>(ApiKey::offset_for_leader_epoch, version, req);
    EXPECT_EQ(resp.topics.size(), 1u);
    if (resp.topics.empty() || resp.topics[0].partitions.empty()) return {};
    EXPECT_EQ(resp.topics[0].topic, topic);
    EXPECT_EQ(resp.topics[0].partitions[0].partition, partition);
    return resp.topics[0].partitions[0];
  }

  bool authz_ = false;
  std::vector<std::vector<std::byte>> batches_;
};

// Epoch 0: offsets 0-4; the epoch-3 start batch at 5; epoch 3 records 6-8 (log end 9).
TEST_F(LeaderEpochTest, OffsetForLeaderEpochAnswersFromTheEpochCache) {
  ASSERT_EQ(create_topic("e", 1).topics.at(0).error_code, 0);
  produce("e", 5);
  EXPECT_EQ(start_epoch("e", 3), 5);
  produce("e", 3);
  auto part = broker_->topics().partition("e", 0);
  EXPECT_EQ(part->leader_epoch(), LeaderEpoch(3));
  EXPECT_EQ(
      part->log().epoch_entries(),
      (std::vector<storage::EpochEntry>{{LeaderEpoch(0), Offset(0)}, {LeaderEpoch(3), Offset(5)}}));
  for (int16_t v = 0; v <= 3; ++v) {
    auto r = ask("e", 0, 0, -1, v);
    EXPECT_EQ(r.error_code, kNone) << "v" << v;
    EXPECT_EQ(r.end_offset, 5) << "v" << v;
    EXPECT_EQ(r.leader_epoch, v >= 1 ? 0 : -1) << "v" << v;  // v0 does not carry it
  }
  auto r = ask("e", 0, 2);  // the largest epoch <= 2 is 0
  EXPECT_EQ(r.leader_epoch, 0);
  EXPECT_EQ(r.end_offset, 5);
  r = ask("e", 0, 3);  // the current epoch: the log end
  EXPECT_EQ(r.leader_epoch, 3);
  EXPECT_EQ(r.end_offset, 9);
  r = ask("e", 0, 9);  // newer than all: last epoch and log end
  EXPECT_EQ(r.leader_epoch, 3);
  EXPECT_EQ(r.end_offset, 9);
  EXPECT_EQ(ask("e", 0, 3, 3).error_code, kNone);   // current epoch matches
  EXPECT_EQ(ask("e", 0, 3, -1).error_code, kNone);  // no check
  EXPECT_EQ(ask("e", 0, 0, 2).error_code, kFenced);
  EXPECT_EQ(ask("e", 0, 0, 4).error_code, kUnknownEpoch);
  EXPECT_EQ(ask("e", 0, 0, 2, 1).error_code, kNone);  // v1 has no current_leader_epoch
  EXPECT_EQ(ask("nope", 0, 0).error_code, kUnknownTopic);
  EXPECT_EQ(ask("e", 7, 0).error_code, kUnknownTopic);
  auto unknown = ask("e", 7, 0);
  EXPECT_EQ(unknown.end_offset, -1);
  EXPECT_EQ(unknown.leader_epoch, -1);
  part->set_replicas(part->replicas(), false);
  EXPECT_EQ(ask("e", 0, 0).error_code, kNotLeader);
  part->set_replicas(part->replicas(), true);

  // The epoch survives a restart: it starts from the cache, not the stamped last batch only.
  conns_.clear();
  stop_broker();
  start_broker();
  EXPECT_EQ(broker_->topics().partition("e", 0)->leader_epoch(), LeaderEpoch(3));
  r = ask("e", 0, 1);
  EXPECT_EQ(r.leader_epoch, 0);
  EXPECT_EQ(r.end_offset, 5);
}

TEST_F(LeaderEpochTest, OlderEpochThanTheLogHoldsIsUndefined) {
  ASSERT_EQ(create_topic("o", 1).topics.at(0).error_code, 0);
  EXPECT_EQ(start_epoch("o", 4), 0);
  auto r = ask("o", 0, 2);
  EXPECT_EQ(r.error_code, kNone);
  EXPECT_EQ(r.leader_epoch, -1);
  EXPECT_EQ(r.end_offset, -1);
  // An epoch below the current one is refused, and nothing is written.
  auto part = broker_->topics().partition("o", 0);
  std::optional<Result<storage::AppendInfo>> got;
  part->append_epoch_start(LeaderEpoch(2), 0, [&](auto res) { got = std::move(res); });
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->ok());
  EXPECT_EQ(part->log_end_offset(), Offset(1));
}

TEST_F(LeaderEpochTest, FetchAndListOffsetsFenceOnCurrentLeaderEpoch) {
  ASSERT_EQ(create_topic("f", 1).topics.at(0).error_code, 0);
  produce("f", 2);
  start_epoch("f", 2);
  produce("f", 2);
  auto fetch = [&](int32_t current) {
    auto req = fetch_request("f", 0, 0);
    req.topics[0].partitions[0].current_leader_epoch = current;
    return call<FetchResponse>(ApiKey::fetch, 11, req).responses.at(0).partitions.at(0);
  };
  EXPECT_EQ(fetch(1).error_code, kFenced);
  EXPECT_EQ(fetch(3).error_code, kUnknownEpoch);
  auto ok = fetch(2);
  EXPECT_EQ(ok.error_code, kNone);
  // The record-less batch is served in place and its offset skipped: records 0, 1, 3, 4. (Read
  // before the next call: the response's records view the fixture's frame buffer.)
  ASSERT_TRUE(ok.records.data.has_value());
  std::vector<int64_t> offsets;
  for (auto& rec : fetched_records(*ok.records.data)) offsets.push_back(rec.offset);
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(ok.high_watermark, 5);
  EXPECT_EQ(fetch(-1).error_code, kNone);

  auto list = [&](int32_t current, int16_t version = 5) {
    ListOffsetsRequest req;
    req.topics.push_back({"f", {{0, current, -1, 1}}});
    return call<ListOffsetsResponse>(ApiKey::list_offsets, version, req)
        .topics.at(0)
        .partitions.at(0);
  };
  EXPECT_EQ(list(1).error_code, kFenced);
  EXPECT_EQ(list(3).error_code, kUnknownEpoch);
  EXPECT_EQ(list(2).error_code, kNone);
  EXPECT_EQ(list(2).leader_epoch, 2);
  EXPECT_EQ(list(2).offset, 5);
  broker_->topics().partition("f", 0)->set_replicas({}, false);
  EXPECT_EQ(list(-1).error_code, kNotLeader);
  broker_->topics().partition("f", 0)->set_replicas({NodeId(0), {NodeId(0)}, {NodeId(0)}, {}},
                                                    true);

  MetadataRequest md;
  md.topics = std::vector<MetadataRequest::Topic>{{"f"}};
  auto meta = call<MetadataResponse>(ApiKey::metadata, 8, md);
  EXPECT_EQ(meta.topics.at(0).partitions.at(0).leader_epoch, 2);

  auto versions = call<ApiVersionsResponse>(ApiKey::api_versions, 3, ApiVersionsRequest{});
  bool listed = false;
  for (auto& k : versions.api_keys) {
    if (k.api_key == 23) listed = k.min_version == 0 && k.max_version == 3;
  }
  EXPECT_TRUE(listed);
}

// The offset after the last whole batch of fetched record bytes, and how many records they hold.
std::pair<int64_t, int32_t> batches_end(std::span<const std::byte> data) {
  int64_t next = -1;
  int32_t records = 0;
  size_t pos = 0;
  while (pos < data.size()) {
    auto size = declared_batch_size(data.subspan(pos));
    if (!size || *size > data.size() - pos) break;
    const BatchView v(data.subspan(pos, *size));
    next = v.next_offset().value();
    records += v.record_count();
    pos += *size;
  }
  return {next, records};
}

// A fetch whose only data is a record-less batch ending at the high watermark waits as one at
// the log end does (kafkajs asked for such a batch again at once, hundreds of times a second),
// then gets the batch, so every client still steps over it; max_wait 0 gets it at once, and a
// fetch from before it, or one woken by a later record, gets it with what follows at once.
TEST_F(LeaderEpochTest, ATrailingRecordlessBatchIsServedOnlyAfterTheWait) {
  using Clock = std::chrono::steady_clock;
  auto ms_since = [](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
  };
  ASSERT_EQ(create_topic("t", 1).topics.at(0).error_code, 0);
  produce("t", 2);
  const int64_t empty_at = start_epoch("t", 2);
  ASSERT_EQ(empty_at, 2);

  auto t0 = Clock::now();
  auto now = call<FetchResponse>(ApiKey::fetch, 11, fetch_request("t", 0, empty_at, 0));
  EXPECT_LT(ms_since(t0), 300);
  auto p = now.responses.at(0).partitions.at(0);
  EXPECT_EQ(p.error_code, kNone);
  EXPECT_EQ(p.high_watermark, empty_at + 1);
  ASSERT_TRUE(p.records.data.has_value());
  EXPECT_EQ(batches_end(*p.records.data), std::make_pair(empty_at + 1, 0));

  t0 = Clock::now();
  auto waited = call<FetchResponse>(ApiKey::fetch, 11, fetch_request("t", 0, empty_at, 400));
  EXPECT_GE(ms_since(t0), 350);
  p = waited.responses.at(0).partitions.at(0);
  EXPECT_EQ(p.error_code, kNone);
  ASSERT_TRUE(p.records.data.has_value());
  EXPECT_EQ(batches_end(*p.records.data), std::make_pair(empty_at + 1, 0));

  t0 = Clock::now();
  auto from_start = call<FetchResponse>(ApiKey::fetch, 11, fetch_request("t", 0, 0, 5000));
  EXPECT_LT(ms_since(t0), 2000);
  p = from_start.responses.at(0).partitions.at(0);
  ASSERT_TRUE(p.records.data.has_value());
  EXPECT_EQ(batches_end(*p.records.data), std::make_pair(empty_at + 1, 2));

  // Parked at the batch; a record produced meanwhile answers it at once, the batch first.
  auto& waiting = connect();
  t0 = Clock::now();
  waiting.send(ApiKey::fetch, 11, fetch_request("t", 0, empty_at, 10000));
  run_until([] { return false; }, 200);
  EXPECT_TRUE(waiting.frames().empty());
  produce("t", 1);
  ASSERT_TRUE(run_until([&] { return !waiting.frames().empty(); }, 5000));
  EXPECT_LT(ms_since(t0), 5000);
  const auto frame = waiting.frames().front();
  Reader r(frame);
  (void)r.i32();  // correlation id (Fetch v11 is not flexible)
  FetchResponse woken;
  ASSERT_TRUE(
      decode_message(std::span<const std::byte>(frame).subspan(r.position()), 11, false, woken)
          .ok());
  p = woken.responses.at(0).partitions.at(0);
  EXPECT_EQ(p.high_watermark, empty_at + 2);
  ASSERT_TRUE(p.records.data.has_value());
  EXPECT_EQ(batches_end(*p.records.data), std::make_pair(empty_at + 2, 1));
  std::vector<int64_t> offsets;
  for (auto& rec : fetched_records(*p.records.data)) offsets.push_back(rec.offset);
  EXPECT_EQ(offsets, (std::vector<int64_t>{empty_at + 1}));
}

// A producer may not send what a leader writes: a batch without records is refused
// (INVALID_RECORD), as Kafka refuses it, and nothing is stored.
TEST_F(LeaderEpochTest, ProducersCannotSendARecordlessBatch) {
  ASSERT_EQ(create_topic("p", 1).topics.at(0).error_code, 0);
  auto empty = build_epoch_start_batch(LeaderEpoch(-1), 1'700'000'000'000);
  ProduceRequest req;
  req.acks = -1;
  req.timeout_ms = 5000;
  req.topic_data.push_back({"p", {{0, RecordsRef{std::span<const std::byte>(empty)}}}});
  auto resp = call<ProduceResponse>(ApiKey::produce, 8, req);
  EXPECT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 87);
  EXPECT_EQ(broker_->topics().partition("p", 0)->log_end_offset(), Offset(0));
}

// Without DESCRIBE on the topic the partition answers TOPIC_AUTHORIZATION_FAILED; CLUSTER_ACTION
// on the cluster (what replicas hold) covers every topic.
TEST_F(LeaderEpochTest, AuthorizationIsDescribeOrClusterAction) {
  ASSERT_EQ(create_topic("a", 1).topics.at(0).error_code, 0);
  ASSERT_EQ(create_topic("b", 1).topics.at(0).error_code, 0);
  auto acl = [&](authz::ResourceType type, const std::string& name, authz::Operation op) {
    CreateAclsRequest req;
    req.creations.push_back({static_cast<int8_t>(type), name,
                             static_cast<int8_t>(authz::PatternType::literal), "User:ANONYMOUS",
                             "*", static_cast<int8_t>(op),
                             static_cast<int8_t>(authz::Permission::allow)});
    auto resp = call<CreateAclsResponse>(ApiKey::create_acls, 1, req);
    ASSERT_EQ(resp.results.at(0).error_code, 0);
  };
  acl(authz::ResourceType::topic, "a", authz::Operation::describe);
  conns_.clear();
  stop_broker();
  authz_ = true;
  start_broker();
  OffsetForLeaderEpochRequest req;
  req.topics.push_back({"a", {{0, -1, 0}}});
  req.topics.push_back({"b", {{0, -1, 0}}});
  auto resp = call<OffsetForLeaderEpochResponse>(ApiKey::offset_for_leader_epoch, 3, req);
  ASSERT_EQ(resp.topics.size(), 2u);
  for (auto& t : resp.topics) {
    ASSERT_EQ(t.partitions.size(), 1u);
    EXPECT_EQ(t.partitions[0].error_code, t.topic == "a" ? kNone : kTopicDenied) << t.topic;
  }

  // CLUSTER_ACTION: both (ACLs are changed with the authorizer off, then it is on again).
  conns_.clear();
  stop_broker();
  authz_ = false;
  start_broker();
  acl(authz::ResourceType::cluster, "kafka-cluster", authz::Operation::cluster_action);
  conns_.clear();
  stop_broker();
  authz_ = true;
  start_broker();
  req.replica_id = 2;
  resp = call<OffsetForLeaderEpochResponse>(ApiKey::offset_for_leader_epoch, 3, req);
  ASSERT_EQ(resp.topics.size(), 2u);
  for (auto& t : resp.topics) EXPECT_EQ(t.partitions.at(0).error_code, kNone) << t.topic;
}

}  // namespace
}  // namespace ferry::broker::test
