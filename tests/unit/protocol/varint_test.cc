// Unit tests of the Kafka varint codec: known encodings, round trips, edge values, bad input.
#include "protocol/varint.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <random>
#include <vector>

namespace ferry::protocol {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}

std::vector<std::byte> encode32(int32_t v) {
  std::vector<std::byte> out;
  write_varint(out, v);
  return out;
}

std::vector<std::byte> encode64(int64_t v) {
  std::vector<std::byte> out;
  write_varlong(out, v);
  return out;
}

TEST(Varint, KnownEncodings) {
  EXPECT_EQ(encode32(0), bytes({0x00}));
  EXPECT_EQ(encode32(-1), bytes({0x01}));
  EXPECT_EQ(encode32(1), bytes({0x02}));
  EXPECT_EQ(encode32(63), bytes({0x7E}));
  EXPECT_EQ(encode32(-64), bytes({0x7F}));
  EXPECT_EQ(encode32(64), bytes({0x80, 0x01}));
  EXPECT_EQ(encode32(300), bytes({0xD8, 0x04}));
  EXPECT_EQ(encode32(INT32_MAX), bytes({0xFE, 0xFF, 0xFF, 0xFF, 0x0F}));
  EXPECT_EQ(encode32(INT32_MIN), bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x0F}));
  EXPECT_EQ(encode64(INT64_MAX),
            bytes({0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
  EXPECT_EQ(encode64(INT64_MIN),
            bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
  EXPECT_EQ(encode64(-2), bytes({0x03}));
  std::vector<std::byte> u;
  write_unsigned_varint(u, 300);
  EXPECT_EQ(u, bytes({0xAC, 0x02}));
}

TEST(Varint, ZigZagMapping) {
  EXPECT_EQ(zigzag_encode32(0), 0u);
  EXPECT_EQ(zigzag_encode32(-1), 1u);
  EXPECT_EQ(zigzag_encode32(1), 2u);
  EXPECT_EQ(zigzag_encode32(INT32_MAX), 0xFFFFFFFEu);
  EXPECT_EQ(zigzag_encode32(INT32_MIN), 0xFFFFFFFFu);
  EXPECT_EQ(zigzag_decode32(0xFFFFFFFFu), INT32_MIN);
  EXPECT_EQ(zigzag_encode64(INT64_MIN), UINT64_MAX);
  EXPECT_EQ(zigzag_decode64(UINT64_MAX), INT64_MIN);
  EXPECT_EQ(zigzag_decode64(UINT64_MAX - 1), INT64_MAX);
}

void expect_varint_round_trip(int32_t v) {
  std::vector<std::byte> buf = encode32(v);
  EXPECT_EQ(buf.size(), varint_size(v)) << v;
  EXPECT_LE(buf.size(), kMaxVarintBytes);
  buf.push_back(std::byte{0xAA});  // a following byte must be left alone
  std::span<const std::byte> in(buf);
  auto got = read_varint(in);
  ASSERT_TRUE(got.has_value()) << v;
  EXPECT_EQ(*got, v);
  ASSERT_EQ(in.size(), 1u) << v;
  EXPECT_EQ(in[0], std::byte{0xAA});
}

void expect_varlong_round_trip(int64_t v) {
  std::vector<std::byte> buf = encode64(v);
  EXPECT_EQ(buf.size(), varlong_size(v)) << v;
  EXPECT_LE(buf.size(), kMaxVarlongBytes);
  buf.push_back(std::byte{0x00});
  std::span<const std::byte> in(buf);
  auto got = read_varlong(in);
  ASSERT_TRUE(got.has_value()) << v;
  EXPECT_EQ(*got, v);
  EXPECT_EQ(in.size(), 1u) << v;
}

TEST(Varint, RoundTripsEdgeValues) {
  for (int32_t v :
       {0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, INT16_MAX, INT16_MIN, (1 << 27) - 1,
        -(1 << 27), INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1}) {
    expect_varint_round_trip(v);
  }
  EXPECT_EQ(varint_size(INT32_MIN), 5u);
  EXPECT_EQ(varint_size(INT32_MAX), 5u);
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{INT32_MAX}, int64_t{INT32_MIN},
                    int64_t{1} << 40, -(int64_t{1} << 40), INT64_MAX, INT64_MIN, INT64_MAX - 1,
                    INT64_MIN + 1}) {
    expect_varlong_round_trip(v);
  }
  EXPECT_EQ(varlong_size(INT64_MIN), 10u);
  EXPECT_EQ(varlong_size(INT64_MAX), 10u);
}

TEST(Varint, RoundTripsRandomValues) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t r = rng();
    const unsigned bits = static_cast<unsigned>(rng() % 64);  // spread over all lengths
    const auto v64 = static_cast<int64_t>(bits == 0 ? r : r >> bits);
    expect_varlong_round_trip(v64);
    expect_varlong_round_trip(static_cast<int64_t>(0 - static_cast<uint64_t>(v64)));  // negated
    expect_varint_round_trip(static_cast<int32_t>(static_cast<uint32_t>(v64)));
    const auto u = static_cast<uint32_t>(r >> (bits % 32));
    std::vector<std::byte> buf;
    write_unsigned_varint(buf, u);
    EXPECT_EQ(buf.size(), unsigned_varint_size(u));
    std::span<const std::byte> in(buf);
    auto got = read_unsigned_varint(in);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, u);
    EXPECT_TRUE(in.empty());
  }
}

