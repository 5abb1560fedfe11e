// The producer against real brokers: an in-process ferry broker on the test's loop (records
// read back with Fetch), and, where librdkafka-dev is installed, librdkafka's mock cluster (an
// independent Kafka implementation with several brokers, leader moves and injected errors), where
// a group consumer also reads back what was produced.
#include <gtest/gtest.h>
#include <uv.h>

#include <map>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "support/loop.h"
#include "unit/broker/broker_fixture.h"

#ifdef FERRY_HAVE_RDKAFKA_MOCK
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif

namespace ferry::client {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;

struct Fetched {
  int64_t offset;
  std::string key;
  std::string value;
  protocol::Compression compression;
  int64_t producer_id;
};

std::string text(const std::optional<std::span<const std::byte>>& b) {
  return b ? std::string(reinterpret_cast<const char*>(b->data()), b->size()) : std::string();
}

// Every record of topic/partition, read with Fetch from its leader until the high watermark.
// Runs the loop through `run` (a bounded wait).
std::vector<Fetched> fetch_all(Client& c, const std::string& topic, int32_t partition,
                               const std::function<bool(const std::function<bool()>&)>& run) {
  std::vector<Fetched> out;
  int64_t next = 0;
  for (int round = 0; round < 1000; ++round) {
    protocol::FetchRequest req;
    req.max_wait_ms = 0;
    req.max_bytes = 1 << 20;
    req.topics.push_back({topic, {{}}});
    req.topics[0].partitions[0].partition = partition;
    req.topics[0].partitions[0].fetch_offset = next;
    req.topics[0].partitions[0].partition_max_bytes = 1 << 20;
    bool done = false;
    int64_t high_watermark = -1;
    c.send_to_leader<ApiKey::fetch>(
        topic, partition, std::move(req), [&](KafkaResult<protocol::FetchResponse> r) {
          done = true;
          ASSERT_TRUE(r.ok()) << r.error().to_string();
          const auto& p = r->responses.at(0).partitions.at(0);
          ASSERT_EQ(p.error_code, 0);
          high_watermark = p.high_watermark;
          auto bytes = p.records.data.value_or(std::span<const std::byte>{});
          while (auto size = protocol::declared_batch_size(bytes)) {
            if (*size > bytes.size()) break;
            protocol::BatchView b(bytes.first(*size));
            bytes = bytes.subspan(*size);
            std::vector<std::byte> scratch;
            auto recs = protocol::decode_records(b, scratch);
            ASSERT_TRUE(recs.ok());
            for (const auto& rec : *recs) {
              const int64_t off = b.base_offset().value() + rec.offset_delta;
              if (off < next) continue;
              out.push_back(
                  {off, text(rec.key), text(rec.value), b.compression(), b.producer_id().value()});
              next = off + 1;
            }
          }
        });
    EXPECT_TRUE(run([&] { return done; }));
    if (!done || next >= high_watermark) break;
  }
  return out;
}

// Produces `n` records "k<i % keys>" = "v<i>" to `topic` and flushes; returns the reports.
std::vector<DeliveryReport> produce_keyed(
    Producer& p, const std::string& topic, int n, int keys,
    const std::function<bool(const std::function<bool()>&)>& run) {
  std::vector<DeliveryReport> reports;
  for (int i = 0; i < n; ++i) {
    ProducerRecord r;
    r.topic = topic;
    r.key = "k" + std::to_string(i % keys);
    r.value = "v" + std::to_string(i);
    p.produce(std::move(r), [&reports](const DeliveryReport& d) { reports.push_back(d); });
  }
  bool flushed = false;
  p.flush([&] { flushed = true; });
  EXPECT_TRUE(run([&] { return flushed; }));
  return reports;
}

// Checks that each partition holds exactly its keys' records, in production order, at the
// offsets the reports gave.
void expect_read_back(Client& c, const std::string& topic, int32_t partitions, int n,
                      const std::vector<DeliveryReport>& reports,
                      const std::function<bool(const std::function<bool()>&)>& run) {
  ASSERT_EQ(reports.size(), static_cast<size_t>(n));
  std::map<int32_t, std::vector<std::pair<int64_t, std::string>>> want;
  for (size_t i = 0; i < reports.size(); ++i) {
    ASSERT_TRUE(reports[i].offset.ok()) << reports[i].offset.error().to_string();
  }
  // Reports come in production order per partition; record i's value is "v<i>" only when
  // reports arrive in the order of produce() calls, which they do per partition.
  std::map<int32_t, int64_t> count;
  int total = 0;
  for (int32_t p = 0; p < partitions; ++p) {
    auto got = fetch_all(c, topic, p, run);
    int64_t expect_offset = 0;
    int last_value = -1;
    for (const auto& f : got) {
      EXPECT_EQ(f.offset, expect_offset++);
      const int v = std::stoi(f.value.substr(1));
      EXPECT_GT(v, last_value) << "partition " << p << " out of order";
      last_value = v;
      EXPECT_EQ(murmur2_partition(f.key, partitions), p);
    }
    total += static_cast<int>(got.size());
  }
  EXPECT_EQ(total, n);
}

class ProducerOnFerry : public broker::test::BrokerFixture {
 protected:
  void configure(config::BrokerConfig& cfg) override {
    cfg.auto_create_topics = true;
    cfg.num_partitions = 3;
  }
  std::function<bool(const std::function<bool()>&)> runner() {
    return [this](const std::function<bool()>& done) { return run_until(done, 10000); };
  }
  std::unique_ptr<Client> client() {
    return std::make_unique<Client>(&loop_, "127.0.0.1", broker_->port(), ConnectionOptions{});
  }
};

TEST_F(ProducerOnFerry, IdempotentLz4RecordsReadBackInOrder) {
  auto c = client();
  {
    ProducerOptions o;
    o.idempotent = true;
    o.compression = protocol::Compression::lz4;
    o.batch_size = 2000;
    Producer p(*c, o);
    auto reports = produce_keyed(p, "events", 3000, 10, runner());
    expect_read_back(*c, "events", 3, 3000, reports, runner());
    EXPECT_GE(p.producer_id().value(), 0);
    auto got = fetch_all(*c, "events", 0, runner());
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got[0].compression, protocol::Compression::lz4);
    EXPECT_EQ(got[0].producer_id, p.producer_id().value());
  }
  c->close();
  c.reset();
}

