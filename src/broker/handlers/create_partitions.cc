// CreatePartitions (key 37): grows a topic to `count` partitions, all on this node.
#include <memory>

#include "broker/api_table.h"
#include "broker/broker.h"
#include "broker/handlers/fan_out.h"
#include "protocol/messages/topics.h"

namespace ferry::broker {

void handle_create_partitions(Broker& b, Request&& r) {
  using Response = protocol::CreatePartitionsResponse;
  protocol::CreatePartitionsRequest req;
  if (!decode_body(r, req)) return;
  auto st = fan_out<Response>(std::move(r), req.topics.size(), [&](Response& resp) {
    for (const auto& t : req.topics) resp.results.push_back({t.name, 0, std::nullopt});
  });
  if (!st) return;
  const int32_t node = b.config().node_id;
  for (size_t i = 0; i < req.topics.size(); ++i) {
    const auto& t = req.topics[i];
    auto done = item_done(st, &Response::results, i);
    bool bad_assignment = false;
    if (t.assignments) {
      for (const auto& a : *t.assignments) {
        if (a.broker_ids != std::vector<int32_t>{node}) bad_assignment = true;
      }
    }
    if (bad_assignment) {
      done({ErrorCode::invalid_replica_assignment,
            "New partitions must be assigned to this broker (" + std::to_string(node) + ") alone"});
      continue;
    }
    b.topics().add_partitions(t.name, t.count, req.validate_only, done);
  }
}

}  // namespace ferry::broker
