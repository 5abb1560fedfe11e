// Produced batches written off the loop (partition_append.h, storage write jobs), end to end
// against an in-process broker whose file system can hold a partition's segment writes on a
// latch or fail them: the loop keeps answering meanwhile, fetches never see offsets whose bytes
// are not in the file, a failed write fails only its own batches, and an idempotent producer's
// batches queued behind a held write keep their order and duplicates their offsets.
#include <gtest/gtest.h>

#include <cerrno>

#include "broker_fixture.h"
#include "protocol/messages/producer_id.h"
#include "support/stalling_fs.h"

namespace ferry::broker::test {
namespace {

using namespace protocol;

constexpr const char* kHeldLog = "held-0/00000000000000000000.log";

class ProduceWriteTest : public BrokerFixture {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    loop_ready_ = true;
    config::BrokerConfig cfg;
    cfg.data_dir = dir_.path();
    cfg.listen = {"127.0.0.1", 0};
    cfg.advertised = {"127.0.0.1", 0};
    node_ = std::make_unique<app::Node>(&loop_, cfg, Clock::system(), fs_);
    auto st = node_->start();
    broker_ = node_->has_broker() ? &node_->broker() : nullptr;
    ASSERT_TRUE(st.ok()) << st.error().to_string();
    ASSERT_EQ(create_topic("held", 1).topics.at(0).error_code, 0);
    ASSERT_EQ(create_topic("other", 1).topics.at(0).error_code, 0);
    fs_.watch(kHeldLog);
  }
  void TearDown() override {
    EXPECT_FALSE(fs_.hold_expired())
        << "a held write was not let go by the test: it ran on the loop";
    fs_.release();
    BrokerFixture::TearDown();
  }

  static ProduceRequest produce_request(const std::string& topic, std::span<const std::byte> b,
                                        int16_t acks) {
    ProduceRequest req;
    req.acks = acks;
    req.timeout_ms = 5000;
    ProduceRequest::Topic t;
    t.name = topic;
    t.partition_data.push_back({0, RecordsRef{b}});
    req.topic_data.push_back(t);
    return req;
  }
  ProduceResponse::Topic::Partition produce(TestConn& c, const std::string& topic,
                                            std::span<const std::byte> b, int16_t acks = 1) {
    auto resp = call<ProduceResponse>(c, ApiKey::produce, 8, produce_request(topic, b, acks));
    if (resp.responses.empty() || resp.responses[0].partition_responses.empty()) return {};
    return resp.responses[0].partition_responses[0];
  }
  // The partition answer of a Produce v8 response frame received earlier.
  ProduceResponse::Topic::Partition produce_answer(const std::vector<std::byte>& frame) {
    Reader r(frame);
    (void)r.i32();  // correlation id
    ProduceResponse resp;
    auto body = std::span<const std::byte>(frame).subspan(r.position());
    EXPECT_TRUE(decode_message(body, 8, is_flexible(ApiKey::produce, 8), resp).ok());
    if (resp.responses.empty() || resp.responses[0].partition_responses.empty()) return {};
    return resp.responses[0].partition_responses[0];
  }
  // Every record offset and value of the topic's partition 0 from offset 0, and its high
  // watermark.
  std::vector<FetchedRecord> fetch_all(TestConn& c, const std::string& topic,
                                       int64_t* high_watermark = nullptr) {
    auto resp = call<FetchResponse>(c, ApiKey::fetch, 11, fetch_request(topic, 0, 0));
    const auto& p = resp.responses.at(0).partitions.at(0);
    EXPECT_EQ(p.error_code, 0);
    if (high_watermark) *high_watermark = p.high_watermark;
    if (!p.records.data) return {};
    return fetched_records(*p.records.data);
  }
  static std::vector<std::byte> batch(int n, const std::string& tag, int64_t pid = -1,
                                      int32_t seq = -1) {
    std::vector<RecordInput> records;
    std::vector<std::string> values;
    for (int i = 0; i < n; ++i) values.push_back(tag + "-" + std::to_string(i));
    for (const auto& v : values) records.push_back({std::nullopt, v, 1'700'000'000'000, {}});
    BuildOptions o;
    if (pid >= 0) {
      o.producer_id = ProducerId(pid);
      o.producer_epoch = 0;
      o.base_sequence = seq;
    }
    return build_batch(records, o).value();
  }

