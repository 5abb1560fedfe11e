// Unit tests of legacy message sets (legacy_message_set.h): known-answer messages, up-conversion
// of magic 0 and 1 sets (plain and gzip/snappy/lz4 wrappers) checked record by record, the
// errors of produced sets, down-conversion of built batches checked byte by byte, and the round
// trip up then down.
#include "protocol/legacy_message_set.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "batch_test_util.h"
#include "protocol/compression.h"
#include "protocol/record_batch.h"
#include "support/test_support.h"

namespace ferry::protocol {
namespace {

namespace bl = batch_layout;
using testing::code_of;
using testing::refresh_crc;

constexpr int64_t kNow = 1'700'000'123'456;

std::vector<std::byte> hex_bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}
std::span<const std::byte> sp(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
std::optional<std::span<const std::byte>> opt(const std::optional<std::string_view>& s) {
  if (!s) return std::nullopt;
  return sp(*s);
}

// A message to put in a set: attributes hold the codec (wrappers) and timestamp type.
struct Msg {
  int64_t offset = 0;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  int64_t timestamp = -1;
  uint8_t attributes = 0;
};

std::vector<std::byte> message_set(int8_t magic, const std::vector<Msg>& msgs) {
  std::vector<std::byte> out;
  for (const auto& m : msgs) {
    EXPECT_TRUE(append_legacy_message(out, magic, m.offset, m.attributes, m.timestamp, opt(m.key),
                                      opt(m.value))
                    .ok());
  }
  return out;
}

// Breaks an LZ4 frame's header checksum the way magic-0 writers did (any wrong value will do).
void break_lz4_header_checksum(std::vector<std::byte>& frame) { frame[6] ^= std::byte{0x5A}; }

// A wrapper message (null key, codec in the attributes) around `inner`, compressed by `codec`
// (snappy_xerial selects the xerial framing of snappy).
std::vector<std::byte> wrapper(int8_t magic, Compression codec, std::span<const std::byte> inner,
                               int64_t offset, int64_t timestamp, bool log_append = false,
                               bool snappy_xerial = false) {
  auto packed = compress(codec, inner);
  EXPECT_TRUE(packed.ok());
  std::vector<std::byte> value = std::move(packed).value();
  if (codec == Compression::lz4 && magic == 0) break_lz4_header_checksum(value);
  if (snappy_xerial) {
    std::vector<std::byte> framed(std::begin(kXerialMagic), std::end(kXerialMagic));
    framed.resize(kXerialHeaderSize + 4);
    store_be32(framed.data() + 8, 1);
    store_be32(framed.data() + 12, 1);
    store_be32(framed.data() + 16, static_cast<uint32_t>(value.size()));
    framed.insert(framed.end(), value.begin(), value.end());
    value = std::move(framed);
  }
  auto attributes = static_cast<uint8_t>(codec);
  if (log_append) attributes |= legacy_attr::kTimestampTypeLogAppend;
  std::vector<std::byte> out;
  EXPECT_TRUE(
      append_legacy_message(out, magic, offset, attributes, timestamp, std::nullopt, value).ok());
  return out;
}

struct Expected {
  std::optional<std::string> key;
  std::optional<std::string> value;
  int64_t timestamp;
};

// Decodes an up-converted batch and compares it with `want`, checking the batch header too.
void expect_batch(const UpconvertedBatch& up, const std::vector<Expected>& want, bool compressed) {
  ASSERT_TRUE(validate_batch(up.batch).ok()) << validate_batch(up.batch).error().to_string();
  const BatchView v(up.batch);
  EXPECT_EQ(up.record_count, static_cast<int32_t>(want.size()));
  EXPECT_EQ(up.compressed, compressed);
  EXPECT_EQ(v.compression(), compressed ? Compression::lz4 : Compression::none);
  EXPECT_EQ(v.base_offset(), Offset(0));
  EXPECT_EQ(v.producer_id(), ProducerId(-1));
  EXPECT_EQ(v.producer_epoch(), -1);
  EXPECT_EQ(v.base_sequence(), -1);
  EXPECT_EQ(v.record_count(), static_cast<int32_t>(want.size()));
  EXPECT_EQ(v.last_offset_delta(), static_cast<int32_t>(want.size()) - 1);
  EXPECT_EQ(v.attributes() & batch_attr::kTimestampTypeLogAppend, 0);
  std::vector<std::byte> scratch;
  auto recs = decode_records(v, scratch);
  ASSERT_TRUE(recs.ok()) << recs.error().to_string();
  ASSERT_EQ(recs->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("record " + std::to_string(i));
    const Record& r = (*recs)[i];
    EXPECT_EQ(r.offset_delta, static_cast<int32_t>(i));
    EXPECT_EQ(v.base_timestamp() + r.timestamp_delta, want[i].timestamp);
    EXPECT_EQ(testing::str(r.key), want[i].key);
    EXPECT_EQ(testing::str(r.value), want[i].value);
    EXPECT_TRUE(r.headers.empty());
  }
}

UpconvertedBatch up(std::span<const std::byte> set) {
  auto r = upconvert_message_set(set, kNow);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? std::move(r).value() : UpconvertedBatch{};
}

// --- the format -----------------------------------------------------------------------------

TEST(LegacyMessage, KnownBytesOfBothMagics) {
  std::vector<std::byte> out;
  ASSERT_TRUE(append_legacy_message(out, 0, 5, 0, 999, sp("k"), sp("v")).ok());
  // CRCs from Python's zlib.crc32 over magic..value.
  EXPECT_EQ(out, hex_bytes({0,    0,    0, 0, 0, 0, 0, 5, 0,   0, 0, 16, 0x1f, 0xec,
                            0xd7, 0x0a, 0, 0, 0, 0, 0, 1, 'k', 0, 0, 0,  1,    'v'}));
  out.clear();
  ASSERT_TRUE(append_legacy_message(out, 1, 7, 0, 1000, std::nullopt, sp("hi")).ok());
  EXPECT_EQ(out, hex_bytes({0,    0,    0,    0,    0,    0,    0, 7, 0, 0, 0,   24,
                            0x06, 0x61, 0x4b, 0x6d, 1,    0,    0, 0, 0, 0, 0,   0,
                            0x03, 0xe8, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 'h', 'i'}));
  EXPECT_EQ(code_of(append_legacy_message(out, 2, 0, 0, 0, std::nullopt, std::nullopt)),
            Errc::invalid_argument);
}

TEST(LegacyMessage, PeekMagicReadsByte16OfBothFormats) {
  EXPECT_EQ(peek_magic(message_set(0, {{0, "k", "v"}})), std::optional<int8_t>(0));
  EXPECT_EQ(peek_magic(message_set(1, {{0, "k", "v", 5}})), std::optional<int8_t>(1));
  EXPECT_EQ(peek_magic(test::make_batch(1)), std::optional<int8_t>(2));
  EXPECT_EQ(peek_magic(std::vector<std::byte>(16)), std::nullopt);
}

// --- up-conversion --------------------------------------------------------------------------

TEST(Upconvert, PlainMagic0GetsTheCurrentTime) {
  const auto set = message_set(
      0, {{0, "k0", "v0"}, {0, std::nullopt, ""}, {0, "", std::nullopt}, {0, "k3", "v3"}});
  expect_batch(
      up(set),
      {{"k0", "v0", kNow}, {std::nullopt, "", kNow}, {"", std::nullopt, kNow}, {"k3", "v3", kNow}},
      false);
}

TEST(Upconvert, PlainMagic1KeepsTimestamps) {
  const auto set = message_set(1, {{0, "a", "1", 1000},
                                   {1, std::nullopt, "2", 900},
                                   {2, "c", std::nullopt, 1500},
                                   {3, "d", "4", -1}});
  expect_batch(
      up(set),
      {{"a", "1", 1000}, {std::nullopt, "2", 900}, {"c", std::nullopt, 1500}, {"d", "4", -1}},
      false);
}

struct WrapperCase {
  Compression codec;
  bool xerial;
};
const WrapperCase kWrapperCases[] = {{Compression::gzip, false},
                                     {Compression::snappy, false},
                                     {Compression::snappy, true},
                                     {Compression::lz4, false}};

TEST(Upconvert, CompressedMagic0Wrappers) {
  for (const auto& wc : kWrapperCases) {
    SCOPED_TRACE(std::string(compression_name(wc.codec)) + (wc.xerial ? " xerial" : ""));
    // v0 inner offsets are meaningless: any values.
    const auto inner = message_set(0, {{17, "k1", "v1"}, {3, std::nullopt, "v2"}, {3, "k3", ""}});
    auto set = message_set(0, {{0, "plain", "first"}});
    const auto w = wrapper(0, wc.codec, inner, 3, -1, false, wc.xerial);
    set.insert(set.end(), w.begin(), w.end());
    expect_batch(up(set),
                 {{"plain", "first", kNow},
                  {"k1", "v1", kNow},
                  {std::nullopt, "v2", kNow},
                  {"k3", "", kNow}},
                 true);
  }
}

TEST(Upconvert, CompressedMagic1WrappersWithRelativeOffsets) {
  for (const auto& wc : kWrapperCases) {
    SCOPED_TRACE(std::string(compression_name(wc.codec)) + (wc.xerial ? " xerial" : ""));
    const auto inner1 = message_set(1, {{0, "a", "1", 100}, {1, "b", std::nullopt, 300}});
    const auto inner2 =
        message_set(1, {{0, std::nullopt, "x", 50}, {1, "y", "yy", 60}, {2, "z", "zzz", 70}});
    auto set = wrapper(1, wc.codec, inner1, 1, 300, false, wc.xerial);
    const auto plain = message_set(1, {{2, "p", "q", 200}});
    set.insert(set.end(), plain.begin(), plain.end());
    const auto w2 = wrapper(1, wc.codec, inner2, 5, 70, false, wc.xerial);
    set.insert(set.end(), w2.begin(), w2.end());
    expect_batch(up(set),
                 {{"a", "1", 100},
                  {"b", std::nullopt, 300},
                  {"p", "q", 200},
                  {std::nullopt, "x", 50},
                  {"y", "yy", 60},
                  {"z", "zzz", 70}},
                 true);
  }
}

TEST(Upconvert, LogAppendTimeWrapperOverridesInnerTimestamps) {
  const auto inner = message_set(1, {{0, "a", "1", 100}, {1, "b", "2", 200}});
  const auto set = wrapper(1, Compression::gzip, inner, 1, 5555, /*log_append=*/true);
  expect_batch(up(set), {{"a", "1", 5555}, {"b", "2", 5555}}, true);
}

TEST(Upconvert, MixedMagicsInOneSet) {
  auto set = message_set(0, {{0, "old", "v0"}});
  const auto v1 = message_set(1, {{1, "new", "v1", 42}});
  set.insert(set.end(), v1.begin(), v1.end());
  expect_batch(up(set), {{"old", "v0", kNow}, {"new", "v1", 42}}, false);
}

TEST(Upconvert, BadCrcIsCorrupt) {
  const auto set = message_set(1, {{0, "a", "value", 1}, {1, "b", "value", 2}});
  const size_t entry = set.size() / 2;
  for (size_t i = 0; i < set.size(); ++i) {
    // Every byte of crc..value counts (changing the magic or a length may fail earlier); the
    // entry prefix (offset, size) is outside the message.
    if (i % entry < 12) continue;
    auto copy = set;
    copy[i] ^= std::byte{0x01};
    EXPECT_EQ(code_of(upconvert_message_set(copy, kNow)), Errc::corrupt) << i;
  }
  auto bad_crc = set;
  bad_crc[12] ^= std::byte{0x80};
  auto r = upconvert_message_set(bad_crc, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::corrupt);
  EXPECT_NE(r.error().message().find("CRC"), std::string::npos) << r.error().message();
}

TEST(Upconvert, TruncatedTrailingMessageIsCorrupt) {
  const auto set = message_set(0, {{0, "a", "1"}, {1, "b", "2"}});
  const size_t first = set.size() / 2;
  for (size_t n = 1; n < set.size(); ++n) {
    if (n == first) continue;  // exactly the first message: complete
    EXPECT_EQ(code_of(upconvert_message_set(std::span(set).first(n), kNow)), Errc::corrupt) << n;
  }
  EXPECT_TRUE(upconvert_message_set(std::span(set).first(first), kNow).ok());
  EXPECT_EQ(code_of(upconvert_message_set({}, kNow)), Errc::invalid_argument);
}

TEST(Upconvert, MalformedWrappersAndMessages) {
  const auto inner0 = message_set(0, {{0, "a", "1"}});
  const auto inner1 = message_set(1, {{0, "a", "1", 5}});
  // Damaged inner message inside a valid wrapper.
  auto bad_inner = inner1;
  bad_inner.back() ^= std::byte{1};
  EXPECT_EQ(code_of(upconvert_message_set(wrapper(1, Compression::gzip, bad_inner, 0, 5), kNow)),
            Errc::corrupt);
  // Inner magic differs from the wrapper's.
  EXPECT_EQ(code_of(upconvert_message_set(wrapper(1, Compression::gzip, inner0, 0, 5), kNow)),
            Errc::corrupt);
  // Nested compression.
  const auto nested = wrapper(1, Compression::gzip, inner1, 0, 5);
  EXPECT_EQ(code_of(upconvert_message_set(wrapper(1, Compression::gzip, nested, 0, 5), kNow)),
            Errc::corrupt);
  // An empty inner set.
  EXPECT_EQ(code_of(upconvert_message_set(wrapper(1, Compression::gzip, {}, 0, 5), kNow)),
            Errc::corrupt);
  // A truncated inner set.
  EXPECT_EQ(
      code_of(upconvert_message_set(
          wrapper(1, Compression::gzip, std::span(inner1).first(inner1.size() - 1), 0, 5), kNow)),
      Errc::corrupt);
  // Damaged compressed bytes (a valid CRC over them).
  std::vector<std::byte> junk_value(20, std::byte{0x33});
  std::vector<std::byte> junk;
  ASSERT_TRUE(append_legacy_message(junk, 1, 0, 1, 5, std::nullopt, junk_value).ok());
  EXPECT_EQ(code_of(upconvert_message_set(junk, kNow)), Errc::corrupt);
  // A wrapper without a value.
  std::vector<std::byte> no_value;
  ASSERT_TRUE(append_legacy_message(no_value, 1, 0, 2, 5, std::nullopt, std::nullopt).ok());
  EXPECT_EQ(code_of(upconvert_message_set(no_value, kNow)), Errc::corrupt);
  // zstd and unknown codecs.
  std::vector<std::byte> zstd;
  ASSERT_TRUE(append_legacy_message(zstd, 1, 0, 4, 5, std::nullopt, junk_value).ok());
  EXPECT_EQ(code_of(upconvert_message_set(zstd, kNow)), Errc::unsupported);
  std::vector<std::byte> codec5;
  ASSERT_TRUE(append_legacy_message(codec5, 1, 0, 5, 5, std::nullopt, junk_value).ok());
  EXPECT_EQ(code_of(upconvert_message_set(codec5, kNow)), Errc::corrupt);
  // magic 2 in a legacy set (with a valid CRC-32).
  auto magic2 = message_set(1, {{0, "a", "1", 5}});
  magic2[16] = std::byte{2};
  store_be32(magic2.data() + 12, crc32_ieee(std::span(magic2).subspan(16)));
  EXPECT_EQ(code_of(upconvert_message_set(magic2, kNow)), Errc::corrupt);
  // A message size below the minimum, and negative.
  auto small = message_set(0, {{0, "a", "1"}});
  store_i32(small.data() + 8, 13);
  EXPECT_EQ(code_of(upconvert_message_set(small, kNow)), Errc::corrupt);
  store_i32(small.data() + 8, -1);
  EXPECT_EQ(code_of(upconvert_message_set(small, kNow)), Errc::corrupt);
  // A key length running past the message, and bytes after the value.
  auto long_key = message_set(0, {{0, "a", "1"}});
  store_i32(long_key.data() + 18, 100);
  store_be32(long_key.data() + 12, crc32_ieee(std::span(long_key).subspan(16)));
  EXPECT_EQ(code_of(upconvert_message_set(long_key, kNow)), Errc::corrupt);
  auto extra = message_set(0, {{0, "a", "1"}});
  extra.push_back(std::byte{0});
  store_i32(extra.data() + 8, load_i32(extra.data() + 8) + 1);
  store_be32(extra.data() + 12, crc32_ieee(std::span(extra).subspan(16)));
  EXPECT_EQ(code_of(upconvert_message_set(extra, kNow)), Errc::corrupt);
}

TEST(Upconvert, WrappersInflatingPastTheBoundAreTooLarge) {
  const std::string big(4000, 'b');
  const auto inner = message_set(1, {{0, "a", big, 5}, {1, "b", big, 6}});
  auto set = wrapper(1, Compression::gzip, inner, 1, 6);
  const auto second = set;
  set.insert(set.end(), second.begin(), second.end());
  EXPECT_TRUE(upconvert_message_set(set, kNow, 2 * inner.size()).ok());
  // The bound covers all wrappers together.
  EXPECT_EQ(code_of(upconvert_message_set(set, kNow, 2 * inner.size() - 1)), Errc::too_large);
}

// --- down-conversion ------------------------------------------------------------------------

// One message read back field by field at the offsets the header documents.
struct Parsed {
  int64_t offset;
  int8_t magic;
  uint8_t attributes;
  int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
};

std::optional<std::string> read_field(std::span<const std::byte>& in) {
  const int32_t len = load_i32(in.data());
  in = in.subspan(4);
  if (len < 0) return std::nullopt;
  std::string s = testing::str(in.first(static_cast<size_t>(len)));
  in = in.subspan(static_cast<size_t>(len));
  return s;
}

// Parses a down-converted set independently of the library, checking sizes and CRCs.
std::vector<Parsed> parse_set(std::span<const std::byte> set) {
  std::vector<Parsed> out;
  while (!set.empty()) {
    EXPECT_GE(set.size(), 12u);
    if (set.size() < 12) break;
    const auto size = static_cast<size_t>(load_i32(set.data() + 8));
    EXPECT_LE(size + 12, set.size());
    if (size + 12 > set.size()) break;
    const auto msg = set.subspan(12, size);
    EXPECT_EQ(load_be32(msg.data()), crc32_ieee(msg.subspan(4))) << "CRC";
    Parsed p{};
    p.offset = load_i64(set.data());
    p.magic = static_cast<int8_t>(msg[4]);
    p.attributes = static_cast<uint8_t>(msg[5]);
    auto rest = msg.subspan(6);
    p.timestamp = -1;
    if (p.magic == 1) {
      p.timestamp = load_i64(rest.data());
      rest = rest.subspan(8);
    }
    p.key = read_field(rest);
    p.value = read_field(rest);
    EXPECT_TRUE(rest.empty());
    out.push_back(p);
    set = set.subspan(12 + size);
  }
  return out;
}

std::vector<std::byte> build(const std::vector<RecordInput>& in, Compression c, int64_t base,
                             bool log_append = false) {
  BuildOptions o;
  o.compression = c;
  o.base_offset = Offset(base);
  o.log_append_time = log_append;
  auto b = build_batch(in, o);
  EXPECT_TRUE(b.ok());
  return b.ok() ? std::move(b).value() : std::vector<std::byte>{};
}

const std::vector<RecordInput> kRecords = {
    {"k0", "v0", 1000, {{"h", "x"}}},
    {std::nullopt, "v1", 990, {}},
    {"k2", std::nullopt, 1200, {}},
    {"", "", 1100, {{"a", std::nullopt}}},
};

Result<std::vector<std::byte>> down(std::span<const std::byte> b, int8_t magic,
                                    size_t max_out = SIZE_MAX) {
  return downconvert_batches(b, magic, max_out);
}

TEST(Downconvert, EveryRecordToMagic0And1) {
  for (Compression c : {Compression::none, Compression::lz4}) {
    const auto batch = build(kRecords, c, 100);
    for (int8_t magic : {int8_t{0}, int8_t{1}}) {
      SCOPED_TRACE(std::string(compression_name(c)) + " magic " + std::to_string(magic));
      auto set = down(batch, magic);
      ASSERT_TRUE(set.ok()) << set.error().to_string();
      const auto msgs = parse_set(*set);
      ASSERT_EQ(msgs.size(), kRecords.size());
      size_t expected_size = 0;
      for (size_t i = 0; i < msgs.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(msgs[i].offset, 100 + static_cast<int64_t>(i));
        EXPECT_EQ(msgs[i].magic, magic);
        EXPECT_EQ(msgs[i].attributes, 0);
        EXPECT_EQ(msgs[i].timestamp, magic == 1 ? kRecords[i].timestamp_ms : -1);
        EXPECT_EQ(msgs[i].key, testing::str(kRecords[i].key));
        EXPECT_EQ(msgs[i].value, testing::str(kRecords[i].value));
        const size_t k = kRecords[i].key ? kRecords[i].key->size() : 0;
        const size_t v = kRecords[i].value ? kRecords[i].value->size() : 0;
        expected_size += 12 + (magic == 1 ? 22 : 14) + k + v;
      }
      EXPECT_EQ(set->size(), expected_size);  // headers dropped, nothing else in between
    }
  }
}

// A fetch offset inside a stored batch: the records before it are not sent (Kafka's rule);
// otherwise an old consumer fetching with a small limit would see the same records forever.
TEST(Downconvert, RecordsBeforeTheFetchOffsetAreLeftOut) {
  const auto batch = build(kRecords, Compression::lz4, 100);
  for (int8_t magic : {int8_t{0}, int8_t{1}}) {
    auto set = downconvert_batches(batch, magic, SIZE_MAX, 102);
    ASSERT_TRUE(set.ok());
    const auto msgs = parse_set(*set);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].offset, 102);
    EXPECT_EQ(msgs[1].offset, 103);
    // With a limit smaller than one message, exactly the message at the fetch offset.
    set = downconvert_batches(batch, magic, 1, 101);
    ASSERT_TRUE(set.ok());
    ASSERT_EQ(parse_set(*set).size(), 1u);
    EXPECT_EQ(parse_set(*set)[0].offset, 101);
  }
}

