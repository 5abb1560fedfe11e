// Broker-side compression end to end against an in-process broker: a topic's compression.type
// (ferry's default lz4, each codec Kafka names, producer) decides the codec batches are stored
// and fetched in, whatever codec they were produced in; the header fields survive the rewrite;
// an idempotent retry of a rewritten batch is recognised; large batches are rewritten off the
// loop with the same result.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "broker/recompress.h"
#include "broker_fixture.h"
#include "protocol/compression.h"
#include "protocol/record_batch.h"

namespace ferry::broker::test {
namespace {

using namespace protocol;

class BrokerCompressionTest : public BrokerFixture {
 protected:
  // A batch of `n` JSON-like readings, uncompressed, then rewritten into `codec` when asked.
  static std::vector<std::byte> readings(int n, Compression codec = Compression::none,
                                         int64_t pid = -1, int32_t seq = -1, size_t pad = 0) {
    std::vector<std::string> values;
    for (int i = 0; i < n; ++i) {
      values.push_back("{\"sensor\":\"s" + std::to_string(i % 40) + "\",\"t\":21." +
                       std::to_string(i % 10) + ",\"n\":" + std::to_string(i) + "}");
      if (values.back().size() < pad) values.back().resize(pad, ' ');
    }
    std::vector<RecordInput> records;
    int64_t ts = 1'700'000'000'000;
    for (const auto& v : values)
      records.push_back({std::string_view("k"), v, ts++, {}});  // a literal: views outlive the loop
    BuildOptions o;
    o.producer_id = ProducerId(pid);
    o.producer_epoch = pid >= 0 ? 0 : -1;
    o.base_sequence = seq;
    auto b = build_batch(records, o).value();
    if (codec == Compression::none) return b;
    auto c = recompress_for_storage(b, codec, {protocol::kMaxInflatedBytes, 1u << 30});
    EXPECT_TRUE(c.has_value());
    return c ? *c : b;
  }