  ferry::test::StallingFileSystem fs_;
};

TEST_F(ProduceWriteTest, TheLoopAnswersWhileAPartitionsWriteIsHeld) {
  TestConn& producer = connect();
  TestConn& other = connect();
  const auto held = batch(3, "held");
  fs_.stall();
  producer.send(ApiKey::produce, 8, produce_request("held", held, 1));
  ASSERT_TRUE(run_until([&] { return fs_.stalled_writes() >= 1; }));

  // The write is held on the thread pool; the loop serves everything else.
  MetadataRequest md;
  md.topics = std::vector<MetadataRequest::Topic>{{"held"}};
  auto meta = call<MetadataResponse>(other, ApiKey::metadata, 8, md);
  ASSERT_EQ(meta.topics.size(), 1u);
  EXPECT_EQ(meta.topics[0].error_code, 0);
  const auto o1 = batch(2, "other");
  auto answered = produce(other, "other", o1, 1);
  EXPECT_EQ(answered.error_code, 0);
  EXPECT_EQ(answered.base_offset, 0);
  auto durable = produce(other, "other", o1, -1);
  EXPECT_EQ(durable.error_code, 0);
  EXPECT_EQ(durable.base_offset, 2);
  // Nothing of the held batch is visible: not its offsets, not its bytes.
  int64_t hw = -1;
  EXPECT_TRUE(fetch_all(other, "held", &hw).empty());
  EXPECT_EQ(hw, 0);
  EXPECT_EQ(broker_->topics().partition("held", 0)->log_end_offset(), Offset(0));
  EXPECT_TRUE(producer.frames().empty()) << "acks=1 answered before the write completed";

  fs_.release();
  ASSERT_TRUE(run_until([&] { return !producer.frames().empty(); }));
  auto first = produce_answer(producer.frames()[0]);
  EXPECT_EQ(first.error_code, 0);
  EXPECT_EQ(first.base_offset, 0);
  auto records = fetch_all(other, "held", &hw);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].offset, 2);
  EXPECT_EQ(hw, 3);
}

TEST_F(ProduceWriteTest, AFailedWriteFailsOnlyItsBatchesAndTheLogEndStaysTrue) {
  TestConn& c = connect();
  const auto a = batch(2, "a");
  ASSERT_EQ(produce(c, "held", a, -1).error_code, 0);

  // A held write, a second request queued behind it, then the held write fails on a full disk
  // after part of its bytes reached the file.
  fs_.stall();
  const auto b = batch(3, "b");
  c.send(ApiKey::produce, 8, produce_request("held", b, 1));
  ASSERT_TRUE(run_until([&] { return fs_.stalled_writes() >= 1; }));
  fs_.fail_next_write(ENOSPC, 40);
  fs_.release();
  ASSERT_TRUE(run_until([&] { return c.frames().size() >= 2; }));
  auto failed = produce_answer(c.frames()[1]);
  EXPECT_EQ(failed.error_code, static_cast<int16_t>(ErrorCode::kafka_storage_error));
  EXPECT_EQ(broker_->topics().partition("held", 0)->log_end_offset(), Offset(2));

  // The disk has space again: once the log's probe is due, the next write lands at offset 2.
  const auto c1 = batch(4, "c");
  ProduceResponse::Topic::Partition later;
  for (int i = 0; i < 60; ++i) {  // the probe comes after Log::kFullProbeIntervalMs
    later = produce(c, "held", c1, -1);
    if (later.error_code == 0) break;
    EXPECT_EQ(later.error_code, static_cast<int16_t>(ErrorCode::kafka_storage_error));
    run_until([] { return false; }, 50);
  }
  ASSERT_EQ(later.error_code, 0);
  EXPECT_EQ(later.base_offset, 2);

  // A consumer reads exactly what was acknowledged: a-0, a-1, c-0..c-3 at offsets 0..5.
  auto records = fetch_all(c, "held");
  ASSERT_EQ(records.size(), 6u);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(records[i].value.value_or(""),
              (i < 2 ? "a-" : "c-") + std::to_string(i < 2 ? i : i - 2));
  }
}

