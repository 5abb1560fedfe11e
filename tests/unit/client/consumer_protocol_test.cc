// The consumer protocol's assignment bytes: decoding what Java clients and librdkafka send,
// round trips, and malformed input.
#include "client/consumer_protocol.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace ferry::client {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

TEST(ConsumerAssignment, DecodesVersion0ByteForByte) {
  // version 0; one topic "ab" with partitions 0 and 2; user data null.
  auto in = bytes({0, 0, 0, 0, 0, 1, 0, 2, 'a', 'b',  0,    0,    0,
                   2, 0, 0, 0, 0, 0, 0, 0, 2,   0xff, 0xff, 0xff, 0xff});
  auto a = decode_consumer_assignment(in);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_EQ(a->version, 0);
  ASSERT_EQ(a->assigned.size(), 1u);
  EXPECT_EQ(a->assigned[0].topic, "ab");
  EXPECT_EQ(a->assigned[0].partitions, (std::vector<int32_t>{0, 2}));
  EXPECT_FALSE(a->user_data.has_value());
}

TEST(ConsumerAssignment, RoundTripsWithUserDataAndNewerVersions) {
  for (int16_t version : {int16_t{0}, int16_t{1}, int16_t{3}}) {
    ConsumerAssignment a;
    a.version = version;
    a.assigned = {{"orders", {0, 1, 2}}, {"events", {7}}};
    a.user_data = protocol::Bytes{std::byte{1}, std::byte{2}};
    auto back = decode_consumer_assignment(encode_consumer_assignment(a));
    ASSERT_TRUE(back.ok()) << back.error().to_string();
    EXPECT_EQ(*back, a);
  }
}

TEST(ConsumerAssignment, EmptyBytesAreAnEmptyAssignment) {
  auto a = decode_consumer_assignment({});
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->assigned.empty());
}

TEST(ConsumerAssignment, MissingUserDataIsTolerated) {
  auto a = decode_consumer_assignment(bytes({0, 1, 0, 0, 0, 0}));
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_EQ(a->version, 1);
  EXPECT_TRUE(a->assigned.empty());
}

TEST(ConsumerAssignment, TrailingFieldsOfNewerVersionsAreIgnored) {
  ConsumerAssignment a;
  a.version = 4;
  a.assigned = {{"t", {5}}};
  auto in = encode_consumer_assignment(a);
  in.push_back(std::byte{9});
  auto back = decode_consumer_assignment(in);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->assigned, a.assigned);
}

TEST(ConsumerAssignment, MalformedInputIsAnError) {
  const std::vector<std::vector<std::byte>> bad = {
      bytes({0}),                            // truncated version
      bytes({0, 0, 0, 0, 0, 1}),             // one topic, no bytes for it
      bytes({0, 0, 0, 0, 0, 1, 0, 5, 'a'}),  // topic name longer than the input
      bytes({0, 0, 0, 0, 0, 1, 0, 1, 'a', 0, 0, 0, 2, 0, 0, 0, 1}),  // one of two partitions
      bytes({0xff, 0xff, 0, 0, 0, 0}),                               // negative version
      bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 9}),  // user data longer than the input
  };
  for (const auto& in : bad) {
    auto a = decode_consumer_assignment(in);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().code(), Errc::corrupt);
  }
}

}  // namespace
}  // namespace ferry::client
