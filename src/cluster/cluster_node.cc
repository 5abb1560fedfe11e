// One node of a ferry cluster. See cluster_node.h.
#include "cluster/cluster_node.h"

#include <algorithm>
#include <map>
#include <utility>

#include "broker/produce_idempotence.h"
#include "cluster/cluster_codec.h"
#include "cluster/raft_codec.h"
#include "common/log.h"
#include "protocol/record_batch.h"

namespace ferry::cluster {

ClusterNode::ClusterNode(uv_loop_t* loop, const config::BrokerConfig& config, meta::MetaStore& meta,
                         const Clock& clock)
    : loop_(loop), config_(config), meta_(meta), clock_(clock), info_timer_(loop) {
  const config::ClusterConfig& c = *config.cluster;
  for (const auto& p : c.peers) nodes_.push_back(p.id);
  const NodeId self(config.node_id);
  network_ = std::make_unique<PeerNetwork>(loop, c, self);
  ReplicaManagerOptions o;
  o.loop = loop;
  o.self = self;
  o.nodes = nodes_;
  o.election_timeout_ms = c.election_timeout_ms;
  o.heartbeat_interval_ms = c.heartbeat_interval_ms;
  o.replica_lag_time_max_ms = c.replica_lag_time_max_ms;
  o.clock = &clock;
  o.meta = &meta;
  PeerTransport& transport = *this;
  o.transport = &transport;
  o.on_replicated = [this, &clock](broker::Partition& p, std::span<const std::byte> batch, Offset) {
    if (broker_ == nullptr || p.topic() == kMetadataTopic) return;
    broker::record_replicated(broker_->producers(), p, protocol::BatchView(batch), clock.now_ms());
  };
  o.on_change = [this](const GroupId& g) {
    if (quorum_) quorum_->on_group_change(g);
  };
  replicas_ = std::make_unique<ReplicaManager>(std::move(o));
  quorum_ = std::make_unique<MetadataQuorum>(loop, config, nodes_, meta, *replicas_, transport);
}

ClusterNode::~ClusterNode() { *alive_ = false; }

Status ClusterNode::open(broker::Broker& broker) {
  broker_ = &broker;
  FERRY_TRY(quorum_->open(config_.data_dir, broker.cluster_id(),
                          [this](const std::string& id) { broker_->set_cluster_id(id); }));
  broker.set_quorum(quorum_.get());
  return {};
}

Status ClusterNode::start() {
  network_->on_request(MessageType::raft_votes,
                       [this](NodeId from, Buffer payload, Responder responder) {
                         auto frame = decode_vote_frame(payload);
                         responder.respond(encode_vote_frame(VoteFrame{}));
                         if (!frame) {
                           FERRY_LOG(warn, "cluster", "node %d sent a malformed vote frame: %s",
                                     from.value(), frame.error().to_string().c_str());
                           return;
                         }
                         replicas_->on_votes(from, std::move(*frame));
                       });
  network_->on_request(
      MessageType::raft_fetch, [this](NodeId from, Buffer payload, Responder responder) {
        auto request = decode_fetch_request(payload);
        if (!request) {
          responder.fail("malformed fetch: " + request.error().message());
          return;
        }
        auto r = std::make_shared<Responder>(std::move(responder));
        replicas_->on_fetch(from, std::move(*request), [r](FetchResponse response) {
          r->respond(encode_fetch_response(response));
        });
      });
  network_->on_request(MessageType::leaders,
                       [this](NodeId from, Buffer payload, Responder responder) {
                         responder.respond(Buffer{});
                         auto leaders = decode_leaders(payload);
                         if (leaders) replicas_->on_leaders(from, std::move(*leaders));
                       });
  network_->on_request(MessageType::node_info, [this](NodeId, Buffer payload, Responder responder) {
    responder.respond(Buffer{});
    auto info = decode_node_info(payload);
    if (info) quorum_->on_node_info(std::move(*info));
  });
  network_->on_request(MessageType::auto_create,
                       [this](NodeId, Buffer payload, Responder responder) {
                         responder.respond(Buffer{});
                         auto topic = decode_auto_create(payload);
                         if (topic) quorum_->on_auto_create(*topic);
                       });
  network_->on_request(MessageType::proposal, [this](NodeId, Buffer payload, Responder responder) {
    auto batch = decode_proposal(payload);
    if (!batch) {
      responder.fail("malformed proposal: " + batch.error().message());
      return;
    }
    auto r = std::make_shared<Responder>(std::move(responder));
    quorum_->on_proposal(std::move(*batch),
                         [r](ProposalAnswer a) { r->respond(encode_proposal_answer(a)); });
  });
  FERRY_TRY(network_->start());
  FERRY_TRY(quorum_->start(broker_->topics(), broker_->groups()));
  replicas_->start();
  tell_node_info();
  return {};
}

// Tells every connected peer this node's Kafka listeners, every kNodeInfoIntervalMs (a peer
// that restarted learns them within that; a few dozen bytes per peer).
void ClusterNode::tell_node_info() {
  for (NodeId n : nodes_) {
    if (n != NodeId(config_.node_id) && network_->connected(n)) {
      send_node_info(n, quorum_->self_info());
    }
  }
  info_timer_.start(kNodeInfoIntervalMs, [this] { tell_node_info(); });
}

void ClusterNode::close(std::function<void()> done) {
  info_timer_.stop();
  replicas_->stop();
  network_->close([this, done = std::move(done)]() mutable { quorum_->stop(std::move(done)); });
}

void ClusterNode::send_votes(NodeId to, VoteFrame frame) {
  network_->request(to, MessageType::raft_votes, encode_vote_frame(frame), [](Result<Buffer>) {});
}

void ClusterNode::send_leaders(NodeId to, std::vector<LeaderInfo> leaders) {
  network_->request(to, MessageType::leaders, encode_leaders(leaders), [](Result<Buffer>) {});
}

void ClusterNode::send_node_info(NodeId to, NodeInfo info) {
  network_->request(to, MessageType::node_info, encode_node_info(info), [](Result<Buffer>) {});
}

void ClusterNode::send_auto_create(NodeId to, std::string topic) {
  network_->request(to, MessageType::auto_create, encode_auto_create(topic), [](Result<Buffer>) {});
}

void ClusterNode::send_proposal(NodeId to, std::vector<std::byte> batch,
                                std::function<void(Result<ProposalAnswer>)> done) {
  network_->request(to, MessageType::proposal, encode_proposal(batch),
                    [done = std::move(done)](Result<Buffer> r) {
                      if (!r) {
                        done(std::move(r).error());
                        return;
                      }
                      done(decode_proposal_answer(*r));
                    });
}

void ClusterNode::fetch(NodeId to, FetchRequest request,
                        std::function<void(Result<FetchResponse>)> done) {
  network_->request(to, MessageType::raft_fetch, encode_fetch_request(request),
                    [done = std::move(done)](Result<Buffer> r) {
                      if (!r) {
                        done(std::move(r).error());
                        return;
                      }
                      done(decode_fetch_response(*r));
                    });
}

namespace {

const char* role_name(Role r) {
  switch (r) {
    case Role::leader: return "leader";
    case Role::follower: return "follower";
    case Role::candidate: return "candidate";
    case Role::pre_candidate: return "pre_candidate";
  }
  return "";
}

std::vector<int32_t> id_values(const std::vector<NodeId>& v) {
  std::vector<int32_t> out;
  out.reserve(v.size());
  for (NodeId n : v) out.push_back(n.value());
  return out;
}

}  // namespace

NodeView ClusterNode::status() const {
  NodeView v;
  const int64_t now = clock_.now_ms();
  v.node_id = config_.node_id;
  v.controller = quorum_->controller().value();
  v.now_ms = now;
  v.leader_elections = replicas_->leader_elections();
  for (const auto& p : config_.cluster->peers) {
    LinkView l;
    l.node = p.id.value();
    l.address = p.address();
    if (p.id == NodeId(config_.node_id)) {
      l.self = true;
    } else {
      l.up = network_->connected(p.id);
      const PeerCounters c = network_->counters(p.id);
      l.bytes_sent = c.bytes_sent;
      l.bytes_received = c.bytes_received;
      l.connects = c.connects;
      l.reconnects = c.reconnects;
      l.dial_failures = c.dial_failures;
      l.stalls = c.stalls;
    }
    v.nodes.push_back(std::move(l));
  }
  std::map<GroupId, ReplicaManager::GroupStatus> local;
  for (auto& g : replicas_->status()) {
    GroupId id = g.group;
    local.emplace(std::move(id), std::move(g));
  }
  const int64_t silent_ms = config_.cluster->election_timeout_ms;
  auto row = [&](const std::string& topic, int32_t partition, const broker::Partition::Replicas& r,
                 LeaderEpoch epoch) {
    PartitionView p;
    p.topic = topic;
    p.partition = partition;
    p.leader = r.leader.value();
    p.leader_epoch = epoch.value();
    p.replicas = id_values(r.replicas);
    p.isr = id_values(r.isr);
    auto it = local.find(GroupId{topic, PartitionId(partition)});
    if (it != local.end()) {
      const ReplicaManager::GroupStatus& g = it->second;
      p.role = role_name(g.role);
      p.high_watermark = g.high_watermark.value();
      p.log_end = g.log_end.value();
      if (g.role == Role::leader) {
        // The leader's own word, fresh: ISR and offline as sync_partition computes them.
        p.leader = config_.node_id;
        p.leader_epoch = g.epoch.value();
        p.replicas = id_values(g.voters);
        p.isr.clear();
        for (const ReplicaProgress& rp : g.progress) {
          if (rp.in_sync) p.isr.push_back(rp.node.value());
          if (rp.node == NodeId(config_.node_id)) continue;
          ReplicaLag l;
          l.replica = rp.node.value();
          l.in_sync = rp.in_sync;
          if (rp.last_fetch_ms >= 0) {
            l.fetch_offset = rp.fetch_offset.value();
            l.records_behind = std::max<int64_t>(0, p.log_end - l.fetch_offset);
            l.last_fetch_ms_ago = std::max<int64_t>(0, now - rp.last_fetch_ms);
          }
          const int64_t since =
              rp.last_caught_up_ms >= 0 ? rp.last_caught_up_ms : g.leader_since_ms;
          if (since >= 0) l.caught_up_ms_ago = std::max<int64_t>(0, now - since);
          if (!rp.in_sync && (rp.last_fetch_ms < 0 || now - rp.last_fetch_ms > silent_ms)) {
            p.offline.push_back(l.replica);
          }
          p.lag.push_back(l);
        }
      }
    }
    v.partitions.push_back(std::move(p));
  };
  // The metadata log first.
  {
    const GroupId mg = metadata_group();
    broker::Partition::Replicas r;
    LeaderEpoch epoch{-1};
    if (auto info = replicas_->leader_of(mg)) {
      r.leader = info->leader;
      r.isr = info->isr;
      epoch = info->epoch;
    }
    r.replicas = nodes_;
    row(mg.topic, mg.partition.value(), r, epoch);
  }
  if (broker_ != nullptr) {
    for (const auto& [name, topic] : broker_->topics().topics()) {
      if (topic.deleting) continue;
      for (int32_t i = 0; i < topic.record.partitions; ++i) {
        LeaderEpoch epoch{-1};
        broker::Partition::Replicas r = quorum_->describe(name, i, &epoch);
        row(name, i, r, epoch);
      }
    }
  }
  return v;
}

bool ClusterNode::connected(NodeId to) const { return network_->connected(to); }

}  // namespace ferry::cluster
