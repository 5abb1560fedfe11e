// Produce validation end to end: batches Kafka refuses are answered per partition with
// CORRUPT_MESSAGE or INVALID_RECORD and never stored; large compressed batches are checked off
// the loop without reordering a partition's appends.
#include <gtest/gtest.h>

#include <climits>
#include <random>

#include "broker_fixture.h"
#include "protocol/compression.h"
#include "protocol/record_batch.h"

namespace ferry::broker::test {
namespace {

using protocol::ApiKey;
using namespace protocol;
namespace bl = batch_layout;

void refresh_crc(std::vector<std::byte>& b) {
  store_be32(b.data() + bl::kCrc, compute_batch_crc(b));
}

// `n` records of `value_size` random (incompressible) bytes, compressed with lz4 by build_batch.
std::vector<std::byte> lz4_batch(int n, size_t value_size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> values;
  for (int i = 0; i < n; ++i) {
    std::string v(value_size, '\0');
    for (auto& c : v) c = static_cast<char>(rng());
    values.push_back(std::move(v));
  }
  std::vector<RecordInput> in;
  for (const auto& v : values) in.push_back({std::nullopt, v, 1'700'000'000'000, {}});
  BuildOptions o;
  o.compression = Compression::lz4;
  auto b = build_batch(in, o);
  EXPECT_TRUE(b.ok());
  return b.ok() ? std::move(b).value() : std::vector<std::byte>{};
}

// A batch whose codec is `codec` and whose compressed records are garbage, behind a valid CRC.
std::vector<std::byte> garbage_batch(Compression codec, size_t garbage_bytes) {
  auto b = ferry::test::make_batch(3, "g");
  b.resize(bl::kRecords);
  for (size_t i = 0; i < garbage_bytes; ++i)
    b.push_back(std::byte{static_cast<uint8_t>(i * 131 + 7)});
  store_be16(b.data() + bl::kAttributes, static_cast<uint16_t>(codec));
  store_i32(b.data() + bl::kBatchLength, static_cast<int32_t>(b.size() - bl::kLogOverhead));
  refresh_crc(b);
  return b;
}

class ProduceValidationTest : public BrokerFixture {
 protected:
  static ProduceRequest produce_request(
      const std::string& topic, std::vector<std::pair<int32_t, std::vector<std::byte>*>> parts) {
    ProduceRequest req;
    req.acks = 1;
    req.timeout_ms = 5000;
    ProduceRequest::Topic t;
    t.name = topic;
    for (auto& [p, records] : parts) {
      t.partition_data.push_back({p, RecordsRef{std::span<const std::byte>(*records)}});
    }
    req.topic_data.push_back(t);
    return req;
  }

  ProduceResponse::Topic::Partition produce(const std::string& topic, int32_t partition,
                                            std::vector<std::byte> records) {
    auto resp =
        call<ProduceResponse>(ApiKey::produce, 8, produce_request(topic, {{partition, &records}}));
    if (resp.responses.empty() || resp.responses[0].partition_responses.empty()) return {};
    return resp.responses[0].partition_responses[0];
  }

  static ProduceResponse decode_produce(const std::vector<std::byte>& frame) {
    protocol::Reader r(frame);
    (void)r.i32();
    ProduceResponse resp;
    auto st = protocol::decode_message(std::span<const std::byte>(frame).subspan(r.position()), 8,
                                       false, resp);
    EXPECT_TRUE(st.ok());
    return resp;
  }

