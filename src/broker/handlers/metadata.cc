// Metadata (key 3): a single node as the whole cluster, leader of every partition; a node of a
// cluster names every node, the controller, and each partition's leader, replicas and ISR.
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
  const TopicQuorum* quorum = const_cast<Broker&>(b).topics().quorum();
  const auto ids = [](const std::vector<NodeId>& nodes) {
    std::vector<int32_t> v;
    for (NodeId n : nodes) v.push_back(n.value());
    return v;
  };
  for (size_t p = 0; p < t.partitions.size(); ++p) {
    protocol::MetadataResponse::Topic::Partition part;
    part.partition_index = static_cast<int32_t>(p);
    LeaderEpoch epoch = t.partitions[p] ? t.partitions[p]->leader_epoch() : LeaderEpoch(0);
    const Partition::Replicas r =
        quorum != nullptr ? quorum->describe(t.record.name, static_cast<int32_t>(p), &epoch)
                          : t.partitions[p]->replicas();
    part.leader_id = r.leader.value();
    part.leader_epoch = epoch.value();
    part.replica_nodes = ids(r.replicas);
    part.isr_nodes = ids(r.isr);
    part.offline_replicas = ids(r.offline);
    // Kafka answers LEADER_NOT_AVAILABLE for a partition without a leader (an election runs).
    if (r.leader.value() < 0) {
      part.error_code = static_cast<int16_t>(ErrorCode::leader_not_available);
    }
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
  // A node of a cluster reports no id until the cluster's is agreed (Broker::cluster_id empty).
  if (!b.cluster_id().empty()) resp.cluster_id = b.cluster_id();
  const TopicQuorum* quorum = b.topics().quorum();
  if (quorum != nullptr) {
    const NodeId controller = quorum->controller();
    bool controller_listed = false;
    for (const auto& e : quorum->brokers(r.session->listener.name)) {
      resp.brokers.push_back({e.node.value(), e.host, e.port, std::nullopt});
      controller_listed = controller_listed || e.node == controller;
    }
    // While an election runs there is no controller, and just after start this node may not
    // know the controller's address yet: name this node then (as Kafka names some live broker).
    // Admin requests sent here are forwarded to the controller. A controller id missing from
    // the brokers makes librdkafka's admin client wait for it without asking again.
    resp.controller_id = controller_listed ? controller.value() : b.config().node_id;
  } else {
    resp.brokers.push_back({b.config().node_id, adv.host, adv.port, std::nullopt});
    resp.controller_id = b.config().node_id;
  }

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
      } else if (b.topics().pending(rt.name) || (quorum != nullptr && !quorum->caught_up()) ||
                 (may_create && b.topics().auto_create(rt.name))) {
        // Being created, or this node is still catching up with the cluster's metadata.
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