TEST(Downconvert, KnownBytesOfOneRecord) {
  const auto batch =
      build({{std::nullopt, "hi", 1000, {{"dropped", "header"}}}}, Compression::none, 7);
  auto set = down(batch, 1);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(*set, hex_bytes({0,    0,    0,    0,    0,    0,    0, 7, 0, 0, 0,   24,
                             0x06, 0x61, 0x4b, 0x6d, 1,    0,    0, 0, 0, 0, 0,   0,
                             0x03, 0xe8, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 'h', 'i'}));
}

TEST(Downconvert, LogAppendTimeKeepsTheTypeAndTheBatchTime) {
  auto batch = build(kRecords, Compression::none, 0, /*log_append=*/true);
  ASSERT_EQ(BatchView(batch).max_timestamp(), 1200);
  auto v1 = down(batch, 1);
  ASSERT_TRUE(v1.ok());
  for (const auto& m : parse_set(*v1)) {
    EXPECT_EQ(m.attributes, legacy_attr::kTimestampTypeLogAppend);
    EXPECT_EQ(m.timestamp, 1200);
  }
  auto v0 = down(batch, 0);
  ASSERT_TRUE(v0.ok());
  for (const auto& m : parse_set(*v0)) EXPECT_EQ(m.attributes, 0);
}

