// Replication's rows in meta.db (schema version 8, docs/metadata.md): each replicated log's Raft
// HardState, the replicas of each partition, and how far the metadata log has been applied.
// Reads run on the caller's connection (the store's reader, loop thread); writes are mutations
// group-committed with everything else (meta::MetaStore::submit).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cluster/raft_codec.h"
#include "cluster/raft_core.h"
#include "common/result.h"
#include "meta/sqlite.h"
#include "meta/store.h"

namespace ferry::cluster {

// {0, kNoNode} for a group without a row.
Result<HardState> load_hard_state(meta::Db& db, const GroupId& group);
meta::Mutation save_hard_states(std::vector<std::pair<GroupId, HardState>> states);
meta::Mutation delete_group_state(std::string topic);

// Replicas per partition of every topic, preferred leader first.
using Assignment = std::vector<std::vector<NodeId>>;  // index = partition
Result<std::map<std::string, Assignment>> load_assignments(meta::Db& db);
// Sets the rows of `topic`'s partitions [first, first + assignment.size()).
meta::Mutation put_assignment(std::string topic, int32_t first, Assignment assignment);
meta::Mutation delete_assignment(std::string topic);

// The metadata-log offset below which everything is applied (0 when nothing is).
Result<Offset> load_applied(meta::Db& db);
meta::Mutation put_applied(Offset applied);

// The cluster id agreed through the metadata log ("" until one is applied). The first one
// written stays.
Result<std::string> load_cluster_identity(meta::Db& db);
meta::Mutation put_cluster_identity(std::string cluster_id);

// "1,2,3" <-> {1, 2, 3}; parse fails on anything else.
std::string format_nodes(const std::vector<NodeId>& nodes);
Result<std::vector<NodeId>> parse_nodes(const std::string& text);

}  // namespace ferry::cluster