TEST_F(ProducerOnFerry, APrebuiltBatchIsStoredWithTheProducersIdentity) {
  auto c = client();
  {
    std::vector<protocol::RecordInput> in;
    for (int i = 0; i < 50; ++i) in.push_back({"key", "value", 1'700'000'000'000, {}});
    protocol::BuildOptions bo;
    bo.compression = protocol::Compression::lz4;
    bo.producer_id = ProducerId(77);
    bo.producer_epoch = 2;
    bo.base_sequence = 1000;
    auto built = protocol::build_batch(in, bo);
    ASSERT_TRUE(built.ok());
    ProducerOptions o;
    o.idempotent = true;
    Producer p(*c, o);
    std::vector<DeliveryReport> reports;
    for (int i = 0; i < 3; ++i) {
      p.produce_batch("mirrored", 1, *built,
                      [&](const DeliveryReport& d) { reports.push_back(d); });
    }
    ASSERT_TRUE(run_until([&] { return reports.size() == 3; }));
    for (size_t i = 0; i < 3; ++i) {
      ASSERT_TRUE(reports[i].offset.ok()) << reports[i].offset.error().to_string();
      EXPECT_EQ(reports[i].offset->value(), static_cast<int64_t>(i) * 50);
    }
    auto got = fetch_all(*c, "mirrored", 1, runner());
    ASSERT_EQ(got.size(), 150U);
    for (const auto& f : got) {
      EXPECT_EQ(f.compression, protocol::Compression::lz4);
      EXPECT_EQ(f.producer_id, p.producer_id().value());
    }
  }
  c->close();
  c.reset();
}

