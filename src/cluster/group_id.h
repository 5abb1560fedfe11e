// The name of one replicated log: a partition (topic, index), or the cluster metadata log
// (kMetadataTopic, 0).
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace ferry::cluster {

inline constexpr const char* kMetadataTopic = "__cluster_metadata";

struct GroupId {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const GroupId&) const = default;
  bool operator==(const GroupId&) const = default;
  std::string to_string() const { return topic + "-" + std::to_string(partition); }
};

}  // namespace ferry::cluster