TEST(Downconvert, GzipAndSnappyBatchesAreDecompressed) {
  const auto plain = build(kRecords, Compression::none, 50);
  for (Compression c : {Compression::gzip, Compression::snappy}) {
    auto packed = compress(c, BatchView(plain).records_bytes());
    ASSERT_TRUE(packed.ok());
    std::vector<std::byte> b(plain.begin(), plain.begin() + bl::kHeaderSize);
    b.insert(b.end(), packed->begin(), packed->end());
    store_be16(b.data() + bl::kAttributes, static_cast<uint16_t>(c));
    testing::refresh_length_and_crc(b);
    auto set = down(b, 1);
    ASSERT_TRUE(set.ok()) << set.error().to_string();
    auto expected = down(plain, 1);
    ASSERT_TRUE(expected.ok());
    EXPECT_EQ(*set, *expected) << compression_name(c);
  }
}

TEST(Downconvert, SkipsControlBatchesAndRefusesZstd) {
  auto control = build({{"ctl", "commit", 5, {}}}, Compression::none, 10);
  store_be16(control.data() + bl::kAttributes, batch_attr::kControl | batch_attr::kTransactional);
  refresh_crc(control);
  auto data = build(kRecords, Compression::none, 11);
  auto both = control;
  both.insert(both.end(), data.begin(), data.end());
  auto set = down(both, 1);
  ASSERT_TRUE(set.ok()) << set.error().to_string();
  const auto msgs = parse_set(*set);
  ASSERT_EQ(msgs.size(), kRecords.size());
  EXPECT_EQ(msgs.front().offset, 11);

  auto zstd = data;
  store_be16(zstd.data() + bl::kAttributes, static_cast<uint16_t>(Compression::zstd));
  refresh_crc(zstd);
  EXPECT_EQ(code_of(down(zstd, 1)), Errc::unsupported);
  EXPECT_EQ(code_of(down(data, 2)), Errc::invalid_argument);
}

