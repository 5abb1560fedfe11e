// Record batch v2 validation against damaged input: truncation, flipped bits, bad header fields
// and malformed records behind a correct CRC. Nothing here may crash or be accepted.
#include <gtest/gtest.h>

#include <climits>
#include <random>
#include <string>
#include <vector>

#include "batch_test_util.h"
#include "protocol/record_batch.h"
#include "protocol/varint.h"
#include "support/test_support.h"

namespace ferry::protocol {
namespace {

namespace bl = batch_layout;
using testing::code_of;
using testing::refresh_crc;
using testing::refresh_length_and_crc;

std::vector<std::byte> build(const std::vector<RecordInput>& in, Compression c) {
  BuildOptions o;
  o.compression = c;
  auto b = build_batch(in, o);
  EXPECT_TRUE(b.ok());
  return b.ok() ? std::move(b).value() : std::vector<std::byte>{};
}

Errc decode_code(std::span<const std::byte> bytes) {
  std::vector<std::byte> scratch;
  auto r = decode_records(BatchView(bytes), scratch);
  return r.ok() ? Errc::ok : r.error().code();
}

// One record with key "k0", value "v-0" and header {"h": "x"}. Its bytes from offset 61:
//   61 length(15)  62 attributes  63 timestampDelta  64 offsetDelta  65 keyLength(2)  66-67 key
//   68 valueLength(3)  69-71 value  72 headerCount(1)  73 headerKeyLength(1)  74 headerKey
//   75 headerValueLength(1)  76 headerValue
std::vector<std::byte> one_record_batch() {
  auto b = build({{"k0", "v-0", 10, {{"h", "x"}}}}, Compression::none);
  EXPECT_EQ(b.size(), 77u);
  EXPECT_EQ(b[61], std::byte{0x1E});  // zig-zag 15
  return b;
}

// Replaces `n` bytes at `pos` with `with`, then makes batchLength and CRC consistent again.
std::vector<std::byte> splice(std::vector<std::byte> b, size_t pos, size_t n,
                              const std::vector<std::byte>& with) {
  b.erase(b.begin() + static_cast<long>(pos), b.begin() + static_cast<long>(pos + n));
  b.insert(b.begin() + static_cast<long>(pos), with.begin(), with.end());
  refresh_length_and_crc(b);
  return b;
}

std::vector<std::byte> varint(int32_t v) {
  std::vector<std::byte> out;
  write_varint(out, v);
  return out;
}

TEST(BatchCorruption, EveryTruncationIsRejectedWithoutCrashing) {
  for (Compression c : {Compression::none, Compression::lz4}) {
    const auto b = build({{"k", "value", 1, {{"h", "v"}}}, {std::nullopt, "", 2, {}}}, c);
    ASSERT_TRUE(validate_batch(b).ok());
    for (size_t n = 0; n < b.size(); ++n) {
      const auto cut = std::span(b).first(n);
      EXPECT_EQ(code_of(validate_batch(cut)), Errc::corrupt) << n;
      if (n >= bl::kHeaderSize) (void)decode_code(cut);  // must not crash
    }
  }
}

// Truncated records with batchLength and CRC made to match: the record parser must notice.
TEST(BatchCorruption, ShortRecordsSectionBehindAGoodCrcIsCorrupt) {
  const auto b = test::make_batch(4, "t", 1, 30);
  for (size_t n = bl::kHeaderSize; n < b.size(); ++n) {
    std::vector<std::byte> cut(b.begin(), b.begin() + static_cast<long>(n));
    refresh_length_and_crc(cut);
    EXPECT_EQ(code_of(validate_batch(cut)), Errc::corrupt) << n;
    EXPECT_EQ(decode_code(cut), Errc::corrupt) << n;
  }
}

TEST(BatchCorruption, ShortLz4FrameBehindAGoodCrcFailsToDecode) {
  std::vector<RecordInput> in(20, RecordInput{"key", "some value", 5, {}});
  const auto b = build(in, Compression::lz4);
  for (size_t n = bl::kHeaderSize; n < b.size(); ++n) {
    std::vector<std::byte> cut(b.begin(), b.begin() + static_cast<long>(n));
    refresh_length_and_crc(cut);
    // Validation does not decompress; an empty section with records declared is still caught.
    EXPECT_EQ(validate_batch(cut).ok(), n > bl::kHeaderSize) << n;
    EXPECT_EQ(decode_code(cut), Errc::corrupt) << n;
  }
}

TEST(BatchCorruption, EveryFlippedBitInTheCheckedRangeIsRejected) {
  for (Compression c : {Compression::none, Compression::lz4}) {
    const auto b = build({{"k", "v", 1, {}}, {"k2", "v2", 3, {{"a", "b"}}}}, c);
    for (size_t i = bl::kBatchLength; i < b.size(); ++i) {
      if (i >= bl::kPartitionLeaderEpoch && i < bl::kMagic) continue;  // not covered
      for (int bit = 0; bit < 8; ++bit) {
        auto copy = b;
        copy[i] ^= static_cast<std::byte>(1 << bit);
        const Errc expected = i == bl::kMagic ? Errc::unsupported : Errc::corrupt;
        EXPECT_EQ(code_of(validate_batch(copy)), expected) << "byte " << i << " bit " << bit;
      }
    }
  }
}

TEST(BatchCorruption, BaseOffsetAndLeaderEpochFlipsKeepTheBatchValid) {
  const auto b = test::make_batch(2);
  for (size_t i : {size_t{0}, size_t{7}, size_t{12}, size_t{15}}) {
    auto copy = b;
    copy[i] ^= std::byte{0xFF};
    EXPECT_TRUE(validate_batch(copy).ok()) << i;
  }
}

TEST(BatchCorruption, CrcMismatchIsCorrupt) {
  auto b = test::make_batch(3);
  store_be32(b.data() + bl::kCrc, BatchView(b).crc() + 1);
  auto st = validate_batch(b);
  ASSERT_EQ(code_of(st), Errc::corrupt);
  EXPECT_NE(st.error().message().find("CRC"), std::string::npos) << st.error().message();
  store_be32(b.data() + bl::kCrc, 0);
  EXPECT_EQ(code_of(validate_batch(b)), Errc::corrupt);
}

TEST(BatchCorruption, BatchLengthDisagreeingWithTheSizeIsCorrupt) {
  const auto b = test::make_batch(3);
  const int32_t good = BatchView(b).batch_length();
  for (int32_t len : {good + 1, good - 1, good + 1000, 49, 48, 0, -1, INT32_MAX, INT32_MIN}) {
    auto copy = b;
    store_i32(copy.data() + bl::kBatchLength, len);
    EXPECT_EQ(code_of(validate_batch(copy)), Errc::corrupt) << len;
  }
  // Extra bytes after the batch, and two batches passed as one.
  auto longer = b;
  longer.push_back(std::byte{0});
  EXPECT_EQ(code_of(validate_batch(longer)), Errc::corrupt);
  auto two = b;
  two.insert(two.end(), b.begin(), b.end());
  EXPECT_EQ(code_of(validate_batch(two)), Errc::corrupt);
}

TEST(BatchCorruption, WrongMagicIsUnsupported) {
  for (int magic : {0, 1, 3, 0x7F, 0xFF}) {
    auto b = test::make_batch(1);
    b[bl::kMagic] = static_cast<std::byte>(magic);
    refresh_crc(b);
    EXPECT_EQ(code_of(validate_batch(b)), Errc::unsupported) << magic;
  }
}

TEST(BatchCorruption, UnknownCodecIsUnsupported) {
  for (uint16_t codec : {uint16_t{5}, uint16_t{6}, uint16_t{7}}) {
    auto b = test::make_batch(1);
    store_be16(b.data() + bl::kAttributes, codec);
    refresh_crc(b);
    EXPECT_EQ(code_of(validate_batch(b)), Errc::unsupported) << codec;
    EXPECT_EQ(decode_code(b), Errc::unsupported) << codec;
  }
}

// Compressed batches are stored as they come: validation does not open them. Decoding plain
// records labelled with a codec fails as corrupt.
TEST(BatchCorruption, OtherCodecsValidateButDoNotDecode) {
  for (Compression c : {Compression::gzip, Compression::snappy, Compression::zstd}) {
    auto b = test::make_batch(2);
    store_be16(b.data() + bl::kAttributes, static_cast<uint16_t>(c));
    refresh_crc(b);
    EXPECT_TRUE(validate_batch(b).ok()) << compression_name(c);
    EXPECT_EQ(decode_code(b), Errc::corrupt) << compression_name(c);
  }
}

TEST(BatchCorruption, RecordCountAndLastOffsetDeltaMustAgree) {
  const auto b = test::make_batch(3);  // recordCount 3, lastOffsetDelta 2
  auto with = [&](int32_t count, int32_t last_delta) {
    auto copy = b;
    store_i32(copy.data() + bl::kRecordCount, count);
    store_i32(copy.data() + bl::kLastOffsetDelta, last_delta);
    refresh_crc(copy);
    return code_of(validate_batch(copy));
  };
  EXPECT_EQ(with(3, 2), Errc::ok);
  // A larger lastOffsetDelta is what compaction leaves behind.
  EXPECT_EQ(with(3, 3), Errc::ok);
  EXPECT_EQ(with(3, INT32_MAX), Errc::ok);
  EXPECT_EQ(with(3, 1), Errc::corrupt);
  EXPECT_EQ(with(3, 0), Errc::corrupt);
  EXPECT_EQ(with(3, -1), Errc::corrupt);
  EXPECT_EQ(with(3, INT32_MIN), Errc::corrupt);
  // The count must match the records actually present.
  EXPECT_EQ(with(4, 3), Errc::corrupt);
  EXPECT_EQ(with(2, 2), Errc::corrupt);
  EXPECT_EQ(with(0, 2), Errc::corrupt);
  EXPECT_EQ(with(INT32_MAX, INT32_MAX), Errc::corrupt);
  EXPECT_EQ(with(-1, 2), Errc::corrupt);
  EXPECT_EQ(with(INT32_MIN, 2), Errc::corrupt);
}

TEST(BatchCorruption, RecordCountMismatchFailsDecodeToo) {
  auto b = test::make_batch(3);
  store_i32(b.data() + bl::kRecordCount, 4);
  store_i32(b.data() + bl::kLastOffsetDelta, 3);
  refresh_crc(b);
  EXPECT_EQ(decode_code(b), Errc::corrupt);
  store_i32(b.data() + bl::kRecordCount, 2);
  refresh_crc(b);
  EXPECT_EQ(decode_code(b), Errc::corrupt);
}

TEST(BatchCorruption, EmptyBatchWithNoRecordsIsValid) {
  auto b = test::make_batch(1);
  b.resize(bl::kHeaderSize);
  store_i32(b.data() + bl::kRecordCount, 0);
  refresh_length_and_crc(b);
  EXPECT_TRUE(validate_batch(b).ok());
  std::vector<std::byte> scratch;
  auto recs = decode_records(BatchView(b), scratch);
  ASSERT_TRUE(recs.ok());
  EXPECT_TRUE(recs->empty());
}

TEST(BatchCorruption, TheOneRecordFixtureIsValid) {
  const auto b = one_record_batch();
  ASSERT_TRUE(validate_batch(b).ok());
  // Sanity of the fixture's layout: splicing in the same bytes changes nothing.
  EXPECT_EQ(splice(b, 65, 1, varint(2)), b);
  EXPECT_EQ(splice(b, 61, 1, varint(15)), b);
}

TEST(BatchCorruption, RecordLengthOverrunningOrShortIsCorrupt) {
  const auto b = one_record_batch();
  for (int32_t len : {16, 17, 1000, INT32_MAX, 14, 1, 0, -1, INT32_MIN}) {
    const auto bad = splice(b, 61, 1, varint(len));
    EXPECT_EQ(code_of(validate_batch(bad)), Errc::corrupt) << len;
    EXPECT_EQ(decode_code(bad), Errc::corrupt) << len;
  }
  // A record longer than its fields (one spare byte inside it).
  auto slack = splice(b, 77, 0, {std::byte{0}});
  slack = splice(slack, 61, 1, varint(16));
  EXPECT_EQ(code_of(validate_batch(slack)), Errc::corrupt);
  // A byte after the last record.
  EXPECT_EQ(code_of(validate_batch(splice(b, 77, 0, {std::byte{0}}))), Errc::corrupt);
}

TEST(BatchCorruption, FieldLengthsInsideARecordAreBoundsChecked) {
  const auto b = one_record_batch();
  struct Case {
    const char* what;
    size_t pos;
    int32_t value;
  };
  const Case cases[] = {
      {"key length over the record", 65, 14},
      {"key length far over", 65, INT32_MAX},
      {"key length -2", 65, -2},
      {"key length minimum", 65, INT32_MIN},
      {"value length over", 68, 9},
      {"value length -2", 68, -2},
      {"header count over", 72, 2},
      {"header count -1", 72, -1},
      {"header count huge", 72, INT32_MAX},
      {"null header key", 73, -1},
      {"header key over", 73, 4},
      {"header value over", 75, 2},
      {"header value -5", 75, -5},
  };
  for (const Case& c : cases) {
    // The record's own length is fixed up so that only the field under test is wrong.
    auto bad = splice(b, c.pos, 1, varint(c.value));
    bad = splice(bad, 61, 1, varint(static_cast<int32_t>(bad.size() - 62)));
    EXPECT_EQ(code_of(validate_batch(bad)), Errc::corrupt) << c.what;
    EXPECT_EQ(decode_code(bad), Errc::corrupt) << c.what;
  }
}

TEST(BatchCorruption, NullHeaderKeyIsCorrupt) {
  const auto b = one_record_batch();
  // Header key length -1 and no key bytes; everything else in the record is well-formed.
  auto bad = splice(b, 73, 2, varint(-1));
  bad = splice(bad, 61, 1, varint(static_cast<int32_t>(bad.size() - 62)));
  EXPECT_EQ(code_of(validate_batch(bad)), Errc::corrupt);
  EXPECT_EQ(decode_code(bad), Errc::corrupt);
  // An empty header key is allowed.
  auto empty_key = splice(b, 73, 2, varint(0));
  empty_key = splice(empty_key, 61, 1, varint(static_cast<int32_t>(empty_key.size() - 62)));
  EXPECT_TRUE(validate_batch(empty_key).ok());
  EXPECT_EQ(decode_code(empty_key), Errc::ok);
}

TEST(BatchCorruption, MalformedVarintsInsideARecordAreCorrupt) {
  const auto b = one_record_batch();
  const std::vector<std::byte> overlong(11, std::byte{0xFF});  // too long for varint and varlong
  for (size_t pos : {size_t{63}, size_t{64}, size_t{65}, size_t{72}}) {
    auto bad = splice(b, pos, 1, overlong);
    bad = splice(bad, 61, 1, varint(static_cast<int32_t>(bad.size() - 62)));
    EXPECT_EQ(code_of(validate_batch(bad)), Errc::corrupt) << pos;
  }
  // The record length itself cut short at the end of the batch.
  auto cut = splice(b, 61, 16, {std::byte{0x80}});
  EXPECT_EQ(code_of(validate_batch(cut)), Errc::corrupt);
}

// Random damage behind a refreshed CRC: nothing crashes, and whatever validates also decodes
// into exactly recordCount records.
TEST(BatchCorruption, RandomRecordDamageIsEitherRejectedOrDecodable) {
  std::mt19937 rng(99);
  const auto b = build({{"key", "value", 1, {{"h", "v"}}},
                        {std::nullopt, "x", 2, {}},
                        {"k", std::nullopt, 3, {{"a", std::nullopt}}}},
                       Compression::none);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    auto copy = b;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) {
      const size_t at = bl::kHeaderSize + rng() % (copy.size() - bl::kHeaderSize);
      copy[at] = static_cast<std::byte>(rng());
    }
    if (rng() % 4 == 0) copy.resize(copy.size() - rng() % 8);
    refresh_length_and_crc(copy);
    if (!validate_batch(copy).ok()) continue;
    ++accepted;
    std::vector<std::byte> scratch;
    auto recs = decode_records(BatchView(copy), scratch);
    ASSERT_TRUE(recs.ok()) << recs.error().to_string();
    EXPECT_EQ(recs->size(), 3u);
  }
  EXPECT_GT(accepted, 0);  // e.g. changed key or value bytes
}

TEST(BatchCorruption, RandomGarbageNeverValidates) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 5000; ++i) {
    std::vector<std::byte> junk(static_cast<size_t>(rng() % 300));
    for (auto& x : junk) x = static_cast<std::byte>(rng());
    if (junk.size() >= bl::kLogOverhead) {
      store_i32(junk.data() + bl::kBatchLength, static_cast<int32_t>(junk.size() - 12));
    }
    EXPECT_FALSE(validate_batch(junk).ok());
    if (junk.size() >= bl::kHeaderSize) (void)decode_code(junk);
  }
}

TEST(BatchCorruption, DecodeRefusesAViewShorterThanTheHeader) {
  const auto b = test::make_batch(1);
  for (size_t n : {size_t{0}, size_t{12}, size_t{60}}) {
    EXPECT_EQ(decode_code(std::span(b).first(n)), Errc::corrupt) << n;
  }
}

}  // namespace
}  // namespace ferry::protocol