#ifdef FERRY_HAVE_RDKAFKA_MOCK

// librdkafka's mock cluster: three brokers in this process (their own threads), driven by the
// producer on the test's loop.
class ProducerOnMockCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ASSERT_NE(owner_, nullptr) << err;
    mock_ = rd_kafka_mock_cluster_new(owner_, 3);
    ASSERT_NE(mock_, nullptr);
    std::string bootstraps = rd_kafka_mock_cluster_bootstraps(mock_);
    const std::string first = bootstraps.substr(0, bootstraps.find(','));
    const auto colon = first.rfind(':');
    host_ = first.substr(0, colon);
    port_ = static_cast<uint16_t>(std::stoi(first.substr(colon + 1)));
  }
  void TearDown() override {
    if (mock_) rd_kafka_mock_cluster_destroy(mock_);
    if (owner_) rd_kafka_destroy(owner_);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  // The mock's brokers answer on their own threads: poll the loop in short turns.
  bool run_until(const std::function<bool()>& done, int max_ms = 20000) {
    return ferry::test::run_until(&loop_, done, static_cast<uint64_t>(max_ms));
  }
  std::function<bool(const std::function<bool()>&)> runner() {
    return [this](const std::function<bool()>& done) { return run_until(done); };
  }
  std::unique_ptr<Client> client() {
    ClientOptions co;
    co.reconnect_backoff_ms = 10;
    co.reconnect_backoff_max_ms = 200;
    return std::make_unique<Client>(&loop_, host_, port_, ConnectionOptions{}, co);
  }
  uv_loop_t loop_{};
  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* mock_ = nullptr;
  std::string host_;
  uint16_t port_ = 0;
};

