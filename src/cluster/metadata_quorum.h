// The metadata quorum: the cluster's topics, partition assignments and topic configs, kept in
// the metadata log — a Raft group (`__cluster_metadata`, 0) over every node, run by the replica
// manager like any partition — and applied by every node, in offset order, to its meta.db and
// its TopicManager. The controller is that group's leader: it takes topic changes
// (TopicQuorum's proposals: validated by the TopicManager, replicas placed here) and answers
// once the change is committed and applied on it. Other nodes forward the changes they receive
// to the controller (as Kafka does since KIP-590) and answer once the change is applied on
// them too; while no controller is known they wait for one (up to kProposalTimeoutMs).
//
// Placement: partition p of a topic with replication factor rf on n nodes (sorted ids) gets
// nodes[(s + p + i) % n] for i in [0, rf), s a hash of the topic name: preferred leaders
// spread round-robin, as Kafka places them.
//
// Consumer groups (GroupQuorum): the controller coordinates every group once it has applied
// the metadata log up to its own epoch (until then COORDINATOR_LOAD_IN_PROGRESS); its offset
// commits and deletions, and each group's membership as of its last completed generation
// (group_state), are records here, answered once committed and applied on it, applied by
// every node to meta.db, so the next controller starts from them. They are never forwarded:
// a node that does not coordinate answers NOT_COORDINATOR and the client looks again.
//
// The metadata log lives in DATA/cluster/metadata (not a topic). Threading: loop thread only.
#pragma once

#include <uv.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/groups/group_coordinator.h"
#include "broker/groups/group_quorum.h"
#include "broker/topic_manager.h"
#include "broker/topic_quorum.h"
#include "cluster/metadata_records.h"
#include "cluster/peer_transport.h"
#include "cluster/replica_manager.h"
#include "common/uv_timer.h"
#include "config/broker_config.h"
#include "meta/store.h"

namespace ferry::cluster {

class MetadataQuorum final : public broker::TopicQuorum, public broker::GroupQuorum {
 public:
  using Done = broker::TopicQuorum::Done;
  static constexpr int64_t kProposalTimeoutMs = 30000;

  MetadataQuorum(uv_loop_t* loop, const config::BrokerConfig& config, std::vector<NodeId> nodes,
                 meta::MetaStore& meta, ReplicaManager& replicas, PeerTransport& transport);
  ~MetadataQuorum() override;

  // Opens the metadata log under `data_dir`/cluster and loads the assignments and the applied
  // offset from meta.db. Before TopicManager::load (which asks replicas()).
  // `own_cluster_id` (DATA/cluster.id) is proposed as the cluster's id when none is agreed yet;
  // `on_cluster_id` hears the agreed one (at open when known, else once applied).
  Status open(const std::string& data_dir, std::string own_cluster_id,
              std::function<void(const std::string&)> on_cluster_id);
  // Joins the metadata group and starts applying; coordinates `groups` while this node is the
  // controller. After TopicManager::load and GroupCoordinator::load.
  Status start(broker::TopicManager& topics, broker::GroupCoordinator& groups);

  // Stops the timers and closes the metadata log; `done` once it is closed. Proposals still
  // waiting fail with REQUEST_TIMED_OUT.
  void stop(std::function<void()> done);
  // From the replica manager: a group's state changed (the metadata group's high watermark).
  void on_group_change(const GroupId& group);
  // From the transport.
  void on_node_info(NodeInfo info);
  void on_auto_create(const std::string& topic);
  // A topic change forwarded by another node (this node should be the controller).
  void on_proposal(std::vector<std::byte> batch, std::function<void(ProposalAnswer)> reply);
  // This node's listeners, as told to the others.
  NodeInfo self_info() const;