TEST(Varint, TruncatedEncodingsAreRejectedAndNothingIsConsumed) {
  for (int32_t v : {64, -65, 300, INT32_MAX, INT32_MIN}) {
    const auto full = encode32(v);
    for (size_t n = 0; n < full.size(); ++n) {
      std::span<const std::byte> in(full.data(), n);
      EXPECT_FALSE(read_varint(in).has_value()) << v << " cut at " << n;
      EXPECT_EQ(in.size(), n);
      std::span<const std::byte> in_u(full.data(), n);
      EXPECT_FALSE(read_unsigned_varint(in_u).has_value());
    }
  }
  for (int64_t v : {int64_t{64}, INT64_MAX, INT64_MIN, int64_t{1} << 50}) {
    const auto full = encode64(v);
    for (size_t n = 0; n < full.size(); ++n) {
      std::span<const std::byte> in(full.data(), n);
      EXPECT_FALSE(read_varlong(in).has_value()) << v << " cut at " << n;
      EXPECT_EQ(in.size(), n);
    }
  }
}

TEST(Varint, OverlongEncodingsAreRejected) {
  // More than 5 bytes for an int32, even if the value would be small.
  auto six = bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  std::span<const std::byte> in(six);
  EXPECT_FALSE(read_varint(in).has_value());
  EXPECT_EQ(in.size(), 6u);
  in = six;
  EXPECT_FALSE(read_unsigned_varint(in).has_value());
  // More than 10 bytes for an int64.
  std::vector<std::byte> eleven(10, std::byte{0x80});
  eleven.push_back(std::byte{0x00});
  in = eleven;
  EXPECT_FALSE(read_varlong(in).has_value());
  EXPECT_EQ(in.size(), 11u);
}

TEST(Varint, ValuesBeyondTheTypeWidthAreRejected) {
  // The 5th byte of an int32 holds only 4 bits (28..31).
  auto five_ok = bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x0F});
  auto five_bad = bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x10});
  auto five_bad_hi = bytes({0x80, 0x80, 0x80, 0x80, 0x70});
  std::span<const std::byte> in(five_ok);
  EXPECT_EQ(read_varint(in), INT32_MIN);
  in = five_bad;
  EXPECT_FALSE(read_varint(in).has_value());
  in = five_bad_hi;
  EXPECT_FALSE(read_varint(in).has_value());
  in = five_bad;
  EXPECT_FALSE(read_unsigned_varint(in).has_value());
  // The 10th byte of an int64 holds only bit 63.
  std::vector<std::byte> ten(9, std::byte{0xFF});
  ten.push_back(std::byte{0x01});
  in = ten;
  EXPECT_EQ(read_varlong(in), INT64_MIN);
  ten.back() = std::byte{0x02};
  in = ten;
  EXPECT_FALSE(read_varlong(in).has_value());
  ten.back() = std::byte{0x7F};
  in = ten;
  EXPECT_FALSE(read_varlong(in).has_value());
}

TEST(Varint, ZeroPaddedEncodingsWithinTheLimitAreAcceptedLikeKafka) {
  auto padded = bytes({0x82, 0x80, 0x00});  // 2 (i.e. +1) in three bytes
  std::span<const std::byte> in(padded);
  EXPECT_EQ(read_varint(in), 1);
  EXPECT_TRUE(in.empty());
}

TEST(Varint, ReadsConsecutiveValues) {
  std::vector<std::byte> buf;
  write_varint(buf, -7);
  write_varlong(buf, INT64_MIN);
  write_varint(buf, INT32_MAX);
  write_unsigned_varint(buf, UINT32_MAX);
  std::span<const std::byte> in(buf);
  EXPECT_EQ(read_varint(in), -7);
  EXPECT_EQ(read_varlong(in), INT64_MIN);
  EXPECT_EQ(read_varint(in), INT32_MAX);
  EXPECT_EQ(read_unsigned_varint(in), UINT32_MAX);
  EXPECT_TRUE(in.empty());
  EXPECT_FALSE(read_varint(in).has_value());
}

}  // namespace
}  // namespace ferry::protocol
