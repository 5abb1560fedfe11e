// The broker end to end over 127.0.0.1 with described requests: versions, topics, produce and
// fetch (incl. long-poll and ordering), list offsets, configs, error paths and restarts.
#include <gtest/gtest.h>

#include "broker_fixture.h"
#include "protocol/record_batch.h"

namespace ferry::broker::test {
namespace {

using protocol::ApiKey;
using namespace protocol;

class BrokerTest : public BrokerFixture {
 protected:
  ProduceResponse::Topic::Partition produce(const std::string& topic, int32_t partition,
                                            std::vector<std::byte> records, int16_t acks = 1,
                                            int16_t version = 8) {
    ProduceRequest req;
    req.acks = acks;
    req.timeout_ms = 5000;
    ProduceRequest::Topic t;
    t.name = topic;
    t.partition_data.push_back({partition, RecordsRef{std::span<const std::byte>(records)}});
    req.topic_data.push_back(t);
    auto resp = call<ProduceResponse>(ApiKey::produce, version, req);
    EXPECT_EQ(resp.responses.size(), 1u);
    if (resp.responses.empty() || resp.responses[0].partition_responses.empty()) return {};
    return resp.responses[0].partition_responses[0];
  }

  // Fetches and decodes every record value from `offset`.
  std::vector<std::string> fetch_values(const std::string& topic, int32_t partition, int64_t offset,
                                        int16_t& error, int16_t version = 11) {
    auto resp =
        call<FetchResponse>(ApiKey::fetch, version, fetch_request(topic, partition, offset));
    std::vector<std::string> out;
    error = resp.responses.at(0).partitions.at(0).error_code;
    auto data = resp.responses[0].partitions[0].records.data;
    if (!data) return out;
    for (auto& r : fetched_records(*data)) out.push_back(r.value.value_or("<null>"));
    return out;
  }
};

TEST_F(BrokerTest, ApiVersionsAdvertisesMinVersionZeroAndAnswersNewerVersionsInTheV0Layout) {
  for (int16_t v = 0; v <= 3; ++v) {
    auto resp = call<ApiVersionsResponse>(ApiKey::api_versions, v, ApiVersionsRequest{});
    EXPECT_EQ(resp.error_code, 0) << "v" << v;
    bool produce = false;
    bool init_producer_id = false;
    for (auto& k : resp.api_keys) {
      EXPECT_EQ(k.min_version, 0);
      if (k.api_key == 0) produce = k.max_version == 8;
      if (k.api_key == 22) init_producer_id = k.max_version == 4;
      // No transaction API may be listed: clients would take it as transaction support.
      EXPECT_TRUE(k.api_key < 24 || k.api_key > 28) << "api key " << k.api_key;
    }
    EXPECT_TRUE(produce);
    EXPECT_TRUE(init_producer_id);
  }
  // v9 does not exist: error 35 in the v0 layout, the connection stays open.
  auto& c = connect();
  c.send(ApiKey::api_versions, 9, ApiVersionsRequest{});
  ASSERT_TRUE(run_until([&] { return c.frames().size() == 1; }));
  auto f = c.frames()[0];
  Reader r(f);
  (void)r.i32();
  ApiVersionsResponse resp;
  ASSERT_TRUE(decode_message(std::span<const std::byte>(f).subspan(4), 0, false, resp).ok());
  EXPECT_EQ(resp.error_code, 35);
  bool has18 = false;
  for (auto& k : resp.api_keys) has18 |= k.api_key == 18;
  EXPECT_TRUE(has18);
  auto again = call<ApiVersionsResponse>(c, ApiKey::api_versions, 2, ApiVersionsRequest{});
  EXPECT_EQ(again.error_code, 0);
  EXPECT_FALSE(c.closed());
}

TEST_F(BrokerTest, MetadataAutoCreatesThenListsTheTopic) {
  MetadataRequest req;
  req.topics = std::vector<MetadataRequest::Topic>{{"auto-topic"}};
  auto first = call<MetadataResponse>(ApiKey::metadata, 8, req);
  ASSERT_EQ(first.topics.size(), 1u);
  EXPECT_EQ(first.topics[0].error_code, 5);  // LEADER_NOT_AVAILABLE while being created
  MetadataResponse later;
  ASSERT_TRUE(run_until([&] {
    later = call<MetadataResponse>(ApiKey::metadata, 8, req);
    return later.topics.size() == 1 && later.topics[0].error_code == 0;
  }));
  EXPECT_EQ(later.topics[0].partitions.size(), 1u);
  EXPECT_EQ(later.brokers.size(), 1u);
  EXPECT_EQ(later.brokers[0].port, broker_->port() == 0 ? 0 : later.brokers[0].port);
  EXPECT_EQ(later.cluster_id, broker_->cluster_id());
  // v1+ null = all topics; empty = none. v0 empty = all.
  MetadataRequest all;
  all.topics = std::nullopt;
  EXPECT_EQ(call<MetadataResponse>(ApiKey::metadata, 1, all).topics.size(), 1u);
  MetadataRequest none;
  none.topics = std::vector<MetadataRequest::Topic>{};
  EXPECT_EQ(call<MetadataResponse>(ApiKey::metadata, 1, none).topics.size(), 0u);
  EXPECT_EQ(call<MetadataResponse>(ApiKey::metadata, 0, none).topics.size(), 1u);
  // Auto-creation refused by the request (v4+) and illegal names.
  MetadataRequest no_create;
  no_create.topics = std::vector<MetadataRequest::Topic>{{"not-created"}, {"bad/name"}};
  no_create.allow_auto_topic_creation = false;
  auto resp = call<MetadataResponse>(ApiKey::metadata, 8, no_create);
  EXPECT_EQ(resp.topics[0].error_code, 3);
  EXPECT_EQ(resp.topics[1].error_code, 17);
}

TEST_F(BrokerTest, ProduceAssignsOffsetsAndFetchReturnsTheRecords) {
  ASSERT_EQ(create_topic("t1", 2).topics.at(0).error_code, 0);
  auto a = produce("t1", 0, ferry::test::make_batch(3, "a"), 1);
  EXPECT_EQ(a.error_code, 0);
  EXPECT_EQ(a.base_offset, 0);
  auto b = produce("t1", 0, ferry::test::make_batch(2, "b"), -1);
  EXPECT_EQ(b.error_code, 0);
  EXPECT_EQ(b.base_offset, 3);
  EXPECT_EQ(b.log_start_offset, 0);
  int16_t err = -2;
  auto values = fetch_values("t1", 0, 0, err);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(values, (std::vector<std::string>{"a-0", "a-1", "a-2", "b-0", "b-1"}));
  values = fetch_values("t1", 0, 4, err);
  // Whole batches are returned: the one holding offset 4 starts at 3.
  EXPECT_EQ(values, (std::vector<std::string>{"b-0", "b-1"}));
  EXPECT_TRUE(fetch_values("t1", 1, 0, err).empty());
  EXPECT_EQ(err, 0);
  fetch_values("t1", 0, 99, err);
  EXPECT_EQ(err, 1);  // OFFSET_OUT_OF_RANGE
  fetch_values("t1", 7, 0, err);
  EXPECT_EQ(err, 3);
}

// Record sets of 4 KiB and more are sent from the read buffers (spliced), not copied into the
// response; what arrives must be byte-identical, across several partitions and batches.
TEST_F(BrokerTest, LargeRecordSetsArriveIntactThroughSplicedResponses) {
  // Stored as sent (compression.type=producer): the responses stay large.
  ASSERT_EQ(create_topic("big", 2, {{"compression.type", "producer"}}).topics.at(0).error_code, 0);
  std::vector<std::string> want0;
  std::vector<std::string> want1;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(produce("big", 0, ferry::test::make_batch(20, "p0b" + std::to_string(i), 1000, 700))
                  .error_code,
              0);
    EXPECT_EQ(produce("big", 1, ferry::test::make_batch(5, "p1b" + std::to_string(i), 1000, 3000))
                  .error_code,
              0);
  }
  FetchRequest req = fetch_request("big", 0, 0);
  FetchRequest::Topic::Partition p1;
  p1.partition = 1;
  p1.fetch_offset = 0;
  p1.partition_max_bytes = 1 << 20;
  req.topics[0].partitions.push_back(p1);
  for (int16_t version : {int16_t{4}, int16_t{11}}) {
    auto resp = call<FetchResponse>(ApiKey::fetch, version, req);
    ASSERT_EQ(resp.responses.at(0).partitions.size(), 2u);
    for (int p = 0; p < 2; ++p) {
      auto data = resp.responses[0].partitions[static_cast<size_t>(p)].records.data;
      ASSERT_TRUE(data && data->size() > 4096) << "partition " << p;
      size_t pos = 0;
      int records = 0;
      while (pos < data->size()) {
        auto size = declared_batch_size(data->subspan(pos));
        ASSERT_TRUE(size && *size <= data->size() - pos);
        BatchView batch(data->subspan(pos, *size));
        EXPECT_TRUE(validate_batch(batch.bytes()).ok());
        records += batch.record_count();
        pos += *size;
      }
      EXPECT_EQ(records, p == 0 ? 60 : 15);
    }
  }
}

TEST_F(BrokerTest, ProduceErrorPaths) {
  ASSERT_EQ(create_topic("small", 1, {{"max.message.bytes", "200"}}).topics.at(0).error_code, 0);
  auto big = produce("small", 0, ferry::test::make_batch(10, "x", 1'700'000'000'000, 100));
  EXPECT_EQ(big.error_code, 10);  // MESSAGE_TOO_LARGE
  auto batch = ferry::test::make_batch(1, "y");
  batch.back() ^= std::byte{1};                         // CRC no longer matches
  EXPECT_EQ(produce("small", 0, batch).error_code, 2);  // CORRUPT_MESSAGE
  EXPECT_EQ(produce("small", 3, ferry::test::make_batch(1)).error_code, 3);
  EXPECT_EQ(produce("small", 0, ferry::test::make_batch(1), 2).error_code, 21);
  // Two batches in one v3+ partition: INVALID_RECORD.
  auto two = ferry::test::make_batch(1, "p");
  auto second = ferry::test::make_batch(1, "q");
  two.insert(two.end(), second.begin(), second.end());
  EXPECT_EQ(produce("small", 0, two).error_code, 87);
  // A truncated batch.
  auto cut = ferry::test::make_batch(2, "z");
  cut.resize(cut.size() - 3);
  EXPECT_EQ(produce("small", 0, cut).error_code, 2);
  // Nothing of the above was stored.
  int16_t err = 0;
  EXPECT_TRUE(fetch_values("small", 0, 0, err).empty());
}

TEST_F(BrokerTest, AcksZeroGetsNoResponseAndLaterResponsesStillArrive) {
  ASSERT_EQ(create_topic("quiet", 1).topics.at(0).error_code, 0);
  auto& c = connect();
  ProduceRequest req;
  req.acks = 0;
  auto records = ferry::test::make_batch(1, "silent");
  req.topic_data.push_back({"quiet", {{0, RecordsRef{std::span<const std::byte>(records)}}}});
  c.send(ApiKey::produce, 8, req);
  auto md = call<MetadataResponse>(c, ApiKey::metadata, 8, MetadataRequest{});
  EXPECT_EQ(c.frames().size(), 1u) << "only the Metadata response";
  int16_t err = 0;
  EXPECT_EQ(fetch_values("quiet", 0, 0, err), std::vector<std::string>{"silent-0"});
}

TEST_F(BrokerTest, LongPollFetchIsAnsweredWhenDataArrivesAndHoldsLaterResponses) {
  ASSERT_EQ(create_topic("poll", 1).topics.at(0).error_code, 0);
  auto& waiting = connect();
  waiting.send(ApiKey::fetch, 11, fetch_request("poll", 0, 0, 20000, 1));
  // A Metadata request behind the parked fetch on the same connection must wait for it.
  waiting.send(ApiKey::metadata, 8, MetadataRequest{});
  run_until([] { return false; }, 200);
  EXPECT_TRUE(waiting.frames().empty());
  const uint64_t start = uv_now(&loop_);
  auto& producer = connect();
  auto records = ferry::test::make_batch(1, "wake");
  ProduceRequest req;
  req.acks = 1;
  req.topic_data.push_back({"poll", {{0, RecordsRef{std::span<const std::byte>(records)}}}});
  producer.send(ApiKey::produce, 8, req);
  ASSERT_TRUE(run_until([&] { return waiting.frames().size() == 2; }, 10000));
  EXPECT_LT(uv_now(&loop_) - start, 10000u);
  // The first response is the fetch (correlation 1), then the metadata (2).
  EXPECT_EQ(load_i32(waiting.frames()[0].data()), 1);
  EXPECT_EQ(load_i32(waiting.frames()[1].data()), 2);
}

TEST_F(BrokerTest, FetchWaitEndsAtMaxWaitWithoutData) {
  ASSERT_EQ(create_topic("idle", 1).topics.at(0).error_code, 0);
  const uint64_t start = uv_now(&loop_);
  auto resp = call<FetchResponse>(ApiKey::fetch, 11, fetch_request("idle", 0, 0, 300, 1));
  EXPECT_GE(uv_now(&loop_) - start, 250u);
  EXPECT_EQ(resp.responses.at(0).partitions.at(0).error_code, 0);
  EXPECT_FALSE(resp.responses[0].partitions[0].records.data &&
               !resp.responses[0].partitions[0].records.data->empty());
}

TEST_F(BrokerTest, ListOffsetsEarliestLatestAndByTimestamp) {
  ASSERT_EQ(create_topic("lo", 1).topics.at(0).error_code, 0);
  produce("lo", 0, ferry::test::make_batch(5, "a", 1000));
  produce("lo", 0, ferry::test::make_batch(5, "b", 2000));
  auto ask = [&](int64_t ts, int16_t version) {
    ListOffsetsRequest req;
    req.topics.push_back({"lo", {{0, -1, ts, 1}}});
    return call<ListOffsetsResponse>(ApiKey::list_offsets, version, req)
        .topics.at(0)
        .partitions.at(0);
  };
  EXPECT_EQ(ask(-1, 5).offset, 10);
  EXPECT_EQ(ask(-2, 5).offset, 0);
  auto by_time = ask(2002, 5);
  EXPECT_EQ(by_time.offset, 7);
  EXPECT_EQ(by_time.timestamp, 2002);
  EXPECT_EQ(ask(999999, 5).offset, -1);
  EXPECT_EQ(ask(-1, 0).old_style_offsets, std::vector<int64_t>{10});
}

TEST_F(BrokerTest, CreateDescribeAlterAndDeleteTopics) {
  EXPECT_EQ(create_topic("cfg", 2, {{"retention.ms", "3600000"}}).topics.at(0).error_code, 0);
  EXPECT_EQ(create_topic("cfg", 2).topics.at(0).error_code, 36);
  EXPECT_EQ(create_topic("bad", 1, {{"no.such.config", "1"}}).topics.at(0).error_code, 40);
  EXPECT_EQ(create_topic("bad", 0).topics.at(0).error_code, 37);

  DescribeConfigsRequest d;
  d.resources.push_back({2, "cfg", std::vector<std::string>{"retention.ms", "segment.bytes"}});
  auto desc = call<DescribeConfigsResponse>(ApiKey::describe_configs, 3, d);
  ASSERT_EQ(desc.results.at(0).configs.size(), 2u);
  for (auto& c : desc.results[0].configs) {
    if (c.name == "retention.ms") {
      EXPECT_EQ(c.value, "3600000");
      EXPECT_EQ(c.config_source, 1);
    } else {
      EXPECT_EQ(c.config_source, 5);
    }
  }
  IncrementalAlterConfigsRequest inc;
  inc.resources.push_back(
      {2, "cfg", {{"retention.ms", 1, std::nullopt}, {"segment.bytes", 0, "2097152"}}});
  auto alt = call<IncrementalAlterConfigsResponse>(ApiKey::incremental_alter_configs, 0, inc);
  EXPECT_EQ(alt.responses.at(0).error_code, 0);
  desc = call<DescribeConfigsResponse>(ApiKey::describe_configs, 3, d);
  for (auto& c : desc.results.at(0).configs) {
    if (c.name == "retention.ms") {
      EXPECT_EQ(c.config_source, 5);
    }
    if (c.name == "segment.bytes") {
      EXPECT_EQ(c.value, "2097152");
    }
  }

  CreatePartitionsRequest cp;
  cp.topics.push_back({"cfg", 4, std::nullopt});
  EXPECT_EQ(
      call<CreatePartitionsResponse>(ApiKey::create_partitions, 1, cp).results.at(0).error_code, 0);
  cp.topics[0].count = 3;
  EXPECT_EQ(
      call<CreatePartitionsResponse>(ApiKey::create_partitions, 1, cp).results.at(0).error_code,
      37);

  DeleteTopicsRequest del;
  del.topic_names = {"cfg", "never-existed"};
  auto dr = call<DeleteTopicsResponse>(ApiKey::delete_topics, 3, del);
  EXPECT_EQ(dr.responses.at(0).error_code, 0);
  EXPECT_EQ(dr.responses.at(1).error_code, 3);
  MetadataRequest all;
  all.topics = std::nullopt;
  EXPECT_TRUE(call<MetadataResponse>(ApiKey::metadata, 8, all).topics.empty());
}

TEST_F(BrokerTest, AMalformedRequestClosesOnlyItsConnection) {
  auto& bad = connect();
  auto& good = connect();
  std::vector<std::byte> frame(4 + 12);
  store_i32(frame.data(), 12);
  store_i16(frame.data() + 4, 3);        // Metadata
  store_i16(frame.data() + 6, 8);        // v8
  store_i32(frame.data() + 8, 77);       // correlation id
  store_i16(frame.data() + 12, 2);       // client id length 2 ...
  store_i16(frame.data() + 14, 0x4142);  // ... then the body is missing
  bad.send_raw(frame);
  ASSERT_TRUE(run_until([&] { return bad.closed(); }));
  auto resp = call<ApiVersionsResponse>(good, ApiKey::api_versions, 3, ApiVersionsRequest{});
  EXPECT_EQ(resp.error_code, 0);
  EXPECT_FALSE(good.closed());
}

TEST_F(BrokerTest, TopicsAndAcknowledgedRecordsSurviveARestart) {
  ASSERT_EQ(create_topic("durable", 2, {{"retention.ms", "86400000"}}).topics.at(0).error_code, 0);
  EXPECT_EQ(produce("durable", 1, ferry::test::make_batch(4, "kept"), -1).error_code, 0);
  ASSERT_EQ(create_topic("gone", 1).topics.at(0).error_code, 0);
  DeleteTopicsRequest del;
  del.topic_names = {"gone"};
  EXPECT_EQ(call<DeleteTopicsResponse>(ApiKey::delete_topics, 3, del).responses.at(0).error_code,
            0);
  const std::string cluster = broker_->cluster_id();
  conns_.clear();
  stop_broker();
  start_broker();
  EXPECT_EQ(broker_->cluster_id(), cluster);
  int16_t err = 0;
  EXPECT_EQ(fetch_values("durable", 1, 0, err),
            (std::vector<std::string>{"kept-0", "kept-1", "kept-2", "kept-3"}));
  MetadataRequest all;
  all.topics = std::nullopt;
  auto md = call<MetadataResponse>(ApiKey::metadata, 8, all);
  ASSERT_EQ(md.topics.size(), 1u);
  EXPECT_EQ(md.topics[0].name, "durable");
  EXPECT_EQ(md.topics[0].partitions.size(), 2u);
}

TEST_F(BrokerTest, CommittedOffsetsGoWithTheirTopic) {
  ASSERT_EQ(create_topic("short-lived", 1).topics.at(0).error_code, 0);
  OffsetCommitRequest commit;
  commit.group_id = "g1";
  commit.generation_id_or_member_epoch = -1;
  OffsetCommitRequest::Topic ct;
  ct.name = "short-lived";
  OffsetCommitRequest::Topic::Partition cp;
  cp.partition_index = 0;
  cp.committed_offset = 12;
  ct.partitions.push_back(cp);
  commit.topics.push_back(ct);
  auto cr = call<OffsetCommitResponse>(ApiKey::offset_commit, 7, commit);
  EXPECT_EQ(cr.topics.at(0).partitions.at(0).error_code, 0);
  OffsetFetchRequest fetch;
  fetch.group_id = "g1";
  fetch.topics = std::vector<OffsetFetchRequest::Topic>{{"short-lived", {0}}};
  auto fr = call<OffsetFetchResponse>(ApiKey::offset_fetch, 5, fetch);
  EXPECT_EQ(fr.topics.at(0).partitions.at(0).committed_offset, 12);
  DeleteTopicsRequest del;
  del.topic_names = {"short-lived"};
  EXPECT_EQ(call<DeleteTopicsResponse>(ApiKey::delete_topics, 3, del).responses.at(0).error_code,
            0);
  fr = call<OffsetFetchResponse>(ApiKey::offset_fetch, 5, fetch);
  EXPECT_EQ(fr.topics.at(0).partitions.at(0).committed_offset, -1);
  // OffsetDelete: an unknown group is not found.
  OffsetDeleteRequest od;
  od.group_id = "no-such-group";
  od.topics.push_back({"short-lived", {{0}}});
  EXPECT_EQ(call<OffsetDeleteResponse>(ApiKey::offset_delete, 0, od).error_code, 69);
  // Committing to a topic that does not exist is refused.
  cr = call<OffsetCommitResponse>(ApiKey::offset_commit, 7, commit);
  EXPECT_EQ(cr.topics.at(0).partitions.at(0).error_code, 3);
}

TEST_F(BrokerTest, OffsetDeleteRemovesCommittedOffsetsOfAnEmptyGroup) {
  ASSERT_EQ(create_topic("od", 2).topics.at(0).error_code, 0);
  OffsetCommitRequest commit;
  commit.group_id = "g2";
  commit.generation_id_or_member_epoch = -1;
  commit.topics.push_back({"od", {}});
  for (int32_t p = 0; p < 2; ++p) {
    OffsetCommitRequest::Topic::Partition cp;
    cp.partition_index = p;
    cp.committed_offset = 5 + p;
    commit.topics[0].partitions.push_back(cp);
  }
  ASSERT_EQ(call<OffsetCommitResponse>(ApiKey::offset_commit, 7, commit)
                .topics.at(0)
                .partitions.at(1)
                .error_code,
            0);
  OffsetDeleteRequest od;
  od.group_id = "g2";
  od.topics.push_back({"od", {{0}}});
  auto resp = call<OffsetDeleteResponse>(ApiKey::offset_delete, 0, od);
  EXPECT_EQ(resp.error_code, 0);
  EXPECT_EQ(resp.topics.at(0).partitions.at(0).error_code, 0);
  OffsetFetchRequest fetch;
  fetch.group_id = "g2";
  fetch.topics = std::vector<OffsetFetchRequest::Topic>{{"od", {0, 1}}};
  auto fr = call<OffsetFetchResponse>(ApiKey::offset_fetch, 5, fetch);
  EXPECT_EQ(fr.topics.at(0).partitions.at(0).committed_offset, -1);
  EXPECT_EQ(fr.topics.at(0).partitions.at(1).committed_offset, 6);
}

TEST_F(BrokerTest, FindCoordinatorNamesThisBroker) {
  FindCoordinatorRequest fc;
  fc.key = "g";
  auto resp = call<FindCoordinatorResponse>(ApiKey::find_coordinator, 2, fc);
  EXPECT_EQ(resp.error_code, 0);
  EXPECT_EQ(resp.node_id, 0);
  EXPECT_EQ(resp.port, broker_->port());
  auto lg = call<ListGroupsResponse>(ApiKey::list_groups, 2, ListGroupsRequest{});
  EXPECT_EQ(lg.error_code, 0);
  EXPECT_TRUE(lg.groups.empty());
}

}  // namespace
}  // namespace ferry::broker::test
