// TopicPartition: the name of one partition in the client's API (consumer assignment and
// positions, group offsets), ordered by topic then partition so it can key a std::map.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace ferry::client {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
  bool operator==(const TopicPartition&) const = default;
};

// "topic-3", as Kafka's tools print a partition.
inline std::string to_string(const TopicPartition& tp) {
  return tp.topic + "-" + std::to_string(tp.partition);
}

}  // namespace ferry::client