TEST_F(ProducerOnMockCluster, IdempotentProduceToEveryLeader) {
  ASSERT_EQ(rd_kafka_mock_topic_create(mock_, "orders", 6, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto c = client();
  {
    ProducerOptions o;
    o.idempotent = true;
    o.batch_size = 1000;
    Producer p(*c, o);
    auto reports = produce_keyed(p, "orders", 2000, 40, runner());
    EXPECT_GE(p.producer_id().value(), 0);
    expect_read_back(*c, "orders", 6, 2000, reports, runner());
  }
  c->close();
  c.reset();
}

// The consumer against the same independent implementation: a group member reads back what the
// producer wrote to three partitions on different leaders, in order, and commits.
TEST_F(ProducerOnMockCluster, AGroupConsumerReadsBackWhatWasProduced) {
  ASSERT_EQ(rd_kafka_mock_topic_create(mock_, "readings", 3, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto c = client();
  std::vector<DeliveryReport> reports;
  {
    Producer p(*c, ProducerOptions{});
    reports = produce_keyed(p, "readings", 600, 12, runner());
  }
  std::map<int32_t, std::vector<int64_t>> want;  // offsets per partition, as acknowledged
  for (const auto& r : reports) {
    ASSERT_TRUE(r.offset.ok()) << r.offset.error().to_string();
    want[r.partition].push_back(r.offset->value());
  }
  ASSERT_EQ(want.size(), 3u);

  {
    ConsumerConfig cfg;
    cfg.group_id = "readers";
    cfg.auto_offset_reset = OffsetReset::earliest;
    cfg.fetch_max_wait_ms = 50;
    cfg.heartbeat_interval_ms = 100;
    cfg.enable_auto_commit = false;
    Consumer consumer(*c, cfg);
    std::vector<ConsumerRecord> got;
    std::vector<KafkaError> errors;
    consumer.on_error([&](const KafkaError& e) { errors.push_back(e); });
    consumer.on_records([&] {
      for (auto& r : consumer.poll(1000)) got.push_back(std::move(r));
    });
    consumer.subscribe({"readings"});
    ASSERT_TRUE(run_until([&] { return got.size() >= 600; })) << got.size() << " records";
    std::map<int32_t, std::vector<int64_t>> seen;
    for (const auto& r : got) seen[r.partition].push_back(r.offset.value());
    EXPECT_EQ(seen, want);
    std::optional<KafkaStatus> committed;
    consumer.commit([&](KafkaStatus st) { committed.emplace(std::move(st)); });
    ASSERT_TRUE(run_until([&] { return committed.has_value(); }));
    EXPECT_TRUE(committed->ok()) << committed->error().to_string();
    bool closed = false;
    consumer.close([&] { closed = true; });
    ASSERT_TRUE(run_until([&] { return closed; }));
    EXPECT_TRUE(errors.empty()) << errors.front().to_string();
  }
  c->close();
  c.reset();
}

TEST_F(ProducerOnMockCluster, LeaderMovesAndInjectedErrorsAreRetriedInOrder) {
  ASSERT_EQ(rd_kafka_mock_topic_create(mock_, "moving", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto c = client();
  {
    ProducerOptions o;
    o.idempotent = true;
    o.batch_size = 500;
    o.retry_backoff_ms = 20;
    Producer p(*c, o);
    auto first = produce_keyed(p, "moving", 500, 8, runner());
    for (const auto& r : first) ASSERT_TRUE(r.offset.ok()) << r.offset.error().to_string();
    // Both partitions move to other brokers; the next Produce requests also meet errors.
    rd_kafka_mock_partition_set_leader(mock_, "moving", 0, 3);
    rd_kafka_mock_partition_set_leader(mock_, "moving", 1, 2);
    rd_kafka_mock_push_request_errors(mock_, 0 /* Produce */, 2,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    auto second = produce_keyed(p, "moving", 500, 8, runner());
    std::vector<DeliveryReport> all = first;
    all.insert(all.end(), second.begin(), second.end());
    // Values restart at v0 in the second round: check the offsets and the totals.
    ASSERT_EQ(all.size(), 1000U);
    for (const auto& r : all) ASSERT_TRUE(r.offset.ok()) << r.offset.error().to_string();
    int total = 0;
    for (int32_t part = 0; part < 2; ++part) {
      auto got = fetch_all(*c, "moving", part, runner());
      for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].offset, static_cast<int64_t>(i));
      total += static_cast<int>(got.size());
    }
    EXPECT_EQ(total, 1000);  // no duplicates from the retries
  }
  c->close();
  c.reset();
}

TEST_F(ProducerOnMockCluster, OutOfOrderSequenceBumpsTheEpochAgainstTheMock) {
  ASSERT_EQ(rd_kafka_mock_topic_create(mock_, "bumped", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto c = client();
  {
    ProducerOptions o;
    o.idempotent = true;
    o.retry_backoff_ms = 20;
    Producer p(*c, o);
    auto first = produce_keyed(p, "bumped", 200, 1, runner());
    for (const auto& r : first) ASSERT_TRUE(r.offset.ok()) << r.offset.error().to_string();
    const int64_t pid = p.producer_id().value();
    const int16_t epoch = p.producer_epoch();
    rd_kafka_mock_push_request_errors(mock_, 0 /* Produce */, 1,
                                      RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    auto second = produce_keyed(p, "bumped", 200, 1, runner());
    for (const auto& r : second) ASSERT_TRUE(r.offset.ok()) << r.offset.error().to_string();
    // KIP-360: the same id with a higher epoch (or, from a broker without InitProducerId v3, a
    // new id).
    EXPECT_TRUE(p.producer_id().value() != pid || p.producer_epoch() > epoch)
        << pid << "/" << epoch << " -> " << p.producer_id().value() << "/" << p.producer_epoch();
    auto got = fetch_all(*c, "bumped", 0, runner());
    ASSERT_EQ(got.size(), 400U);
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].offset, static_cast<int64_t>(i));
      EXPECT_EQ(got[i].value, "v" + std::to_string(i % 200));
    }
  }
  c->close();
  c.reset();
}

#endif  // FERRY_HAVE_RDKAFKA_MOCK

}  // namespace
}  // namespace ferry::client
