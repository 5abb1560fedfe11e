// CreateTopics (key 19). Each topic is validated and created independently; the response
// waits until every creation has committed (or failed).
#include <memory>
#include <set>

#include "broker/api_table.h"
#include "broker/broker.h"
#include "broker/handlers/fan_out.h"
#include "common/strong_types.h"
#include "protocol/messages/topics.h"

namespace ferry::broker {
namespace {

// Manual assignments are accepted when they describe what this node can do: every partition
// on this node alone, numbered 0..n-1.
KafkaError check_assignments(const protocol::CreateTopicsRequest::Topic& t, NodeId node,
                             int32_t& partitions) {
  if (t.num_partitions != -1 || t.replication_factor != -1) {
    return {ErrorCode::invalid_request,
            "Both numPartitions or replicationFactor and replicasAssignments were set."};
  }
  std::set<PartitionId> seen;
  for (const auto& a : t.assignments) {
    if (a.broker_ids != std::vector<int32_t>{node.value()}) {
      return {ErrorCode::invalid_replica_assignment,
              "Partition " + std::to_string(a.partition_index) +
                  " must be assigned to this broker (" + std::to_string(node.value()) + ") alone"};
    }
    seen.insert(PartitionId(a.partition_index));
  }
  const auto n = static_cast<int32_t>(t.assignments.size());
  if (static_cast<int32_t>(seen.size()) != n || *seen.begin() != PartitionId(0) ||
      *seen.rbegin() != PartitionId(n - 1)) {
    return {ErrorCode::invalid_replica_assignment,
            "Partitions must be numbered consecutively from 0"};
  }
  partitions = n;
  return {};
}

}  // namespace

void handle_create_topics(Broker& b, Request&& r) {
  using Response = protocol::CreateTopicsResponse;
  protocol::CreateTopicsRequest req;
  if (!decode_body(r, req)) return;
  std::map<std::string, int> counts;
  for (const auto& t : req.topics) ++counts[t.name];
  auto st = fan_out<Response>(std::move(r), req.topics.size(), [&](Response& resp) {
    for (const auto& t : req.topics) resp.topics.push_back({t.name, 0, std::nullopt});
  });
  if (!st) return;
  for (size_t i = 0; i < req.topics.size(); ++i) {
    const auto& t = req.topics[i];
    auto done = item_done(st, &Response::topics, i);
    if (counts[t.name] > 1) {
      done({ErrorCode::invalid_request, "Create topics request from client `" +
                                            std::string(st->request.client()) +
                                            "` contains multiple entries for the topic " + t.name});
      continue;
    }
    TopicManager::CreateSpec spec;
    spec.name = t.name;
    spec.partitions = t.num_partitions;
    spec.replication_factor = t.replication_factor;
    if (!t.assignments.empty()) {
      int32_t n = 0;
      if (auto e = check_assignments(t, NodeId(b.config().node_id), n); !e.ok()) {
        done(e);
        continue;
      }
      spec.partitions = n;
      spec.replication_factor = 1;
    }
    for (const auto& c : t.configs) {
      if (c.value) spec.configs[c.name] = *c.value;
    }
    b.topics().create(std::move(spec), req.validate_only, done);
  }
}

}  // namespace ferry::broker
