// The range and roundrobin assignors.
#include "client/assignors.h"

#include <algorithm>
#include <set>

namespace ferry::client {

namespace {

GroupAssignment empty_for(const Subscriptions& members) {
  GroupAssignment out;
  for (const auto& [member, topics] : members) out[member];
  return out;
}

}  // namespace

GroupAssignment assign_range(const Subscriptions& members, const PartitionCounts& partitions) {
  GroupAssignment out = empty_for(members);
  // topic -> subscribed members, in member id order (std::map iterates sorted).
  std::map<std::string, std::vector<std::string>> by_topic;
  for (const auto& [member, topics] : members) {
    for (const auto& t : std::set<std::string>(topics.begin(), topics.end()))
      by_topic[t].push_back(member);
  }
  for (const auto& [topic, subscribers] : by_topic) {
    auto count = partitions.find(topic);
    if (count == partitions.end() || count->second <= 0) continue;
    const auto n = static_cast<int64_t>(count->second);
    const auto c = static_cast<int64_t>(subscribers.size());
    const int64_t per = n / c;
    const int64_t extra = n % c;
    for (int64_t i = 0; i < c; ++i) {
      const int64_t start = per * i + std::min(i, extra);
      const int64_t len = per + (i + 1 > extra ? 0 : 1);
      if (len == 0) continue;
      auto& parts = out[subscribers[static_cast<size_t>(i)]][topic];
      for (int64_t p = start; p < start + len; ++p) parts.push_back(static_cast<int32_t>(p));
    }
  }
  return out;
}

GroupAssignment assign_roundrobin(const Subscriptions& members, const PartitionCounts& partitions) {
  GroupAssignment out = empty_for(members);
  if (members.empty()) return out;
  std::map<std::string, std::set<std::string>> subscribed;  // member -> topics
  std::set<std::string> all_topics;
  for (const auto& [member, topics] : members) {
    subscribed[member].insert(topics.begin(), topics.end());
    all_topics.insert(topics.begin(), topics.end());
  }
  std::vector<std::string> order;
  for (const auto& [member, topics] : members) order.push_back(member);
  size_t next = 0;  // the circular iterator over members
  for (const auto& topic : all_topics) {
    auto count = partitions.find(topic);
    if (count == partitions.end()) continue;
    for (int32_t p = 0; p < count->second; ++p) {
      // Some member is subscribed to `topic` (it came from a subscription), so this ends.
      while (subscribed[order[next]].count(topic) == 0) next = (next + 1) % order.size();
      out[order[next]][topic].push_back(p);
      next = (next + 1) % order.size();
    }
  }
  return out;
}

bool is_known_assignor(std::string_view name) { return name == "range" || name == "roundrobin"; }

GroupAssignment assign(std::string_view name, const Subscriptions& members,
                       const PartitionCounts& partitions) {
  if (name == "roundrobin") return assign_roundrobin(members, partitions);
  return assign_range(members, partitions);
}

}  // namespace ferry::client
