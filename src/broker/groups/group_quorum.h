// What the group coordinator asks of the cluster when it runs as one node of several (src/cluster's
// metadata quorum implements it). The controller coordinates every consumer group; committed
// offsets, offset deletions and group deletions are records of the metadata log, answered once
// committed on a majority and applied here, and applied by every node to its meta.db, so a new
// controller starts from every acknowledged commit. So is each group's membership as of its last
// completed generation (store_group, group_snapshot.h): members of a group whose coordinator
// moved find the new one (NOT_COORDINATOR) and carry on there with their generation and
// assignment, without a rebalance.
// A single node has none and writes to its metadata store directly.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "broker/groups/group_snapshot.h"
#include "broker/kafka_error.h"
#include "common/strong_types.h"
#include "meta/store.h"

namespace ferry::broker {

class GroupQuorum {
 public:
  using Done = std::function<void(KafkaError)>;
  virtual ~GroupQuorum() = default;

  // NONE while this node coordinates groups (the controller, with the metadata log applied up to
  // its own epoch); COORDINATOR_LOAD_IN_PROGRESS while a new controller catches up;
  // NOT_COORDINATOR otherwise.
  virtual ErrorCode coordinator_state() const = 0;

  // `done` fires once the change is committed and applied on this node, or with an error
  // (NOT_COORDINATOR when leadership moved first; the change may still take effect).
  virtual void commit_offsets(const std::string& group, std::vector<meta::OffsetCommit> rows,
                              Done done) = 0;
  virtual void delete_offsets(const std::string& group,
                              std::vector<std::pair<std::string, PartitionId>> partitions,
                              Done done) = 0;
  // Also deletes the group's stored membership.
  virtual void delete_group(const std::string& group, Done done) = 0;
  // Stores the group's membership (replacing the one stored before).
  virtual void store_group(const std::string& group, GroupSnapshot snapshot, Done done) = 0;
};

}  // namespace ferry::broker
