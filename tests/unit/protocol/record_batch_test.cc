// Unit tests of the record batch v2 codec: build/validate/decode round trips, a known-answer
// batch, framing, header rewrites and build errors.
#include "protocol/record_batch.h"

#include <gtest/gtest.h>

#include <climits>
#include <string>
#include <vector>

#include "batch_test_util.h"
#include "platform/crc32c.h"
#include "support/test_support.h"

namespace ferry::protocol {
namespace {

namespace bl = batch_layout;
using testing::code_of;
using testing::expect_records_equal;

std::vector<std::byte> build(const std::vector<RecordInput>& in, const BuildOptions& o = {}) {
  auto b = build_batch(in, o);
  EXPECT_TRUE(b.ok()) << b.error().to_string();
  return b.ok() ? std::move(b).value() : std::vector<std::byte>{};
}

std::vector<std::byte> hex_bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}

// Records exercising every field shape: null/empty/non-empty key and value, binary bytes,
// headers with null and empty parts, timestamps before and after the first.
std::vector<RecordInput> mixed_records() {
  static const std::string binary("\0\x01\xff\x80", 4);
  std::vector<RecordInput> in(6);
  in[0] = {"k0", "hello", 1000, {}};
  in[1] = {std::nullopt, "", 1005, {{"h1", "v1"}, {"h2", std::nullopt}, {"", ""}}};
  in[2] = {"k2", std::nullopt, 999, {}};
  in[3] = {"", binary, -5, {{"bin", binary}}};
  in[4] = {std::nullopt, std::nullopt, 1000, {}};
  in[5] = {std::string_view(binary), "last", 2000, {}};
  return in;
}

TEST(RecordBatch, RoundTripOfEveryFieldShape) {
  for (Compression c : {Compression::none, Compression::lz4}) {
    SCOPED_TRACE(std::string(compression_name(c)));
    const auto in = mixed_records();
    BuildOptions o;
    o.compression = c;
    o.base_offset = Offset(42);
    o.producer_id = ProducerId(7);
    o.producer_epoch = 3;
    o.base_sequence = 11;
    o.leader_epoch = LeaderEpoch(9);
    const auto b = build(in, o);
    ASSERT_TRUE(validate_batch(b).ok()) << validate_batch(b).error().to_string();
    BatchView v(b);
    EXPECT_EQ(v.size(), b.size());
    EXPECT_EQ(v.base_offset(), Offset(42));
    EXPECT_EQ(v.last_offset(), Offset(47));
    EXPECT_EQ(v.next_offset(), Offset(48));
    EXPECT_EQ(v.last_offset_delta(), 5);
    EXPECT_EQ(v.record_count(), 6);
    EXPECT_EQ(v.base_timestamp(), 1000);  // the first record's, not the minimum
    EXPECT_EQ(v.max_timestamp(), 2000);
    EXPECT_EQ(v.producer_id(), ProducerId(7));
    EXPECT_EQ(v.producer_epoch(), 3);
    EXPECT_EQ(v.base_sequence(), 11);
    EXPECT_EQ(v.leader_epoch(), LeaderEpoch(9));
    EXPECT_EQ(v.magic(), kMagicV2);
    EXPECT_EQ(v.compression(), c);
    EXPECT_FALSE(v.is_control());
    EXPECT_FALSE(v.is_transactional());
    EXPECT_EQ(v.attributes() & batch_attr::kTimestampTypeLogAppend, 0);
    expect_records_equal(b, in);
  }
}

TEST(RecordBatch, RoundTripOfOneRecord) {
  for (Compression c : {Compression::none, Compression::lz4}) {
    BuildOptions o;
    o.compression = c;
    std::vector<RecordInput> in = {{std::nullopt, "only", 77, {}}};
    const auto b = build(in, o);
    ASSERT_TRUE(validate_batch(b).ok());
    BatchView v(b);
    EXPECT_EQ(v.record_count(), 1);
    EXPECT_EQ(v.last_offset_delta(), 0);
    EXPECT_EQ(v.base_timestamp(), 77);
    EXPECT_EQ(v.max_timestamp(), 77);
    EXPECT_EQ(v.producer_id(), ProducerId(-1));
    EXPECT_EQ(v.producer_epoch(), -1);
    EXPECT_EQ(v.base_sequence(), -1);
    EXPECT_EQ(v.leader_epoch(), LeaderEpoch(-1));
    expect_records_equal(b, in);
  }
}

TEST(RecordBatch, RoundTripOfAThousandRecords) {
  std::vector<std::string> keys, values;
  for (int i = 0; i < 1000; ++i) {
    keys.push_back("key-" + std::to_string(i));
    values.push_back(std::string(static_cast<size_t>(i % 300), static_cast<char>('a' + i % 26)));
  }
  std::vector<RecordInput> in;
  for (int i = 0; i < 1000; ++i) {
    RecordInput r;
    if (i % 7 != 0) r.key = keys[static_cast<size_t>(i)];  // every 7th key is null
    r.value = values[static_cast<size_t>(i)];              // value sizes 0..299
    r.timestamp_ms = 1'700'000'000'000 + (i % 13) * 1000 - 6000;
    if (i % 5 == 0) r.headers = {{"trace", "abc"}, {"n", std::nullopt}};
    in.push_back(r);
  }
  for (Compression c : {Compression::none, Compression::lz4}) {
    BuildOptions o;
    o.compression = c;
    const auto b = build(in, o);
    ASSERT_TRUE(validate_batch(b).ok());
    BatchView v(b);
    EXPECT_EQ(v.record_count(), 1000);
    EXPECT_EQ(v.last_offset_delta(), 999);
    EXPECT_EQ(v.base_timestamp(), 1'700'000'000'000 - 6000);
    EXPECT_EQ(v.max_timestamp(), 1'700'000'000'000 + 6000);
    expect_records_equal(b, in);
  }
}

TEST(RecordBatch, LogAppendTimeSetsOnlyItsAttributeBit) {
  BuildOptions o;
  o.log_append_time = true;
  auto b = build({{"k", "v", 5, {}}}, o);
  ASSERT_TRUE(validate_batch(b).ok());
  EXPECT_EQ(BatchView(b).attributes(), batch_attr::kTimestampTypeLogAppend);
  o.compression = Compression::lz4;
  b = build({{"k", "v", 5, {}}}, o);
  ASSERT_TRUE(validate_batch(b).ok());
  EXPECT_EQ(BatchView(b).attributes(), batch_attr::kTimestampTypeLogAppend | 3);
}

// A one-record batch written out by hand from the layout in record_batch.h; the CRC is the
// CRC32C of bytes 21..69, computed separately and also recomputed with the portable CRC.
TEST(RecordBatch, KnownAnswerBytes) {
  BuildOptions o;
  o.base_offset = Offset(5);
  o.leader_epoch = LeaderEpoch(3);
  o.producer_id = ProducerId(7);
  o.producer_epoch = 1;
  o.base_sequence = 2;
  const auto b = build({{"k", "v", 1000, {}}}, o);
  const auto expected = hex_bytes({
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // baseOffset 5
      0x00, 0x00, 0x00, 0x3A,                          // batchLength 58 (70 - 12)
      0x00, 0x00, 0x00, 0x03,                          // partitionLeaderEpoch 3
      0x02,                                            // magic
      0x8B, 0xC6, 0x44, 0xF1,                          // crc
      0x00, 0x00,                                      // attributes
      0x00, 0x00, 0x00, 0x00,                          // lastOffsetDelta 0
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8,  // baseTimestamp 1000
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8,  // maxTimestamp 1000
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // producerId 7
      0x00, 0x01,                                      // producerEpoch 1
      0x00, 0x00, 0x00, 0x02,                          // baseSequence 2
      0x00, 0x00, 0x00, 0x01,                          // recordCount 1
      0x10,                                            // record length 8 (zig-zag 16)
      0x00,                                            // record attributes
      0x00,                                            // timestampDelta 0
      0x00,                                            // offsetDelta 0
      0x02, 0x6B,                                      // key length 1, "k"
      0x02, 0x76,                                      // value length 1, "v"
      0x00,                                            // header count 0
  });
  ASSERT_EQ(b.size(), 70u);
  EXPECT_EQ(b, expected);
  EXPECT_EQ(platform::crc32c_software(0, b.data() + 21, b.size() - 21), 0x8BC644F1u);
  EXPECT_EQ(compute_batch_crc(b), 0x8BC644F1u);
  BatchView v(b);
  EXPECT_EQ(v.crc(), 0x8BC644F1u);
  EXPECT_EQ(v.batch_length(), 58);
  EXPECT_EQ(v.records_bytes().size(), 9u);
  EXPECT_TRUE(validate_batch(b).ok());
}

TEST(RecordBatch, HeaderFieldsSitAtTheDocumentedOffsets) {
  BuildOptions o;
  o.base_offset = Offset(0x0102030405060708);
  o.leader_epoch = LeaderEpoch(0x11121314);
  o.producer_id = ProducerId(0x2122232425262728);
  o.producer_epoch = 0x3132;
  o.base_sequence = 0x41424344;
  const auto b = build({{"a", "b", 0x5152535455565758, {}}, {"c", "d", 0x5152535455565759, {}}}, o);
  EXPECT_EQ(load_be64(b.data() + 0), 0x0102030405060708u);
  EXPECT_EQ(load_be32(b.data() + 8), b.size() - 12);
  EXPECT_EQ(load_be32(b.data() + 12), 0x11121314u);
  EXPECT_EQ(b[16], std::byte{2});
  EXPECT_EQ(load_be32(b.data() + 17), platform::crc32c_software(0, b.data() + 21, b.size() - 21));
  EXPECT_EQ(load_be16(b.data() + 21), 0u);
  EXPECT_EQ(load_be32(b.data() + 23), 1u);
  EXPECT_EQ(load_be64(b.data() + 27), 0x5152535455565758u);
  EXPECT_EQ(load_be64(b.data() + 35), 0x5152535455565759u);
  EXPECT_EQ(load_be64(b.data() + 43), 0x2122232425262728u);
  EXPECT_EQ(load_be16(b.data() + 51), 0x3132u);
  EXPECT_EQ(load_be32(b.data() + 53), 0x41424344u);
  EXPECT_EQ(load_be32(b.data() + 57), 2u);
}

TEST(RecordBatch, BuildRejectsBadInput) {
  std::vector<RecordInput> none;
  EXPECT_EQ(code_of(build_batch(none, {})), Errc::invalid_argument);
  std::vector<RecordInput> one = {{"k", "v", 0, {}}};
  for (Compression c : {Compression::gzip, Compression::snappy, Compression::zstd}) {
    BuildOptions o;
    o.compression = c;
    EXPECT_EQ(code_of(build_batch(one, o)), Errc::unsupported);
  }
  // A timestamp delta that does not fit an int64.
  std::vector<RecordInput> far = {{"k", "v", INT64_MIN, {}}, {"k", "v", INT64_MAX, {}}};
  EXPECT_EQ(code_of(build_batch(far, {})), Errc::invalid_argument);
  std::vector<RecordInput> far_back = {{"k", "v", INT64_MAX, {}}, {"k", "v", -2, {}}};
  EXPECT_EQ(code_of(build_batch(far_back, {})), Errc::invalid_argument);
  // Extreme but representable deltas are fine.
  std::vector<RecordInput> wide = {
      {"k", "v", 0, {}}, {"k", "v", INT64_MAX, {}}, {"k", "v", INT64_MIN + 1, {}}};
  auto b = build_batch(wide, {});
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(validate_batch(*b).ok());
  EXPECT_EQ(BatchView(*b).max_timestamp(), INT64_MAX);
  expect_records_equal(*b, wide);
}

TEST(RecordBatch, DeclaredBatchSize) {
  auto b = test::make_batch(2);
  EXPECT_EQ(declared_batch_size(b), b.size());
  // Only the first 12 bytes are needed.
  EXPECT_EQ(declared_batch_size(std::span(b).first(12)), b.size());
  for (size_t n = 0; n < 12; ++n) {
    EXPECT_FALSE(declared_batch_size(std::span(b).first(n)).has_value()) << n;
  }
  store_i32(b.data() + bl::kBatchLength, 49);  // the smallest possible: an empty records section
  EXPECT_EQ(declared_batch_size(b), 61u);
  store_i32(b.data() + bl::kBatchLength, 48);
  EXPECT_FALSE(declared_batch_size(b).has_value());
  store_i32(b.data() + bl::kBatchLength, 0);
  EXPECT_FALSE(declared_batch_size(b).has_value());
  store_i32(b.data() + bl::kBatchLength, -1);
  EXPECT_FALSE(declared_batch_size(b).has_value());
  store_i32(b.data() + bl::kBatchLength, INT32_MIN);
  EXPECT_FALSE(declared_batch_size(b).has_value());
  store_i32(b.data() + bl::kBatchLength, INT32_MAX);
  EXPECT_EQ(declared_batch_size(b), size_t{12} + static_cast<size_t>(INT32_MAX));
}

TEST(RecordBatch, SetProducerFieldsKeepsTheBatchValid) {
  for (Compression c : {Compression::none, Compression::lz4}) {
    BuildOptions o;
    o.compression = c;
    auto b = build(mixed_records(), o);
    const auto before = b;
    set_producer_fields(b, ProducerId(INT64_MAX), INT16_MIN, INT32_MAX);
    ASSERT_TRUE(validate_batch(b).ok());
    BatchView v(b);
    EXPECT_EQ(v.producer_id(), ProducerId(INT64_MAX));
    EXPECT_EQ(v.producer_epoch(), INT16_MIN);
    EXPECT_EQ(v.base_sequence(), INT32_MAX);
    EXPECT_NE(v.crc(), BatchView(before).crc());
    // Nothing else moved.
    for (size_t i = 0; i < b.size(); ++i) {
      const bool rewritten =
          (i >= bl::kCrc && i < bl::kAttributes) || (i >= bl::kProducerId && i < bl::kRecordCount);
      if (!rewritten) {
        EXPECT_EQ(b[i], before[i]) << "byte " << i;
      }
    }
    set_producer_fields(b, ProducerId(-1), -1, -1);
    EXPECT_EQ(b, before);  // back to the builder's defaults, CRC included
  }
}

TEST(RecordBatch, BaseOffsetAndLeaderEpochAreOutsideTheCrc) {
  auto b = test::make_batch(3);
  set_base_offset(b, Offset(123456789));
  set_leader_epoch(b, LeaderEpoch(77));
  ASSERT_TRUE(validate_batch(b).ok());
  EXPECT_EQ(BatchView(b).base_offset(), Offset(123456789));
  EXPECT_EQ(BatchView(b).last_offset(), Offset(123456791));
  EXPECT_EQ(BatchView(b).leader_epoch(), LeaderEpoch(77));
}

TEST(RecordBatch, CompressionNames) {
  EXPECT_EQ(compression_name(Compression::none), "none");
  EXPECT_EQ(compression_name(Compression::gzip), "gzip");
  EXPECT_EQ(compression_name(Compression::snappy), "snappy");
  EXPECT_EQ(compression_name(Compression::lz4), "lz4");
  EXPECT_EQ(compression_name(Compression::zstd), "zstd");
  EXPECT_EQ(compression_name(static_cast<Compression>(7)), "unknown");
}

}  // namespace
}  // namespace ferry::protocol
