// Idempotent producers end to end against an in-process broker: InitProducerId (every version,
// the KIP-360 epoch bump, transactions refused), Produce's sequence checks as a client sees them,
// and producer state surviving a clean restart and a crash image of the data directory.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "broker_fixture.h"
#include "protocol/messages/producer_id.h"
#include "protocol/record_batch.h"

namespace ferry::broker::test {
namespace {

using namespace protocol;

class IdempotenceTest : public BrokerFixture {
 protected:
  void configure(config::BrokerConfig& cfg) override {
    if (!data_dir_.empty()) cfg.data_dir = data_dir_;
    if (expiration_ms_ > 0) cfg.producer_id_expiration_ms = expiration_ms_;
  }

  InitProducerIdResponse init(int16_t version = 1, int64_t pid = -1, int16_t epoch = -1) {
    InitProducerIdRequest req;
    req.transaction_timeout_ms = 60000;
    req.producer_id = pid;
    req.producer_epoch = epoch;
    return call<InitProducerIdResponse>(ApiKey::init_producer_id, version, req);
  }

  // A batch of `n` records "<tag>-i" (padded to `value_bytes`) from producer `pid`.
  static std::vector<std::byte> batch(int64_t pid, int16_t epoch, int32_t seq, int n,
                                      const std::string& tag, size_t value_bytes = 0) {
    std::vector<std::string> values;
    for (int i = 0; i < n; ++i) {
      values.push_back(tag + "-" + std::to_string(i));
      if (values.back().size() < value_bytes) values.back().resize(value_bytes, '.');
    }
    std::vector<RecordInput> records;
    for (const auto& v : values) records.push_back({std::nullopt, v, 1'700'000'000'000, {}});
    BuildOptions o;
    o.producer_id = ProducerId(pid);
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    return build_batch(records, o).value();
  }

  ProduceResponse::Topic::Partition produce(const std::string& topic, std::vector<std::byte> b,
                                            int16_t acks = -1) {
    ProduceRequest req;
    req.acks = acks;
    req.timeout_ms = 5000;
    ProduceRequest::Topic t;
    t.name = topic;
    t.partition_data.push_back({0, RecordsRef{std::span<const std::byte>(b)}});
    req.topic_data.push_back(t);
    auto resp = call<ProduceResponse>(ApiKey::produce, 8, req);
    if (resp.responses.empty() || resp.responses[0].partition_responses.empty()) return {};
    return resp.responses[0].partition_responses[0];
  }

  void create(const std::string& topic,
              std::vector<CreateTopicsRequest::Topic::Config> configs = {}) {
    CreateTopicsRequest req;
    req.topics.push_back({topic, 1, 1, {}, std::move(configs)});
    ASSERT_EQ(call<CreateTopicsResponse>(ApiKey::create_topics, 4, req).topics.at(0).error_code, 0);
  }

  // Number of records in partition 0 (the log end offset).
  int64_t log_end(const std::string& topic) {
    auto log = broker_->topics().partition(topic, 0);
    return log ? log->log_end_offset().value() : -1;
  }

  void restart_on(const std::string& dir) {
    conns_.clear();
    stop_broker();
    data_dir_ = dir;
    start_broker();
  }