TEST(Downconvert, PartialTrailingBatchIsDropped) {
  const auto first = build(kRecords, Compression::none, 0);
  const auto second = build(kRecords, Compression::lz4, 4);
  auto both = first;
  both.insert(both.end(), second.begin(), second.end());
  for (size_t cut = 1; cut < second.size(); ++cut) {
    auto r = down(std::span(both).first(first.size() + cut), 0);
    ASSERT_TRUE(r.ok()) << cut;
    EXPECT_EQ(parse_set(*r).size(), kRecords.size()) << cut;
  }
  auto r = down(both, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(parse_set(*r).size(), 2 * kRecords.size());
  EXPECT_TRUE(down(std::span(first).first(30), 0)->empty());
}

TEST(Downconvert, DamagedBatchesAreErrors) {
  auto bad_crc = build(kRecords, Compression::none, 0);
  bad_crc.back() ^= std::byte{1};
  EXPECT_EQ(code_of(down(bad_crc, 1)), Errc::corrupt);
  auto bad_length = build(kRecords, Compression::none, 0);
  store_i32(bad_length.data() + bl::kBatchLength, 10);
  EXPECT_EQ(code_of(down(bad_length, 1)), Errc::corrupt);
}

TEST(Downconvert, StopsAtMaxOutButKeepsTheFirstMessage) {
  const auto batch = build(kRecords, Compression::none, 0);
  auto all = down(batch, 1);
  ASSERT_TRUE(all.ok());
  const auto msgs = parse_set(*all);
  const size_t first_size = 12 + 22 + 2 + 2;  // "k0", "v0"
  const size_t two = first_size + 12 + 22 + 2;
  auto one = down(batch, 1, two - 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), first_size);
  auto exact = down(batch, 1, two);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->size(), two);
  EXPECT_EQ(*exact,
            std::vector<std::byte>(all->begin(), all->begin() + static_cast<std::ptrdiff_t>(two)));
  auto tiny = down(batch, 1, 1);
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->size(), first_size);
  // The limit also applies across batches.
  auto twice = batch;
  twice.insert(twice.end(), batch.begin(), batch.end());
  auto capped = down(twice, 1, all->size());
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(*capped, *all);
}

