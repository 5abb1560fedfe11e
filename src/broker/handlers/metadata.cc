// Metadata (key 3): this broker as the whole cluster, leader of every partition.
//
// Which topics: v0 with an empty list and v1+ with a null list mean all topics; v1+ with an
// empty list means none. A requested topic that does not exist is auto-created when the
// broker allows it and (v4+) the request does, and answered LEADER_NOT_AVAILABLE until its
// creation commits, as Kafka does; otherwise UNKNOWN_TOPIC_OR_PARTITION.
#include "protocol/messages/metadata.h"

#include "broker/api_table.h"
#include "broker/broker.h"

namespace ferry::broker {
namespace {

protocol::MetadataResponse::Topic describe(const Broker& b, const Topic& t) {
  protocol::MetadataResponse::Topic out;
  out.name = t.record.name;
  const int32_t node = b.config().node_id;
  for (size_t p = 0; p < t.partitions.size(); ++p) {
    protocol::MetadataResponse::Topic::Partition part;
    part.partition_index = static_cast<int32_t>(p);
    part.leader_id = node;
    part.leader_epoch = t.partitions[p] ? t.partitions[p]->leader_epoch().value() : 0;
    part.replica_nodes = {node};
    part.isr_nodes = {node};
    out.partitions.push_back(std::move(part));
  }
  return out;
}

}  // namespace

void handle_metadata(Broker& b, Request&& r) {
  protocol::MetadataRequest req;
  if (!decode_body(r, req)) return;
  protocol::MetadataResponse resp;
  const auto& adv = b.advertised_for(*r.session);
  resp.brokers.push_back({b.config().node_id, adv.host, adv.port, std::nullopt});
  resp.cluster_id = b.cluster_id();
  resp.controller_id = b.config().node_id;

  const bool all = !req.topics || (r.version() == 0 && req.topics->empty());
  if (all) {
    for (const auto& [name, t] : b.topics().topics()) {
      if (!t.deleting) resp.topics.push_back(describe(b, t));
    }
  } else {
    const bool may_create = r.version() < 4 || req.allow_auto_topic_creation;
    for (const auto& rt : *req.topics) {
      const Topic* t = b.topics().find(rt.name);
      if (t != nullptr) {
        resp.topics.push_back(describe(b, *t));
        continue;
      }
      protocol::MetadataResponse::Topic missing;
      missing.name = rt.name;
      if (auto e = validate_topic_name(rt.name); !e.ok()) {
        missing.error_code = e.wire();
      } else if (b.topics().pending(rt.name) || (may_create && b.topics().auto_create(rt.name))) {
        missing.error_code = static_cast<int16_t>(ErrorCode::leader_not_available);
      } else {
        missing.error_code = static_cast<int16_t>(ErrorCode::unknown_topic_or_partition);
      }
      resp.topics.push_back(std::move(missing));
    }
  }
  respond(r, resp);
}

}  // namespace ferry::broker
