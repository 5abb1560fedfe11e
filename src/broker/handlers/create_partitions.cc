// CreatePartitions (key 37): grows a topic to `count` partitions, all on this node.
#include <memory>

#include "broker/api_table.h"
#include "broker/broker.h"
#include "protocol/messages/topics.h"

namespace ferry::broker {
namespace {

struct PartitionsState {
  Request request;
  protocol::CreatePartitionsResponse response;
  size_t remaining = 0;
};

}  // namespace

void handle_create_partitions(Broker& b, Request&& r) {
  auto st = std::make_shared<PartitionsState>();
  st->request = std::move(r);
  protocol::CreatePartitionsRequest req;
  if (!decode_body(st->request, req)) return;
  st->remaining = req.topics.size();
  for (const auto& t : req.topics) st->response.results.push_back({t.name, 0, std::nullopt});
  if (st->remaining == 0) {
    respond(st->request, st->response);
    return;
  }
  const int32_t node = b.config().node_id;
  for (size_t i = 0; i < req.topics.size(); ++i) {
    const auto& t = req.topics[i];
    auto done = [st, i](const KafkaError& e) {
      st->response.results[i].error_code = e.wire();
      st->response.results[i].error_message = e.wire_message();
      if (--st->remaining == 0) respond(st->request, st->response);
    };
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