  ProduceResponse::Topic::Partition produce(const std::string& topic,
                                            const std::vector<std::byte>& b, int16_t acks = -1) {
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

  // The batches of partition 0 from `offset`, as fetched (which is as stored).
  std::vector<std::vector<std::byte>> fetch_batches(const std::string& topic, int64_t offset = 0) {
    auto resp = call<FetchResponse>(ApiKey::fetch, 11, fetch_request(topic, 0, offset));
    const auto& p = resp.responses.at(0).partitions.at(0);
    EXPECT_EQ(p.error_code, 0);
    std::vector<std::vector<std::byte>> out;
    if (!p.records.data) return out;
    std::span<const std::byte> data = *p.records.data;
    size_t pos = 0;
    while (pos < data.size()) {
      auto size = declared_batch_size(data.subspan(pos));
      if (!size || *size > data.size() - pos) break;
      auto b = data.subspan(pos, *size);
      out.emplace_back(b.begin(), b.end());
      pos += *size;
    }
    return out;
  }

  static std::vector<std::string> values_of(std::span<const std::byte> batch) {
    std::vector<std::string> out;
    for (auto& r : fetched_records(batch)) out.push_back(r.value.value_or("<null>"));
    return out;
  }
};

TEST_F(BrokerCompressionTest, ADefaultTopicStoresEveryCodecAsLz4) {
  ASSERT_EQ(create_topic("sensors", 1).topics.at(0).error_code, 0);
  const std::vector<Compression> sent = {Compression::none, Compression::gzip, Compression::snappy,
                                         Compression::zstd, Compression::lz4};
  std::vector<std::vector<std::byte>> originals;
  int64_t next = 0;
  for (Compression c : sent) {
    originals.push_back(readings(40, c));
    auto r = produce("sensors", originals.back());
    ASSERT_EQ(r.error_code, 0) << compression_name(c);
    EXPECT_EQ(r.base_offset, next);
    next += 40;
  }
  auto stored = fetch_batches("sensors");
  ASSERT_EQ(stored.size(), sent.size());
  for (size_t i = 0; i < stored.size(); ++i) {
    const BatchView s(stored[i]);
    const BatchView o(originals[i]);
    EXPECT_EQ(s.compression(), Compression::lz4) << "sent as " << compression_name(sent[i]);
    EXPECT_TRUE(validate_batch(stored[i]).ok());
    // Header fields other than length, codec and CRC are the producer's.
    EXPECT_EQ(s.base_offset(), Offset(static_cast<int64_t>(i) * 40));
    EXPECT_EQ(s.last_offset_delta(), o.last_offset_delta());
    EXPECT_EQ(s.record_count(), o.record_count());
    EXPECT_EQ(s.base_timestamp(), o.base_timestamp());
    EXPECT_EQ(s.max_timestamp(), o.max_timestamp());
    EXPECT_EQ(values_of(stored[i]), values_of(originals[i]));
    if (sent[i] == Compression::none) {
      EXPECT_LT(stored[i].size(), originals[i].size());
    }
  }
}

TEST_F(BrokerCompressionTest, EachCodecTopicWritesItsCodecAndProducerKeepsWhatWasSent) {
  const std::vector<std::pair<std::string, std::optional<Compression>>> topics = {
      {"gzip", Compression::gzip}, {"snappy", Compression::snappy},     {"zstd", Compression::zstd},
      {"lz4", Compression::lz4},   {"uncompressed", Compression::none}, {"producer", std::nullopt}};
  for (const auto& [codec, want] : topics) {
    const std::string topic = "t-" + codec;
    ASSERT_EQ(create_topic(topic, 1, {{"compression.type", codec}}).topics.at(0).error_code, 0);
    auto plain = readings(30);
    auto zstd = readings(30, Compression::zstd);
    ASSERT_EQ(produce(topic, plain).error_code, 0) << topic;
    ASSERT_EQ(produce(topic, zstd).error_code, 0) << topic;
    auto stored = fetch_batches(topic);
    ASSERT_EQ(stored.size(), 2u) << topic;
    EXPECT_EQ(BatchView(stored[0]).compression(), want.value_or(Compression::none)) << topic;
    EXPECT_EQ(BatchView(stored[1]).compression(), want.value_or(Compression::zstd)) << topic;
    EXPECT_EQ(values_of(stored[0]), values_of(plain)) << topic;
    EXPECT_EQ(values_of(stored[1]), values_of(zstd)) << topic;
    if (!want) {  // producer: the bytes as sent (but the leader epoch the broker stamps)
      EXPECT_TRUE(std::ranges::equal(std::span(stored[0]).subspan(batch_layout::kMagic),
                                     std::span(plain).subspan(batch_layout::kMagic)));
    }
  }
}

// A retry of a batch the broker rewrote carries the producer's original bytes again: it must be
// answered as a duplicate with the first offset, not stored twice. Small batches are rewritten on
// the loop, large ones (kRewriteOffLoopBytes) on the thread pool.
TEST_F(BrokerCompressionTest, AnIdempotentRetryOfARewrittenBatchIsADuplicate) {
  ASSERT_EQ(create_topic("idem", 1).topics.at(0).error_code, 0);
  InitProducerIdRequest init;
  init.transaction_timeout_ms = 60000;
  const int64_t pid = call<InitProducerIdResponse>(ApiKey::init_producer_id, 1, init).producer_id;
  ASSERT_GE(pid, 0);
  auto small = readings(20, Compression::none, pid, 0);
  auto large = readings(200, Compression::gzip, pid, 20, 200);
  ASSERT_LT(small.size(), kRewriteOffLoopBytes);
  ASSERT_GE(BatchView(large).size(), 1000u);
  auto a = produce("idem", small);
  ASSERT_EQ(a.error_code, 0);
  EXPECT_EQ(a.base_offset, 0);
  auto b = produce("idem", large);
  ASSERT_EQ(b.error_code, 0);
  EXPECT_EQ(b.base_offset, 20);
  // Both retried, as a producer whose responses were lost would.
  auto a2 = produce("idem", small, 1);
  EXPECT_EQ(a2.error_code, 0);
  EXPECT_EQ(a2.base_offset, 0);
  auto b2 = produce("idem", large);
  EXPECT_EQ(b2.error_code, 0);
  EXPECT_EQ(b2.base_offset, 20);
  EXPECT_EQ(broker_->topics().partition("idem", 0)->log_end_offset().value(), 220);
  auto stored = fetch_batches("idem");
  ASSERT_EQ(stored.size(), 2u);
  for (const auto& s : stored) {
    const BatchView v(s);
    EXPECT_EQ(v.compression(), Compression::lz4);
    EXPECT_EQ(v.producer_id(), ProducerId(pid));
    EXPECT_EQ(v.producer_epoch(), 0);
  }
  EXPECT_EQ(BatchView(stored[0]).base_sequence(), 0);
  EXPECT_EQ(BatchView(stored[1]).base_sequence(), 20);
  // The next sequence continues where the stored batches end.
  auto c = produce("idem", readings(5, Compression::none, pid, 220));
  EXPECT_EQ(c.error_code, 0);
  EXPECT_EQ(c.base_offset, 220);
  // A gap in the sequence is still refused after rewrites.
  EXPECT_NE(produce("idem", readings(5, Compression::none, pid, 300)).error_code, 0);
}

TEST_F(BrokerCompressionTest, LargeBatchesAreRewrittenOffTheLoopInOrder) {
  ASSERT_EQ(create_topic("big", 1).topics.at(0).error_code, 0);
  std::vector<std::vector<std::byte>> sent;
  for (int i = 0; i < 4; ++i) {
    // Alternately large (thread pool) and small (loop): stored in the order sent.
    sent.push_back(i % 2 == 0 ? readings(400, Compression::none, -1, -1, 100) : readings(3));
    if (i % 2 == 0) {
      ASSERT_GE(sent.back().size(), kRewriteOffLoopBytes);
    }
    ASSERT_EQ(produce("big", sent.back(), 1).error_code, 0);
  }
  auto stored = fetch_batches("big");
  ASSERT_EQ(stored.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(values_of(stored[i]), values_of(sent[i])) << i;
    if (i % 2 == 0) {
      EXPECT_EQ(BatchView(stored[i]).compression(), Compression::lz4);
    }
  }
}

// A damaged compressed batch is refused, not given a fresh CRC by the rewrite.
TEST_F(BrokerCompressionTest, ADamagedBatchIsRefusedNotRewritten) {
  ASSERT_EQ(create_topic("bad", 1).topics.at(0).error_code, 0);
  auto b = readings(40, Compression::gzip);
  b[b.size() - 5] ^= std::byte{0x40};
  EXPECT_EQ(produce("bad", b).error_code, 2);  // CORRUPT_MESSAGE
  EXPECT_EQ(broker_->topics().partition("bad", 0)->log_end_offset().value(), 0);
}

// Kafka tools send topic configs ferry has no behaviour for (and compression.type=snappy, which
// ferry once refused): IncrementalAlterConfigs sets and deletes them, DescribeConfigs returns
// them, an unknown key is INVALID_CONFIG (40) and changes nothing.
TEST_F(BrokerCompressionTest, IncrementalAlterConfigsTakesKafkaTopicKeys) {
  ASSERT_EQ(create_topic("keys", 1, {{"compression.type", "snappy"}, {"preallocate", "true"}})
                .topics.at(0)
                .error_code,
            0);
  IncrementalAlterConfigsRequest inc;
  inc.resources.push_back({2,
                           "keys",
                           {{"segment.jitter.ms", 0, "1000"},
                            {"unclean.leader.election.enable", 0, "true"},
                            {"preallocate", 1, std::nullopt},
                            {"compression.type", 0, "zstd"}}});
  auto alt = call<IncrementalAlterConfigsResponse>(ApiKey::incremental_alter_configs, 0, inc);
  EXPECT_EQ(alt.responses.at(0).error_code, 0);
  DescribeConfigsRequest d;
  d.resources.push_back({2, "keys", std::nullopt});
  auto desc = call<DescribeConfigsResponse>(ApiKey::describe_configs, 3, d);
  std::map<std::string, std::pair<std::string, int8_t>> got;
  for (auto& c : desc.results.at(0).configs) got[c.name] = {c.value.value_or(""), c.config_source};
  EXPECT_EQ(got["segment.jitter.ms"], std::make_pair(std::string("1000"), int8_t{1}));
  EXPECT_EQ(got["unclean.leader.election.enable"], std::make_pair(std::string("true"), int8_t{1}));
  EXPECT_EQ(got["preallocate"], std::make_pair(std::string("false"), int8_t{5}));
  EXPECT_EQ(got["compression.type"], std::make_pair(std::string("zstd"), int8_t{1}));
  EXPECT_EQ(broker_->topics().find("keys")->settings.store_codec, Compression::zstd);

  IncrementalAlterConfigsRequest bad;
  bad.resources.push_back({2, "keys", {{"segment.kilobytes", 0, "1"}}});
  alt = call<IncrementalAlterConfigsResponse>(ApiKey::incremental_alter_configs, 0, bad);
  EXPECT_EQ(alt.responses.at(0).error_code, 40);
}

}  // namespace
}  // namespace ferry::broker::test