  // The partition's high watermark and the number of records a fetch from 0 returns.
  std::pair<int64_t, int> fetch_all(const std::string& topic, int32_t partition, int16_t& error) {
    auto resp =
        call<FetchResponse>(ApiKey::fetch, 11, fetch_request(topic, partition, 0, 0, 1, 64 << 20));
    const auto& rp = resp.responses.at(0).partitions.at(0);
    error = rp.error_code;
    int records = 0;
    if (rp.records.data) {
      auto data = *rp.records.data;
      size_t pos = 0;
      while (pos < data.size()) {
        auto size = declared_batch_size(data.subspan(pos));
        if (!size || *size > data.size() - pos) break;
        BatchView batch(data.subspan(pos, *size));
        std::vector<std::byte> scratch;
        auto recs = decode_records(batch, scratch);
        EXPECT_TRUE(recs.ok()) << "a consumer could not decode what the broker served";
        if (recs.ok()) records += static_cast<int>(recs->size());
        pos += *size;
      }
    }
    return {rp.high_watermark, records};
  }
};

// Regression: one record claiming lastOffsetDelta 2^31-1 moved the partition end by 2^31.
TEST_F(ProduceValidationTest, OneRecordWithAHugeLastOffsetDeltaIsRefusedAndTheEndStays) {
  ASSERT_EQ(create_topic("delta", 1).topics.at(0).error_code, 0);
  for (Compression c : {Compression::none, Compression::lz4}) {
    auto b = c == Compression::none ? ferry::test::make_batch(1, "x") : lz4_batch(1, 10, 1);
    store_i32(b.data() + bl::kLastOffsetDelta, INT32_MAX);
    refresh_crc(b);
    auto r = produce("delta", 0, b);
    EXPECT_EQ(r.error_code, 87) << compression_name(c);  // INVALID_RECORD
    EXPECT_EQ(r.base_offset, -1);
  }
  int16_t err = -1;
  EXPECT_EQ(fetch_all("delta", 0, err).first, 0);
  auto ok = produce("delta", 0, ferry::test::make_batch(2, "y"));
  EXPECT_EQ(ok.error_code, 0);
  EXPECT_EQ(ok.base_offset, 0);
  EXPECT_EQ(fetch_all("delta", 0, err), (std::pair<int64_t, int>{2, 2}));
}

// Regression: a "gzip" batch of garbage was acknowledged, then stopped every consumer.
TEST_F(ProduceValidationTest, GarbageInsideACodecIsRefusedAndConsumersStillRead) {
  ASSERT_EQ(create_topic("garbage", 1).topics.at(0).error_code, 0);
  EXPECT_EQ(produce("garbage", 0, ferry::test::make_batch(3, "ok")).error_code, 0);
  for (Compression c :
       {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    for (size_t n : {size_t{200}, size_t{200'000}}) {  // checked on the loop, and off it
      auto r = produce("garbage", 0, garbage_batch(c, n));
      EXPECT_EQ(r.error_code, 2) << compression_name(c) << " " << n;  // CORRUPT_MESSAGE
    }
  }
  EXPECT_EQ(produce("garbage", 0, ferry::test::make_batch(2, "later")).error_code, 0);
  int16_t err = -1;
  auto [hw, records] = fetch_all("garbage", 0, err);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(hw, 5);
  EXPECT_EQ(records, 5);
}

// A bad partition is answered with its error; the other partitions of the request are stored.
TEST_F(ProduceValidationTest, OnlyTheBadPartitionOfARequestIsRefused) {
  ASSERT_EQ(create_topic("mixed", 3).topics.at(0).error_code, 0);
  auto good = ferry::test::make_batch(2, "a");
  auto bad = ferry::test::make_batch(2, "b");
  store_i32(bad.data() + bl::kLastOffsetDelta, 5);
  refresh_crc(bad);
  auto big_good = lz4_batch(4, 40'000, 2);
  auto resp = call<ProduceResponse>(
      ApiKey::produce, 8, produce_request("mixed", {{0, &good}, {1, &bad}, {2, &big_good}}));
  const auto& parts = resp.responses.at(0).partition_responses;
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].error_code, 0);
  EXPECT_EQ(parts[1].error_code, 87);
  EXPECT_EQ(parts[2].error_code, 0);
  int16_t err = -1;
  EXPECT_EQ(fetch_all("mixed", 0, err).first, 2);
  EXPECT_EQ(fetch_all("mixed", 1, err).first, 0);
  EXPECT_EQ(fetch_all("mixed", 2, err).first, 4);
}

// A large compressed batch is checked on the thread pool; a small batch produced right after it
// to the same partition must still be stored after it.
TEST_F(ProduceValidationTest, AppendsKeepRequestOrderWhileLargeBatchesAreChecked) {
  ASSERT_EQ(create_topic("order", 1).topics.at(0).error_code, 0);
  TestConn& c = connect();
  std::vector<std::vector<std::byte>> batches;
  batches.push_back(lz4_batch(8, 60'000, 3));          // off the loop
  batches.push_back(ferry::test::make_batch(1, "s"));  // on the loop
  auto bad_big = lz4_batch(8, 60'000, 4);
  store_i32(bad_big.data() + bl::kRecordCount, 9);
  store_i32(bad_big.data() + bl::kLastOffsetDelta, 8);
  refresh_crc(bad_big);
  batches.push_back(std::move(bad_big));       // refused after its check
  batches.push_back(lz4_batch(3, 50'000, 5));  // off the loop
  batches.push_back(ferry::test::make_batch(2, "t"));
  for (auto& b : batches) c.send(ApiKey::produce, 8, produce_request("order", {{0, &b}}));
  ASSERT_TRUE(run_until([&] { return c.frames().size() >= batches.size(); }));
  auto frames = c.frames();
  std::vector<int64_t> offsets;
  std::vector<int16_t> errors;
  for (const auto& f : frames) {
    auto resp = decode_produce(f);
    const auto& p = resp.responses.at(0).partition_responses.at(0);
    offsets.push_back(p.base_offset);
    errors.push_back(p.error_code);
  }
  EXPECT_EQ(errors, (std::vector<int16_t>{0, 0, 87, 0, 0}));
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 8, -1, 9, 12}));
  int16_t err = -1;
  EXPECT_EQ(fetch_all("order", 0, err), (std::pair<int64_t, int>{14, 14}));
}

// Produce v0-2 may carry several batches per partition: one bad batch refuses them all, and
// none is stored (the append used to store the ones before it).
TEST_F(ProduceValidationTest, ABadBatchAmongSeveralStoresNone) {
  ASSERT_EQ(create_topic("several", 1).topics.at(0).error_code, 0);
  auto records = ferry::test::make_batch(2, "a");
  auto bad = ferry::test::make_batch(2, "b");
  bad.back() = std::byte{0x7F};  // the last record's header count no longer fits
  refresh_crc(bad);
  records.insert(records.end(), bad.begin(), bad.end());
  auto req = produce_request("several", {{0, &records}});
  auto resp = call<ProduceResponse>(ApiKey::produce, 2, req);
  EXPECT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 87);
  int16_t err = -1;
  EXPECT_EQ(fetch_all("several", 0, err).first, 0);
}

}  // namespace
}  // namespace ferry::broker::test

namespace ferry::broker::test {
namespace {

// The first batch stored in topic/0, read through its Partition.
std::vector<std::byte> first_stored_batch(Broker& b, const std::string& topic) {
  auto part = b.topics().partition(topic, 0);
  if (part == nullptr) return {};
  auto r = part->read(Offset(0), 1 << 20);
  if (!r || r->data.empty()) return {};
  auto n = protocol::declared_batch_size(r->data);
  if (!n || *n > r->data.size()) return {};
  return {r->data.begin(), r->data.begin() + static_cast<ptrdiff_t>(*n)};
}

// compression.type=lz4 is the leader's choice, made in the produce path: the batch stored (and
// later copied by replicas) is the LZ4 one, stamped with the leader epoch.
TEST_F(ProduceValidationTest, AnLz4TopicStoresTheLeadersLz4EncodingWithTheLeaderEpoch) {
  ASSERT_EQ(create_topic("packed", 1, {{"compression.type", "lz4"}}).topics.at(0).error_code, 0);
  auto b = ferry::test::make_batch(50, "compressible", 1, 300);
  protocol::set_leader_epoch(b, LeaderEpoch(-1));
  const size_t sent = b.size();
  ASSERT_EQ(produce("packed", 0, std::move(b)).error_code, 0);
  auto stored = first_stored_batch(*broker_, "packed");
  ASSERT_FALSE(stored.empty());
  const BatchView v(stored);
  EXPECT_EQ(v.compression(), Compression::lz4);
  EXPECT_LT(stored.size(), sent / 4);
  EXPECT_EQ(v.record_count(), 50);
  EXPECT_EQ(v.leader_epoch(), LeaderEpoch(0));
  EXPECT_TRUE(validate_batch(stored).ok());
}

// An uncompressed batch with a bad CRC must be refused on an lz4 topic too: re-encoding it would
// have given it a fresh, valid CRC.
TEST_F(ProduceValidationTest, AnLz4TopicRefusesACorruptBatchInsteadOfReencodingIt) {
  ASSERT_EQ(create_topic("packed", 1, {{"compression.type", "lz4"}}).topics.at(0).error_code, 0);
  auto b = ferry::test::make_batch(50, "compressible", 1, 300);
  b[b.size() - 3] ^= std::byte{0x5a};  // inside the last value, under the CRC
  EXPECT_EQ(produce("packed", 0, std::move(b)).error_code, 2);  // CORRUPT_MESSAGE
  EXPECT_TRUE(first_stored_batch(*broker_, "packed").empty());
}

}  // namespace
}  // namespace ferry::broker::test
