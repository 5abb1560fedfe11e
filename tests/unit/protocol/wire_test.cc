// Boundary tests of the primitive codec (wire.h): integer extremes, unsigned varints, string,
// bytes and array length prefixes in both encodings, and the sticky failure of the Reader.
#include "protocol/wire.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ferry::protocol {
namespace {

using ByteVec = std::vector<std::byte>;

ByteVec bytes(std::initializer_list<int> v) {
  ByteVec out;
  for (int x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}

template <typename F>
ByteVec written(F&& f) {
  ByteVec out;
  Writer w(out);
  f(w);
  return out;
}

TEST(Wire, IntegerExtremesAreBigEndian) {
  EXPECT_EQ(written([](Writer& w) { w.i8(-128); }), bytes({0x80}));
  EXPECT_EQ(written([](Writer& w) { w.i16(std::numeric_limits<int16_t>::min()); }),
            bytes({0x80, 0x00}));
  EXPECT_EQ(written([](Writer& w) { w.i16(-1); }), bytes({0xFF, 0xFF}));
  EXPECT_EQ(written([](Writer& w) { w.i32(std::numeric_limits<int32_t>::max()); }),
            bytes({0x7F, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(written([](Writer& w) { w.i64(std::numeric_limits<int64_t>::min()); }),
            bytes({0x80, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(written([](Writer& w) { w.u32(0xDEADBEEF); }), bytes({0xDE, 0xAD, 0xBE, 0xEF}));

  const ByteVec all = written([](Writer& w) {
    w.i8(127);
    w.i8(-128);
    w.i16(32767);
    w.i16(-32768);
    w.i32(std::numeric_limits<int32_t>::min());
    w.i32(std::numeric_limits<int32_t>::max());
    w.i64(std::numeric_limits<int64_t>::min());
    w.i64(std::numeric_limits<int64_t>::max());
    w.boolean(true);
    w.f64(-0.5);
  });
  Reader r(all);
  EXPECT_EQ(r.i8(), 127);
  EXPECT_EQ(r.i8(), -128);
  EXPECT_EQ(r.i16(), 32767);
  EXPECT_EQ(r.i16(), -32768);
  EXPECT_EQ(r.i32(), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(r.i32(), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(r.i64(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.i64(), std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(r.boolean());
  EXPECT_EQ(r.f64(), -0.5);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(Wire, Uint16AndBooleanDecoding) {
  const ByteVec r_in = bytes({0xFF, 0xFE, 0x02, 0x00});
  Reader r(r_in);
  EXPECT_EQ(r.u16(), 0xFFFE);
  EXPECT_TRUE(r.boolean());  // any non-zero byte is true
  EXPECT_FALSE(r.boolean());
  EXPECT_TRUE(r.ok());
}

TEST(Wire, UnsignedVarints) {
  struct Case {
    uint32_t value;
    ByteVec encoding;
  };
  for (const auto& c : {Case{0, bytes({0x00})}, Case{1, bytes({0x01})}, Case{127, bytes({0x7F})},
                        Case{128, bytes({0x80, 0x01})}, Case{300, bytes({0xAC, 0x02})},
                        Case{16383, bytes({0xFF, 0x7F})}, Case{16384, bytes({0x80, 0x80, 0x01})},
                        Case{0xFFFFFFFF, bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x0F})}}) {
    EXPECT_EQ(written([&](Writer& w) { w.uvarint(c.value); }), c.encoding) << c.value;
    Reader r(c.encoding);
    EXPECT_EQ(r.uvarint(), c.value);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
  }
}

TEST(Wire, BadUnsignedVarintsFail) {
  for (const auto& in : {bytes({}), bytes({0x80}), bytes({0xFF, 0xFF}),
                         bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x00}),  // six bytes
                         bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x1F}),        // bit 32 set
                         bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF})}) {     // continues past five
    Reader r(in);
    EXPECT_EQ(r.uvarint(), 0u);
    EXPECT_FALSE(r.ok()) << in.size();
  }
  // A zero-padded (non-minimal) encoding within five bytes is accepted, as Kafka does.
  const ByteVec padded_in = bytes({0x81, 0x80, 0x00});
  Reader padded(padded_in);
  EXPECT_EQ(padded.uvarint(), 1u);
  EXPECT_TRUE(padded.ok());
}

TEST(Wire, ClassicStrings) {
  EXPECT_EQ(written([](Writer& w) { w.string("", false); }), bytes({0, 0}));
  EXPECT_EQ(written([](Writer& w) { w.string("ab", false); }), bytes({0, 2, 'a', 'b'}));
  EXPECT_EQ(written([](Writer& w) { w.nullable_string(std::nullopt, false); }),
            bytes({0xFF, 0xFF}));

  {
    const ByteVec r_in = bytes({0, 0, 0, 2, 'a', 'b'});
    Reader r(r_in);
    EXPECT_EQ(r.string(false), "");
    EXPECT_EQ(r.string(false), "ab");
    EXPECT_TRUE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0xFF, 0xFF});
    Reader r(r_in);
    EXPECT_EQ(r.nullable_string(false), std::nullopt);
    EXPECT_TRUE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0xFF, 0xFF});
    Reader r(r_in);  // null where a string is required
    EXPECT_EQ(r.string(false), "");
    EXPECT_FALSE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0xFF, 0xFE});
    Reader r(r_in);  // -2
    EXPECT_EQ(r.nullable_string(false), std::nullopt);
    EXPECT_FALSE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0x80, 0x00});
    Reader r(r_in);  // most negative length
    (void)r.nullable_string(false);
    EXPECT_FALSE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0, 3, 'a', 'b'});
    Reader r(r_in);  // longer than the input
    EXPECT_EQ(r.string(false), "");
    EXPECT_FALSE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0x7F, 0xFF});
    Reader r(r_in);  // the longest length, nothing behind it
    (void)r.string(false);
    EXPECT_FALSE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0});
    Reader r(r_in);  // truncated length
    (void)r.string(false);
    EXPECT_FALSE(r.ok());
  }
}

