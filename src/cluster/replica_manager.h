// The replica manager: runs the Raft group (raft_core.h) of every replicated log this node holds
// — its partitions' and the metadata log's — over the partition logs, the metadata store and the
// connections to the other nodes (peer_transport.h).
//
// What it does, all on the broker's loop:
// - One timer for all groups (every heartbeat.interval.ms): ticks every core, sends the votes
//   the cores produced — one frame per destination node for all groups — and starts fetches.
// - HardState (epoch, vote) of every group that changed is saved in one meta.db transaction;
//   the messages that depend on it leave only once it committed.
// - Followers: one fetch in flight per leader node carries every group followed there (the
//   follower's heartbeat). The answer's batches are written with write jobs (thread pool),
//   fsynced (group commit), producer state recorded; then the next fetch goes, so the durable
//   offset the leader counts is always current. A diverging tail is truncated.
// - Leaders: answer fetches from the log (at most kMaxPartitionFetchBytes per group), hold a
//   fetch without data for its max wait and answer it as soon as one of its groups gets data;
//   every leader write is fsynced at once (group commit), since the high watermark counts only
//   durable offsets. The high watermark goes into the broker::Partition (waking consumers and
//   acks=all produces); leadership, epoch and ISR too (Metadata, NOT_LEADER_OR_FOLLOWER).
// - A new leader writes its epoch-start batch before anything else of its epoch.
// - Leadership is told to every other node (on change, and all of it every few seconds), so any
//   node's Metadata names every partition's leader; preferred replicas get leadership back once
//   in sync (TimeoutNow).
//
// Ownership: the Node owns it; it outlives the groups' partitions only through shared_ptrs.
// Threading: loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/partition.h"
#include "cluster/peer_transport.h"
#include "cluster/raft_core.h"
#include "common/clock.h"
#include "common/uv_timer.h"
#include "meta/store.h"

namespace ferry::cluster {

class PartitionLogView;

struct ReplicaManagerOptions {
  uv_loop_t* loop = nullptr;
  NodeId self = kNoNode;
  std::vector<NodeId> nodes;  // every node of the cluster, self included
  int64_t election_timeout_ms = 1000;
  int64_t heartbeat_interval_ms = 200;
  int64_t replica_lag_time_max_ms = 10000;
  const Clock* clock = &Clock::system();
  meta::MetaStore* meta = nullptr;
  PeerTransport* transport = nullptr;
  // Called for every batch a follower copied, once it is in the log (producer state).
  std::function<void(broker::Partition&, std::span<const std::byte> batch, Offset base)>
      on_replicated;
  // Called when a local group's role, leader, epoch or high watermark changed.
  std::function<void(const GroupId&)> on_change;
};

class ReplicaManager {
 public:
  static constexpr size_t kMaxPartitionFetchBytes = 1u << 20;
  static constexpr size_t kMaxFetchBytes = 8u << 20;
  static constexpr int64_t kLeaderBroadcastMs = 3000;
  static constexpr int64_t kPreferredCheckMs = 5000;

  explicit ReplicaManager(ReplicaManagerOptions options);
  ~ReplicaManager();
  ReplicaManager(const ReplicaManager&) = delete;
  ReplicaManager& operator=(const ReplicaManager&) = delete;

  // Joins the Raft group of a local replica (its HardState read from meta.db). `voters`: the
  // partition's replicas, preferred leader first, this node among them. The partition must use
  // Commit::by_replication; it is set to follower of no one until an election.
  Status add_group(const GroupId& group, std::shared_ptr<broker::Partition> partition,
                   std::vector<NodeId> voters);
  // Leaves a group (topic deleted): its fetches stop, waits fail.
  void remove_group(const GroupId& group);
  bool has_group(const GroupId& group) const { return groups_.count(group) != 0; }

  void start();
  // Stops the timer; parked fetches are answered, later input is ignored.
  void stop();

  // From the transport (loop thread).
  void on_votes(NodeId from, VoteFrame frame);
  void on_fetch(NodeId from, FetchRequest request, std::function<void(FetchResponse)> reply);
  void on_leaders(NodeId from, std::vector<LeaderInfo> leaders);

  // Who leads `group` as far as this node knows (its own group's view, or what the leader told).
  std::optional<LeaderInfo> leader_of(const GroupId& group) const;

  struct GroupStatus {
    GroupId group;
    Role role = Role::follower;
    LeaderEpoch epoch{0};
    NodeId leader = kNoNode;
    Offset high_watermark{0};
    Offset log_end{0};
    std::vector<NodeId> voters;
    std::vector<ReplicaProgress> progress;  // leader only
    int64_t leader_since_ms = -1;           // leader only: when this node's epoch began
  };
  std::vector<GroupStatus> status() const;
  // Leader: hands the group to `to` (ferry cluster commands, tests).
  void transfer_leadership(const GroupId& group, NodeId to);

  NodeId self() const noexcept { return options_.self; }
  const std::vector<NodeId>& nodes() const noexcept { return options_.nodes; }
  // Epochs this node started as leader of one of its groups (elections it won), since start.
  uint64_t leader_elections() const noexcept { return leader_elections_; }

 private:
  struct Group;
  struct ParkedFetch;
  struct PendingResponse;

  void tick();
  void process(Group& g);
  void write_epoch_start(Group& g);
  void sync_partition(Group& g);
  void queue_messages(Group& g, std::vector<std::pair<NodeId, RaftMessage>> messages);
  void flush_outbox();
  void persist();
  void on_local_write(Group& g);
  void maybe_fetch(NodeId leader);
  void maybe_fetch_all();
  void on_fetch_response(NodeId leader, Result<FetchResponse> response);
  void leader_unreachable(NodeId leader);
  void apply_part(const std::shared_ptr<PendingResponse>& pending, Group& g, GroupAnswer& part);
  void part_done(const std::shared_ptr<PendingResponse>& pending);
  FetchResponse answer(NodeId from, const FetchRequest& request, bool* any_data);
  void wake_parked(const GroupId& group);
  void broadcast_leaders(bool everything);
  void check_preferred();
  int64_t now() const { return options_.clock->now_ms(); }
  Group* find(const GroupId& group);

  ReplicaManagerOptions options_;
  std::map<GroupId, std::unique_ptr<Group>> groups_;
  std::map<GroupId, LeaderInfo> remote_leaders_;
  std::map<NodeId, VoteFrame> outbox_;
  // HardStates waiting for the next meta.db commit, and whether one is in flight.
  std::vector<std::pair<GroupId, HardState>> to_persist_;
  bool persisting_ = false;
  uint64_t persist_seq_ = 0;  // the number of the next commit
  std::map<NodeId, bool> fetch_in_flight_;
  std::vector<std::unique_ptr<ParkedFetch>> parked_;
  std::vector<LeaderInfo> leader_updates_;
  UvTimer tick_timer_;
  int64_t last_broadcast_ms_ = 0;
  int64_t last_preferred_ms_ = 0;
  uint64_t leader_elections_ = 0;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ferry::cluster
