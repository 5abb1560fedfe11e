// The [cluster] table of ferry.toml: the nodes of a replicated cluster and the timing of its
// Raft groups (docs/replication.md). Keys, defaults and ranges come from the key table (keys.cc,
// section `cluster`); this file holds the parsed form and the checks across keys. A file
// without [cluster] runs a single node, as before the table existed.
//
// Pure and thread-safe; used once at start-up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/strong_types.h"

namespace ferry::config {

struct KeySpec;
struct BrokerConfig;

// One entry of `peers`: a node and the address of its internal listener as the others dial it.
struct ClusterPeer {
  NodeId id{-1};
  std::string host;  // without brackets, e.g. "::1"; never a wildcard address
  uint16_t port = 0;
  // "host:port", IPv6 literals bracketed.
  std::string address() const;
  bool operator==(const ClusterPeer&) const = default;
};

struct ClusterConfig {
  std::vector<ClusterPeer> peers;  // peers, in the order written; ids and addresses unique
  // listen: where this node's internal listener binds (default: its own entry in peers).
  std::string listen_host;
  uint16_t listen_port = 0;
  int32_t election_timeout_ms = 1000;       // election.timeout.ms
  int32_t heartbeat_interval_ms = 200;      // heartbeat.interval.ms
  int64_t replica_lag_time_max_ms = 10000;  // replica.lag.time.max.ms
  uint32_t line = 0;                        // where [cluster] starts in the file

  // The entry of node `id`, or null.
  const ClusterPeer* peer(NodeId id) const;

  bool operator==(const ClusterConfig& o) const {
    // `line` is where it was written, not what it says.
    return peers == o.peers && listen_host == o.listen_host && listen_port == o.listen_port &&
           election_timeout_ms == o.election_timeout_ms &&
           heartbeat_interval_ms == o.heartbeat_interval_ms &&
           replica_lag_time_max_ms == o.replica_lag_time_max_ms;
  }
};

// Parses one `peers` item, "id@host:port" (id a non-negative int32, host not a wildcard, port
// 1..65535). Errors are Errc::invalid_argument naming the problem.
Result<ClusterPeer> parse_cluster_peer(std::string_view text);

// Stores a checked value (wire text; `peers` items separated by ',') of a [cluster] key. A
// malformed `peers` item is skipped here; cluster_problems() reports it.
void assign_cluster_field(const KeySpec& key, std::string_view text, ClusterConfig& out);

// The checks across keys, once the whole file is read (`broker` gives node.id and the Kafka
// listeners): every peers item well formed, ids and addresses unique, at least one peer,
// node.id among them, listen on this node's port and on no Kafka listener's address, the
// heartbeat below half the election timeout. `peers_text` is the value as written. Each
// problem as (key, message).
std::vector<std::pair<std::string, std::string>> cluster_problems(const ClusterConfig& cluster,
                                                                  std::string_view peers_text,
                                                                  bool listen_set,
                                                                  const BrokerConfig& broker);

}  // namespace ferry::config
