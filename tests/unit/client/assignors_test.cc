// The range and roundrobin assignors against known answers (the examples of Kafka's Java
// client documentation and hand-worked uneven cases).
#include "client/assignors.h"

#include <gtest/gtest.h>

namespace ferry::client {
namespace {

using Parts = std::map<std::string, std::vector<int32_t>>;

TEST(RangeAssignor, TwoMembersTwoTopicsOfThreePartitions) {
  // Java RangeAssignor's documented example: C0 gets t0p0 t0p1 t1p0 t1p1, C1 gets t0p2 t1p2.
  auto a = assign_range({{"C0", {"t0", "t1"}}, {"C1", {"t0", "t1"}}}, {{"t0", 3}, {"t1", 3}});
  EXPECT_EQ(a["C0"], (Parts{{"t0", {0, 1}}, {"t1", {0, 1}}}));
  EXPECT_EQ(a["C1"], (Parts{{"t0", {2}}, {"t1", {2}}}));
}

TEST(RangeAssignor, UnevenCountsGiveTheFirstMembersOneMore) {
  auto a = assign_range({{"m-b", {"big", "small"}}, {"m-a", {"big", "small"}}, {"m-c", {"big"}}},
                        {{"big", 7}, {"small", 1}});
  // Sorted by member id: m-a, m-b, m-c. big: 7 = 3 + 2 + 2; small: only m-a and m-b subscribe.
  EXPECT_EQ(a["m-a"], (Parts{{"big", {0, 1, 2}}, {"small", {0}}}));
  EXPECT_EQ(a["m-b"], (Parts{{"big", {3, 4}}}));
  EXPECT_EQ(a["m-c"], (Parts{{"big", {5, 6}}}));
}

TEST(RangeAssignor, MoreMembersThanPartitionsAndUnknownTopics) {
  auto a = assign_range({{"a", {"t", "gone"}}, {"b", {"t"}}, {"c", {"t"}}}, {{"t", 2}});
  EXPECT_EQ(a["a"], (Parts{{"t", {0}}}));
  EXPECT_EQ(a["b"], (Parts{{"t", {1}}}));
  EXPECT_TRUE(a.at("c").empty());  // still present, with nothing
}

TEST(RoundRobinAssignor, TwoMembersTwoTopicsOfThreePartitions) {
  // Java RoundRobinAssignor's documented example: C0 t0p0 t0p2 t1p1, C1 t0p1 t1p0 t1p2.
  auto a = assign_roundrobin({{"C0", {"t0", "t1"}}, {"C1", {"t0", "t1"}}}, {{"t0", 3}, {"t1", 3}});
  EXPECT_EQ(a["C0"], (Parts{{"t0", {0, 2}}, {"t1", {1}}}));
  EXPECT_EQ(a["C1"], (Parts{{"t0", {1}}, {"t1", {0, 2}}}));
}

TEST(RoundRobinAssignor, UnevenSubscriptionsSkipMembersNotSubscribed) {
  // The Java documentation's second example: C0 subscribes t0; C1 t0, t1; C2 t0, t1, t2;
  // t0, t1, t2 have 1, 2, 3 partitions. C0: t0p0; C1: t1p0; C2: t1p1 t2p0 t2p1 t2p2.
  auto a = assign_roundrobin({{"C0", {"t0"}}, {"C1", {"t0", "t1"}}, {"C2", {"t0", "t1", "t2"}}},
                             {{"t0", 1}, {"t1", 2}, {"t2", 3}});
  EXPECT_EQ(a["C0"], (Parts{{"t0", {0}}}));
  EXPECT_EQ(a["C1"], (Parts{{"t1", {0}}}));
  EXPECT_EQ(a["C2"], (Parts{{"t1", {1}}, {"t2", {0, 1, 2}}}));
}

TEST(RoundRobinAssignor, FourPartitionsThreeMembers) {
  auto a = assign_roundrobin({{"x", {"t"}}, {"y", {"t"}}, {"z", {"t"}}}, {{"t", 4}});
  EXPECT_EQ(a["x"], (Parts{{"t", {0, 3}}}));
  EXPECT_EQ(a["y"], (Parts{{"t", {1}}}));
  EXPECT_EQ(a["z"], (Parts{{"t", {2}}}));
}

TEST(Assignors, ByName) {
  EXPECT_TRUE(is_known_assignor("range"));
  EXPECT_TRUE(is_known_assignor("roundrobin"));
  EXPECT_FALSE(is_known_assignor("cooperative-sticky"));
  const Subscriptions s{{"a", {"t"}}, {"b", {"t"}}};
  EXPECT_EQ(assign("roundrobin", s, {{"t", 4}})["a"], (Parts{{"t", {0, 2}}}));
  EXPECT_EQ(assign("range", s, {{"t", 4}})["a"], (Parts{{"t", {0, 1}}}));
}

}  // namespace
}  // namespace ferry::client