TEST(Wire, CompactStrings) {
  EXPECT_EQ(written([](Writer& w) { w.string("", true); }), bytes({1}));
  EXPECT_EQ(written([](Writer& w) { w.string("ab", true); }), bytes({3, 'a', 'b'}));
  EXPECT_EQ(written([](Writer& w) { w.nullable_string(std::nullopt, true); }), bytes({0}));
  const std::string long_string(200, 'x');  // length + 1 = 201 needs two varint bytes
  const ByteVec enc = written([&](Writer& w) { w.string(long_string, true); });
  ASSERT_EQ(enc.size(), 202u);
  EXPECT_EQ(enc[0], std::byte{0xC9});
  EXPECT_EQ(enc[1], std::byte{0x01});
  {
    Reader r(enc);
    EXPECT_EQ(r.string(true), long_string);
    EXPECT_TRUE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0, 1, 3, 'a', 'b'});
    Reader r(r_in);
    EXPECT_EQ(r.nullable_string(true), std::nullopt);
    EXPECT_EQ(r.nullable_string(true), std::string());
    EXPECT_EQ(r.nullable_string(true), std::string("ab"));
    EXPECT_TRUE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0});
    Reader r(r_in);
    (void)r.string(true);
    EXPECT_FALSE(r.ok());
  }
  {
    const ByteVec r_in = bytes({4, 'a', 'b'});
    Reader r(r_in);  // three bytes announced, two present
    (void)r.string(true);
    EXPECT_FALSE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x0F});
    Reader r(r_in);  // 2^32 - 2 bytes announced
    (void)r.string(true);
    EXPECT_FALSE(r.ok());
  }
}

