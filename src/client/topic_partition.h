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

// The entry of `topic` in a request's topic list (Fetch, ListOffsets, OffsetCommit, ...): the
// last one when it is that topic's, else a new one. `name` is the entry's topic field
// (`&Topic::name`, `&Topic::topic`). Callers go through partitions in TopicPartition order, so
// each topic is listed once with its partitions together.
template <typename Topics, typename Name>
auto& topic_entry(Topics& topics, const std::string& topic, Name name) {
  if (topics.empty() || topics.back().*name != topic) {
    topics.emplace_back();
    topics.back().*name = topic;
  }
  return topics.back();
}

}  // namespace ferry::client