// --- round trip -----------------------------------------------------------------------------

TEST(LegacyRoundTrip, UpThenDownRestoresTheMessages) {
  for (int8_t magic : {int8_t{0}, int8_t{1}}) {
    SCOPED_TRACE(static_cast<int>(magic));
    const auto inner = message_set(magic, {{0, "a", "1", 10}, {1, std::nullopt, "2", 20}});
    auto set = message_set(magic, {{0, "p", std::nullopt, 5}});
    const auto w = wrapper(magic, Compression::snappy, inner, 2, 20);
    set.insert(set.end(), w.begin(), w.end());
    auto upped = upconvert_message_set(set, kNow);
    ASSERT_TRUE(upped.ok()) << upped.error().to_string();
    set_base_offset(upped->batch, Offset(1000));  // as the log assigns it
    auto downed = down(upped->batch, magic);
    ASSERT_TRUE(downed.ok()) << downed.error().to_string();
    // What a fetch returns: absolute offsets, the messages, timestamps for magic 1.
    const auto expected = message_set(
        magic, {{1000, "p", std::nullopt, 5}, {1001, "a", "1", 10}, {1002, std::nullopt, "2", 20}});
    EXPECT_EQ(*downed, expected);
  }
}

}  // namespace
}  // namespace ferry::protocol