TEST(Wire, BytesBothEncodings) {
  const ByteVec payload = bytes({1, 2, 3});
  EXPECT_EQ(written([&](Writer& w) { w.bytes(payload, false); }), bytes({0, 0, 0, 3, 1, 2, 3}));
  EXPECT_EQ(written([&](Writer& w) { w.bytes(payload, true); }), bytes({4, 1, 2, 3}));
  EXPECT_EQ(written([](Writer& w) { w.null_bytes(false); }), bytes({0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(written([](Writer& w) { w.null_bytes(true); }), bytes({0}));
  {
    const ByteVec r_in = bytes({0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 2, 9, 8});
    Reader r(r_in);
    EXPECT_FALSE(r.nullable_bytes(false).has_value());
    auto empty = r.nullable_bytes(false);
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
    auto two = r.nullable_bytes(false);
    ASSERT_TRUE(two);
    EXPECT_EQ(ByteVec(two->begin(), two->end()), bytes({9, 8}));
    EXPECT_TRUE(r.ok());
  }
  for (const auto& bad : {bytes({0xFF, 0xFF, 0xFF, 0xFE}), bytes({0x80, 0, 0, 0}),
                          bytes({0, 0, 0, 5, 1, 2}), bytes({0x7F, 0xFF, 0xFF, 0xFF})}) {
    Reader r(bad);
    EXPECT_FALSE(r.nullable_bytes(false).has_value());
    EXPECT_FALSE(r.ok());
  }
  const ByteVec compact_bad_in = bytes({5, 1, 2});
  Reader compact_bad(compact_bad_in);
  EXPECT_FALSE(compact_bad.nullable_bytes(true).has_value());
  EXPECT_FALSE(compact_bad.ok());
}

TEST(Wire, ArrayCounts) {
  EXPECT_EQ(written([](Writer& w) { w.array_count(-1, false); }), bytes({0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(written([](Writer& w) { w.array_count(-1, true); }), bytes({0}));
  EXPECT_EQ(written([](Writer& w) { w.array_count(0, true); }), bytes({1}));
  EXPECT_EQ(written([](Writer& w) { w.array_count(127, true); }), bytes({0x80, 0x01}));
  {
    const ByteVec r_in = bytes({0xFF, 0xFF, 0xFF, 0xFF});
    Reader r(r_in);
    EXPECT_EQ(r.array_count(false), -1);
    EXPECT_TRUE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0, 2, 0x55});
    Reader r(r_in);
    EXPECT_EQ(r.array_count(true), -1);
    EXPECT_EQ(r.array_count(true), 1);
    EXPECT_TRUE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0xFF, 0xFF, 0xFF, 0xFE});
    Reader r(r_in);  // -2
    EXPECT_EQ(r.array_count(false), 0);
    EXPECT_FALSE(r.ok());
  }
  {
    // Sanity bound: a count beyond the remaining bytes cannot be honest (each element takes at
    // least one byte) and fails before anything is allocated.
    const ByteVec r_in = bytes({0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 3});
    Reader r(r_in);
    EXPECT_EQ(r.array_count(false), 0);
    EXPECT_FALSE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0, 0, 0, 3, 1, 2, 3});
    Reader r(r_in);  // exactly as many bytes as elements: allowed
    EXPECT_EQ(r.array_count(false), 3);
    EXPECT_TRUE(r.ok());
  }
  {
    const ByteVec r_in = bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x0F});
    Reader r(r_in);  // compact 2^32 - 2
    (void)r.array_count(true);
    EXPECT_FALSE(r.ok());
  }
}

TEST(Wire, TagBuffers) {
  const ByteVec tags = bytes({2, 0, 1, 0xAA, 5, 3, 1, 2, 3, 0x77});
  Reader r(tags);
  r.skip_tag_buffer();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 1u);
  const ByteVec truncated_in = bytes({1, 0, 4, 0xAA});
  Reader truncated(truncated_in);
  truncated.skip_tag_buffer();
  EXPECT_FALSE(truncated.ok());
}