TEST_F(ProduceWriteTest, IdempotentBatchesQueuedBehindAHeldWriteKeepOrderAndDuplicatesOffsets) {
  InitProducerIdRequest init;
  init.transaction_timeout_ms = 60000;
  auto id = call<InitProducerIdResponse>(ApiKey::init_producer_id, 1, init);
  ASSERT_EQ(id.error_code, 0);
  const int64_t pid = id.producer_id;

  TestConn& c = connect();
  const auto s0 = batch(2, "s0", pid, 0);
  const auto s2 = batch(2, "s2", pid, 2);
  const auto s4 = batch(3, "s4", pid, 4);
  const auto gap = batch(1, "gap", pid, 9);
  fs_.stall();
  c.send(ApiKey::produce, 8, produce_request("held", s0, 1));
  ASSERT_TRUE(run_until([&] { return fs_.stalled_writes() >= 1; }));
  // Pipelined behind the held write: the next two in order, a retry of the held one, a batch
  // out of sequence, and the next one once more (a retry of s2 after s4: a duplicate too).
  c.send(ApiKey::produce, 8, produce_request("held", s2, 1));
  c.send(ApiKey::produce, 8, produce_request("held", s4, 1));
  c.send(ApiKey::produce, 8, produce_request("held", s0, 1));
  c.send(ApiKey::produce, 8, produce_request("held", gap, 1));
  c.send(ApiKey::produce, 8, produce_request("held", s2, 1));
  auto& queues = broker_->append_queues().by_partition;
  const Partition* part = broker_->topics().partition("held", 0).get();
  ASSERT_TRUE(run_until([&] {
    auto it = queues.find(part);
    return it != queues.end() && it->second.size() == 5;
  }));
  fs_.release();
  ASSERT_TRUE(run_until([&] { return c.frames().size() >= 6; }));
  const auto frames = c.frames();
  auto r0 = produce_answer(frames[0]);
  auto r2 = produce_answer(frames[1]);
  auto r4 = produce_answer(frames[2]);
  auto retry0 = produce_answer(frames[3]);
  auto out_of_order = produce_answer(frames[4]);
  auto retry2 = produce_answer(frames[5]);
  EXPECT_EQ(r0.error_code, 0);
  EXPECT_EQ(r0.base_offset, 0);
  EXPECT_EQ(r2.error_code, 0);
  EXPECT_EQ(r2.base_offset, 2);
  EXPECT_EQ(r4.error_code, 0);
  EXPECT_EQ(r4.base_offset, 4);
  EXPECT_EQ(retry0.error_code, 0);
  EXPECT_EQ(retry0.base_offset, 0);
  EXPECT_EQ(out_of_order.error_code, static_cast<int16_t>(ErrorCode::out_of_order_sequence_number));
  EXPECT_EQ(retry2.error_code, 0);
  EXPECT_EQ(retry2.base_offset, 2);
  auto records = fetch_all(c, "held");
  ASSERT_EQ(records.size(), 7u);
  EXPECT_EQ(records[0].value.value_or(""), "s0-0");
  EXPECT_EQ(records[2].value.value_or(""), "s2-0");
  EXPECT_EQ(records[6].value.value_or(""), "s4-2");
}

}  // namespace
}  // namespace ferry::broker::test