  // TopicQuorum.
  size_t node_count() const override { return nodes_.size(); }
  NodeId controller() const override;
  std::vector<broker::BrokerEndpoint> brokers(std::string_view listener) const override;
  void propose_create(meta::TopicRecord record, int16_t replication_factor, Done done) override;
  void propose_delete(const std::string& name, Done done) override;
  void propose_partitions(const std::string& name, int32_t total, Done done) override;
  void propose_configs(const std::string& name, std::map<std::string, std::string> set,
                       std::vector<std::string> remove, bool replace_all, Done done) override;
  void request_auto_create(const std::string& name) override;
  bool caught_up() const override;
  std::vector<NodeId> replicas(const std::string& topic, int32_t partition) const override;
  broker::Partition::Replicas describe(const std::string& topic, int32_t partition,
                                       LeaderEpoch* epoch) const override;
  void opened(const std::shared_ptr<broker::Partition>& partition) override;
  void closing(const std::string& topic, int32_t partition) override;

  // GroupQuorum.
  broker::ErrorCode coordinator_state() const override;
  void commit_offsets(const std::string& group, std::vector<meta::OffsetCommit> rows,
                      broker::GroupQuorum::Done done) override;
  void delete_offsets(const std::string& group,
                      std::vector<std::pair<std::string, PartitionId>> partitions,
                      broker::GroupQuorum::Done done) override;
  void delete_group(const std::string& group, broker::GroupQuorum::Done done) override;
  void store_group(const std::string& group, broker::GroupSnapshot snapshot,
                   broker::GroupQuorum::Done done) override;

  Offset applied() const noexcept { return applied_; }
  const std::shared_ptr<broker::Partition>& log_partition() const { return partition_; }

 private:
  static constexpr uint64_t kRetryMs = 200;
  void propose(MetadataCommand command, Done done);
  // A group change: appended here when this node coordinates, never forwarded.
  void propose_group_change(MetadataCommand command, Done done);
  // Tells the group coordinator when this node starts or stops coordinating.
  void check_coordinator();
  void submit_batch(std::vector<std::byte> batch, int64_t deadline_ms, Done done);
  void append_local(std::vector<std::byte> batch,
                    std::function<void(broker::KafkaError, Offset)> done);
  void wait_applied(Offset end, Done done);
  void defer(uint64_t ms, std::function<void()> fn);
  void check_timeouts();
  void apply_committed();
  void apply_one(std::vector<MetadataCommand> commands, size_t i, Offset next);
  void applied_to(Offset next);
  // Applies a group change to meta.db; `cont` once committed there.
  void submit_group_mutations(std::vector<meta::Mutation> mutations,
                              std::function<void(broker::KafkaError)> cont);
  Assignment place(const std::string& topic, int32_t first, int32_t count, int16_t rf) const;

  uv_loop_t* loop_;
  const config::BrokerConfig& config_;
  std::vector<NodeId> nodes_;  // sorted
  meta::MetaStore& meta_;
  ReplicaManager& replicas_;
  PeerTransport& transport_;
  broker::TopicManager* topics_ = nullptr;
  std::shared_ptr<broker::Partition> partition_;
  std::map<std::string, Assignment> assignments_;
  std::map<NodeId, NodeInfo> node_info_;
  Offset applied_{0};
  LeaderEpoch applied_epoch_{-1};   // leader epoch of the last batch applied
  LeaderEpoch applying_epoch_{-1};  // ... of the batch being applied
  bool applying_ = false;
  broker::GroupCoordinator* groups_ = nullptr;
  bool coordinating_ = false;
  std::string own_cluster_id_;
  std::string cluster_id_;  // agreed ("" until the first cluster_id record is applied)
  bool proposing_cluster_id_ = false;
  mutable bool caught_up_ = false;  // latched by caught_up()
  std::function<void(const std::string&)> on_cluster_id_;
  struct Waiter {
    Offset end;
    Done done;
    int64_t deadline_ms;
  };
  std::deque<Waiter> waiters_;  // proposals committed, waiting to be applied here
  UvTimer timeout_timer_;
  std::vector<std::unique_ptr<UvTimer>> deferred_;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ferry::cluster