  std::string data_dir_;
  int32_t expiration_ms_ = 0;
};

TEST_F(IdempotenceTest, InitProducerIdHandsOutDistinctIdsInEveryVersion) {
  std::set<int64_t> ids;
  for (int16_t v = 0; v <= 4; ++v) {
    auto r = init(v);
    EXPECT_EQ(r.error_code, 0) << "v" << v;
    EXPECT_GE(r.producer_id, 0) << "v" << v;
    EXPECT_EQ(r.producer_epoch, 0) << "v" << v;
    ids.insert(r.producer_id);
  }
  EXPECT_EQ(ids.size(), 5u);
}

TEST_F(IdempotenceTest, InitProducerIdV3BumpsTheEpochOfAnIssuedId) {
  auto first = init(4);
  auto bumped = init(4, first.producer_id, 0);
  EXPECT_EQ(bumped.error_code, 0);
  EXPECT_EQ(bumped.producer_id, first.producer_id);
  EXPECT_EQ(bumped.producer_epoch, 1);
  // Only one of id and epoch: INVALID_REQUEST, as in Kafka.
  EXPECT_EQ(init(3, first.producer_id, -1).error_code, 42);
  EXPECT_EQ(init(3, -1, 0).error_code, 42);
  // An id this broker never issued gets a fresh id instead of a bump.
  auto fresh = init(4, 987654321, 3);
  EXPECT_EQ(fresh.error_code, 0);
  EXPECT_NE(fresh.producer_id, 987654321);
  EXPECT_EQ(fresh.producer_epoch, 0);
  // An exhausted epoch moves to a new id too.
  auto rolled = init(4, first.producer_id, 32766);
  EXPECT_NE(rolled.producer_id, first.producer_id);
  EXPECT_EQ(rolled.producer_epoch, 0);
}

TEST_F(IdempotenceTest, TransactionsAreRefusedClearly) {
  InitProducerIdRequest req;
  req.transactional_id = "tx-1";
  auto r = call<InitProducerIdResponse>(ApiKey::init_producer_id, 1, req);
  EXPECT_EQ(r.error_code, 35);  // UNSUPPORTED_VERSION
  EXPECT_EQ(r.producer_id, -1);
  FindCoordinatorRequest fc;
  fc.key = "tx-1";
  fc.key_type = 1;
  auto c = call<FindCoordinatorResponse>(ApiKey::find_coordinator, 2, fc);
  EXPECT_EQ(c.error_code, 35);
  ASSERT_TRUE(c.error_message.has_value());
  EXPECT_NE(c.error_message->find("Transactions"), std::string::npos);
}

TEST_F(IdempotenceTest, ARetriedBatchIsStoredOnceAndAnsweredWithItsOriginalOffset) {
  create("t");
  const int64_t pid = init().producer_id;
  auto a = produce("t", batch(pid, 0, 0, 3, "a"));
  ASSERT_EQ(a.error_code, 0);
  auto b = produce("t", batch(pid, 0, 3, 2, "b"));
  ASSERT_EQ(b.error_code, 0);
  EXPECT_EQ(b.base_offset, 3);
  // Both retried (lost responses), with acks=all and acks=1.
  auto a2 = produce("t", batch(pid, 0, 0, 3, "a"));
  EXPECT_EQ(a2.error_code, 0);
  EXPECT_EQ(a2.base_offset, a.base_offset);
  auto b2 = produce("t", batch(pid, 0, 3, 2, "b"), 1);
  EXPECT_EQ(b2.error_code, 0);
  EXPECT_EQ(b2.base_offset, 3);
  EXPECT_EQ(log_end("t"), 5);
  // The producer continues where it was.
  EXPECT_EQ(produce("t", batch(pid, 0, 5, 1, "c")).base_offset, 5);
}

TEST_F(IdempotenceTest, SequenceAndEpochErrorsReachTheClient) {
  create("t");
  const int64_t pid = init().producer_id;
  ASSERT_EQ(produce("t", batch(pid, 0, 0, 2, "a")).error_code, 0);
  EXPECT_EQ(produce("t", batch(pid, 0, 5, 1, "gap")).error_code, 45);  // OUT_OF_ORDER
  ASSERT_EQ(produce("t", batch(pid, 1, 0, 1, "bumped")).error_code, 0);
  EXPECT_EQ(produce("t", batch(pid, 0, 2, 1, "stale")).error_code, 47);       // INVALID_EPOCH
  EXPECT_EQ(produce("t", batch(pid, 2, 7, 1, "new")).error_code, 45);         // epoch not at 0
  EXPECT_EQ(produce("t", batch(pid + 5000, 0, 9, 1, "who")).error_code, 59);  // UNKNOWN_PID
  EXPECT_EQ(log_end("t"), 3);
}

TEST_F(IdempotenceTest, NonIdempotentBatchesSkipEveryCheck) {
  create("t");
  // kafkajs and sarama put epoch 0 and sequence 0 in batches with producer id -1.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(produce("t", batch(-1, 0, 0, 2, "x")).error_code, 0);
  }
  EXPECT_EQ(log_end("t"), 6);
}

TEST_F(IdempotenceTest, StateAndIdsSurviveACleanRestart) {
  create("t");
  const int64_t pid = init().producer_id;
  auto a = produce("t", batch(pid, 0, 0, 4, "a"));
  ASSERT_EQ(a.error_code, 0);
  restart_on(dir_.path());
  auto again = produce("t", batch(pid, 0, 0, 4, "a"));
  EXPECT_EQ(again.error_code, 0);
  EXPECT_EQ(again.base_offset, a.base_offset);
  EXPECT_EQ(log_end("t"), 4);
  EXPECT_EQ(produce("t", batch(pid, 0, 5, 1, "gap")).error_code, 45);
  // Ids are never handed out twice, restart or not.
  EXPECT_GT(init().producer_id, pid);
}

TEST_F(IdempotenceTest, StateIsRebuiltFromTheLogAfterACrash) {
  create("t");
  create("u");
  const int64_t pid = init().producer_id;
  ASSERT_EQ(produce("t", batch(pid, 0, 0, 3, "a")).error_code, 0);
  // A snapshot of "t" at offset 3 (the housekeeping tick), then more batches after it.
  broker_->producers().housekeeping();
  ASSERT_TRUE(run_until([&] { return broker_->producers().snapshots_written() >= 2; }));
  auto b = produce("t", batch(pid, 0, 3, 2, "b"));
  auto c = produce("t", batch(pid, 0, 5, 2, "c"));
  auto u = produce("u", batch(pid, 0, 0, 1, "u"));
  ASSERT_EQ(c.error_code, 0);
  ASSERT_EQ(u.error_code, 0);
  const int64_t id_limit_before = init().producer_id;

  // The files as a kill -9 leaves them: acknowledged batches are on disk, no shutdown snapshot.
  ferry::test::TempDir crash;
  std::filesystem::copy(
      dir_.path(), crash.path(),
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  restart_on(crash.path());

  // "t": the snapshot plus the log after it; "u": its snapshot predates every batch.
  auto b2 = produce("t", batch(pid, 0, 3, 2, "b"));
  EXPECT_EQ(b2.error_code, 0);
  EXPECT_EQ(b2.base_offset, b.base_offset);
  EXPECT_EQ(produce("t", batch(pid, 0, 5, 2, "c")).base_offset, c.base_offset);
  EXPECT_EQ(produce("t", batch(pid, 0, 0, 3, "a")).base_offset, 0);
  EXPECT_EQ(produce("u", batch(pid, 0, 0, 1, "u")).base_offset, u.base_offset);
  EXPECT_EQ(log_end("t"), 7);
  EXPECT_EQ(log_end("u"), 1);
  EXPECT_EQ(produce("t", batch(pid, 0, 8, 1, "gap")).error_code, 45);
  EXPECT_EQ(produce("t", batch(pid, 0, 7, 1, "d")).base_offset, 7);
  EXPECT_GT(init().producer_id, id_limit_before);
}

TEST_F(IdempotenceTest, AnIdempotentAppendThatRollsTheLogSnapshotsTheProducers) {
  create("t", {{"segment.bytes", "1048576"}, {"compression.type", "producer"}});  // stored as sent
  const int64_t pid = init().producer_id;
  const uint64_t before = broker_->producers().snapshots_written();
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(produce("t", batch(pid, 0, i, 1, "big", 400 << 10)).error_code, 0);
  }
  ASSERT_GE(broker_->topics().partition("t", 0)->log().segment_count(), 2u);
  // No housekeeping tick ran: the roll itself wrote the snapshot.
  EXPECT_TRUE(run_until([&] { return broker_->producers().snapshots_written() > before; }));
}

TEST_F(IdempotenceTest, ARecreatedTopicStartsWithoutTheOldProducers) {
  create("t");
  const int64_t pid = init().producer_id;
  ASSERT_EQ(produce("t", batch(pid, 0, 0, 3, "a")).error_code, 0);
  DeleteTopicsRequest del;
  del.topic_names = {"t"};
  ASSERT_EQ(call<DeleteTopicsResponse>(ApiKey::delete_topics, 3, del).responses.at(0).error_code,
            0);
  create("t");
  // Not a duplicate of the deleted topic's batch: stored at offset 0 of the new log.
  auto a = produce("t", batch(pid, 0, 0, 3, "a"));
  EXPECT_EQ(a.error_code, 0);
  EXPECT_EQ(log_end("t"), 3);
}

TEST_F(IdempotenceTest, IdleProducersAreForgottenAfterTheExpiration) {
  expiration_ms_ = 50;
  restart_on(dir_.path());
  create("t");
  const int64_t idle = init().producer_id;
  const int64_t busy = init().producer_id;
  ASSERT_EQ(produce("t", batch(idle, 0, 0, 3, "idle")).error_code, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  ASSERT_EQ(produce("t", batch(busy, 0, 0, 1, "busy")).error_code, 0);
  broker_->producers().housekeeping();
  // The busy producer is still known; the idle one is not: its retry is no longer recognised
  // and is stored again, and it may go on at any sequence.
  EXPECT_EQ(produce("t", batch(busy, 0, 0, 1, "busy")).base_offset, 3);
  auto again = produce("t", batch(idle, 0, 0, 3, "idle"));
  EXPECT_EQ(again.error_code, 0);
  EXPECT_EQ(again.base_offset, 4);
  EXPECT_EQ(produce("t", batch(idle, 0, 40, 1, "later")).error_code, 45);
}

}  // namespace
}  // namespace ferry::broker::test