TEST(Wire, FailureIsStickyAndReadsStayInBounds) {
  const ByteVec r_in = bytes({0, 0, 0, 1, 0xEE});
  Reader r(r_in);
  EXPECT_EQ(r.i32(), 1);
  EXPECT_EQ(r.i64(), 0);  // only one byte left
  EXPECT_FALSE(r.ok());
  EXPECT_STRNE(r.failure(), "");
  EXPECT_EQ(r.remaining(), 0u);
  // Everything after the first failure reads as zero and the first reason is kept.
  const std::string first = r.failure();
  EXPECT_EQ(r.i8(), 0);
  EXPECT_EQ(r.uvarint(), 0u);
  EXPECT_EQ(r.string(true), "");
  EXPECT_TRUE(r.take(1).empty());
  EXPECT_EQ(r.uuid(), Uuid{});
  EXPECT_EQ(first, r.failure());
}

TEST(Wire, EveryTruncationOfAMessageFails) {
  const ByteVec msg = written([](Writer& w) {
    w.i16(3);
    w.nullable_string(std::string("client"), false);
    w.uvarint(300);
    w.string("compact", true);
    w.bytes(bytes({1, 2, 3, 4}), false);
    w.array_count(2, false);
    w.i64(-7);
    w.i64(7);
    w.uuid(Uuid{std::byte{1}});
    w.f64(1.5);
  });
  auto parse = [](std::span<const std::byte> in) {
    Reader r(in);
    (void)r.i16();
    (void)r.nullable_string(false);
    (void)r.uvarint();
    (void)r.string(true);
    (void)r.nullable_bytes(false);
    const int64_t n = r.array_count(false);
    for (int64_t i = 0; i < n && r.ok(); ++i) (void)r.i64();
    (void)r.uuid();
    (void)r.f64();
    return r.ok() && r.remaining() == 0;
  };
  EXPECT_TRUE(parse(msg));
  for (size_t cut = 0; cut < msg.size(); ++cut) {
    EXPECT_FALSE(parse(std::span<const std::byte>(msg).first(cut))) << cut;
  }
}

TEST(Wire, ReserveAndPatchSize) {
  ByteVec out;
  Writer w(out);
  const size_t mark = w.reserve_size();
  w.i16(1);
  w.string("xyz", false);
  w.patch_size(mark);
  EXPECT_EQ(out, bytes({0, 0, 0, 7, 0, 1, 0, 3, 'x', 'y', 'z'}));
}

}  // namespace
}  // namespace ferry::protocol

namespace ferry::protocol {
namespace {

// With a splice list, large RECORDS contents are recorded as splices (not copied) and the size
// prefix counts them; assembling buffer and splices gives exactly the copying encoding.
TEST(WireSplice, LargeRecordsAreSplicedAndCountedInTheSize) {
  std::vector<std::byte> big(Writer::kMinSplice + 10, std::byte{0x5a});
  std::vector<std::byte> small(10, std::byte{0x11});
  auto encode = [&](std::vector<std::byte>& out, std::vector<Splice>* splices) {
    Writer w(out, splices);
    const size_t mark = w.reserve_size();
    w.i16(7);
    w.records(big, false);
    w.records(small, true);
    w.records(big, true);
    w.patch_size(mark);
  };
  std::vector<std::byte> plain;
  encode(plain, nullptr);
  std::vector<std::byte> head;
  std::vector<Splice> splices;
  encode(head, &splices);
  ASSERT_EQ(splices.size(), 2u);
  std::vector<std::byte> assembled;
  size_t pos = 0;
  for (const auto& sp : splices) {
    assembled.insert(assembled.end(), head.begin() + static_cast<ptrdiff_t>(pos),
                     head.begin() + static_cast<ptrdiff_t>(sp.at));
    assembled.insert(assembled.end(), sp.data.begin(), sp.data.end());
    pos = sp.at;
  }
  assembled.insert(assembled.end(), head.begin() + static_cast<ptrdiff_t>(pos), head.end());
  EXPECT_EQ(assembled, plain);
  EXPECT_EQ(load_i32(head.data()), static_cast<int32_t>(plain.size() - 4));
}

}  // namespace
}  // namespace ferry::protocol
