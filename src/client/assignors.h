// Partition assignors of the "consumer" group protocol: what the group leader runs to split the
// subscribed topics' partitions among the members, as Kafka's Java client and librdkafka define
// them (same names, same results for the same input, so ferry members can share a group with
// theirs).
//
//   range       per topic: the members subscribed to it, sorted by member id, each get a
//               contiguous run of partitions; the first (partitions % members) get one more.
//   roundrobin  every partition of every subscribed topic, sorted by (topic, partition), dealt
//               in turn to the members sorted by member id, skipping members that are not
//               subscribed to the partition's topic.
//
// Members are ordered by member id (the Java client orders members with a group.instance.id
// by that id first; static membership is not used by ferry's consumer). Pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::client {

// member id -> the topics it subscribed to.
using Subscriptions = std::map<std::string, std::vector<std::string>>;
// topic -> number of partitions (topics missing here are not assigned).
using PartitionCounts = std::map<std::string, int32_t>;
// member id -> topic -> partitions (ascending). Every member of the input has an entry.
using GroupAssignment = std::map<std::string, std::map<std::string, std::vector<int32_t>>>;

GroupAssignment assign_range(const Subscriptions& members, const PartitionCounts& partitions);
GroupAssignment assign_roundrobin(const Subscriptions& members, const PartitionCounts& partitions);

// "range" or "roundrobin"; false for an unknown name.
bool is_known_assignor(std::string_view name);
// Runs the assignor called `name` (range when unknown).
GroupAssignment assign(std::string_view name, const Subscriptions& members,
                       const PartitionCounts& partitions);

}  // namespace ferry::client
