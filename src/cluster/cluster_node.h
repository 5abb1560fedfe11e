// One node of a ferry cluster: the peer network (one connection per node pair), the replica
// manager and the metadata quorum, wired to each other and to the broker. app::Node builds it
// when the config has a [cluster] table.
//
// Start-up: open() before Broker::start (the topic manager opens only this node's replicas and
// sends topic changes to the quorum; the producer registry hands out node-prefixed ids), start()
// after it (the network listens and dials, the metadata group joins, the groups tick). Shutdown:
// close() first, before the broker drains: Raft stops, links close.
//
// Threading: the broker's loop only.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>

#include "broker/broker.h"
#include "cluster/cluster_status.h"
#include "cluster/metadata_quorum.h"
#include "cluster/peer_network.h"
#include "cluster/peer_transport.h"
#include "cluster/replica_manager.h"
#include "common/uv_timer.h"
#include "config/broker_config.h"
#include "meta/store.h"

namespace ferry::cluster {

class ClusterNode final : private PeerTransport {
 public:
  static constexpr uint64_t kNodeInfoIntervalMs = 2000;

  // `config.cluster` must be set. `meta` outlives this.
  ClusterNode(uv_loop_t* loop, const config::BrokerConfig& config, meta::MetaStore& meta,
              const Clock& clock);
  ~ClusterNode() override;
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  Status open(broker::Broker& broker);
  Status start();
  void close(std::function<void()> done);

  ReplicaManager& replicas() noexcept { return *replicas_; }
  MetadataQuorum& quorum() noexcept { return *quorum_; }
  PeerNetwork& network() noexcept { return *network_; }
  // This node's view of the cluster (cluster_status.h): links, controller, every partition's
  // leadership and, for the partitions led here, the followers' lag. Read-only; after open().
  NodeView status() const;

 private:
  // PeerTransport.
  void send_votes(NodeId to, VoteFrame frame) override;
  void send_leaders(NodeId to, std::vector<LeaderInfo> leaders) override;
  void send_node_info(NodeId to, NodeInfo info) override;
  void send_auto_create(NodeId to, std::string topic) override;
  void send_proposal(NodeId to, std::vector<std::byte> batch,
                     std::function<void(Result<ProposalAnswer>)> done) override;
  void fetch(NodeId to, FetchRequest request,
             std::function<void(Result<FetchResponse>)> done) override;
  bool connected(NodeId to) const override;

  void tell_node_info();

  uv_loop_t* loop_;
  const config::BrokerConfig& config_;
  meta::MetaStore& meta_;
  const Clock& clock_;
  broker::Broker* broker_ = nullptr;
  std::vector<NodeId> nodes_;
  std::unique_ptr<PeerNetwork> network_;
  std::unique_ptr<ReplicaManager> replicas_;
  std::unique_ptr<MetadataQuorum> quorum_;
  UvTimer info_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ferry::cluster
