// What a node knows about its cluster, for the admin listener (/v1/status "cluster", /metrics)
// and `ferry cluster status`, which merges the views of several nodes.
//
// One node's view (NodeView): its links to the other nodes, which node it takes for the
// controller, and every partition (the metadata log first) with leader, leader epoch, replicas,
// ISR and offline replicas as this node knows them; the follower lag (records behind the
// leader's log end, time since the last fetch) only for the partitions it leads, since only
// the leader sees its followers' fetches.
//
// The merge (merge_views): per partition the view of the node that leads it (the newest epoch
// wins), else the newest epoch any node reported, with the node it came from; per node whether
// its admin listener answered and which nodes have their link to it up or down; the controller
// as the node leading the metadata log's newest epoch says.
//
// ClusterNode::status() builds a NodeView; the rest is pure. Field names are documented in
// docs/cli.md (the merged JSON) and docs/monitoring.md (the node's JSON).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/json_reader.h"
#include "common/result.h"

namespace ferry::cluster {

// A follower as the leader sees it.
struct ReplicaLag {
  int32_t replica = -1;
  int64_t fetch_offset = -1;       // its log end at its last fetch; -1: none in this epoch
  int64_t records_behind = -1;     // leader's log end - fetch_offset; -1: unknown
  int64_t last_fetch_ms_ago = -1;  // -1: no fetch in this epoch
  // Since it last reached the leader's log end; never in this epoch: since the epoch began.
  int64_t caught_up_ms_ago = -1;
  bool in_sync = false;
  bool operator==(const ReplicaLag&) const = default;
};

struct PartitionView {
  std::string topic;
  int32_t partition = 0;
  int32_t leader = -1;        // -1: none known
  int32_t leader_epoch = -1;  // -1: unknown
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> offline;  // the leader's view (out of sync and silent); else empty
  // This node's replica: leader, follower, candidate, pre_candidate; "" when it holds none.
  std::string role;
  int64_t high_watermark = -1;  // this node's replica; -1 without one
  int64_t log_end = -1;
  std::vector<ReplicaLag> lag;  // role leader: every other replica
  bool under_replicated() const { return !replicas.empty() && isr.size() < replicas.size(); }
  bool operator==(const PartitionView&) const = default;
};

// One other node as this node's link to it stands.
struct LinkView {
  int32_t node = -1;
  std::string address;  // its cluster listener, as configured in peers
  bool self = false;    // this node (no link)
  bool up = false;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t connects = 0;
  uint64_t reconnects = 0;
  uint64_t dial_failures = 0;
  uint64_t stalls = 0;
};

struct NodeView {
  int32_t node_id = -1;
  int32_t controller = -1;  // -1: none known
  int64_t now_ms = 0;
  uint64_t leader_elections = 0;          // epochs this node started as a leader
  std::vector<LinkView> nodes;            // every node of the cluster, this one included
  std::vector<PartitionView> partitions;  // the metadata log first
};

// The "cluster" member of /v1/status.
std::string render_node_view_json(const NodeView& v);
// Reads it back (`ferry cluster status`). Errors: Errc::invalid_argument naming the problem.
Result<NodeView> parse_node_view(const JsonValue& cluster);

// One admin address asked by `ferry cluster status`.
struct SourceResult {
  std::string admin;  // host:port as given
  Result<NodeView> view = Error(Errc::closed, "not asked");
};

struct MergedNode {
  int32_t id = -1;
  std::string address;
  std::string admin;  // the admin address that answered for it, "" if none did
  bool answered = false;
  std::vector<int32_t> link_up_from;    // nodes that report their link to it up
  std::vector<int32_t> link_down_from;  // ... down
  bool controller = false;
};

struct MergedPartition {
  PartitionView view;
  int32_t source = -1;  // the node whose view this is
};

struct MergedStatus {
  struct Source {
    std::string admin;
    int32_t node = -1;  // -1: no answer
    std::string error;  // why not
  };
  std::vector<Source> sources;
  int32_t controller = -1;
  int32_t controller_source = -1;
  std::vector<MergedNode> nodes;
  std::vector<MergedPartition> partitions;  // the metadata log first, then by topic, partition
  int64_t under_replicated = 0;             // partitions with ISR smaller than replicas
  int64_t leaderless = 0;                   // partitions with no leader known
};

MergedStatus merge_views(const std::vector<SourceResult>& sources);
// `ferry cluster status --json`.
std::string render_merged_json(const MergedStatus& m);
// The human form, for an 80-column terminal.
std::string render_merged_text(const MergedStatus& m);

}  // namespace ferry::cluster
