// The records of the metadata log (the `__cluster_metadata` Raft group over every node): one
// topic change per record batch (uncompressed, one record). The record's key names the command;
// its value is the command, big-endian, versioned:
//   value := version:i8 (1) body
//   create_topic       := name:string topic_id:string partitions:i32 created_ms:i64
//                         configs:(count:i32 {key:string value:string}) assignment
//   delete_topic       := name:string
//   create_partitions  := name:string total:i32 assignment (the partitions added, in order)
//   alter_configs      := name:string replace_all:i8 set:(count:i32 {key value})
//                         remove:(count:i32 {key:string})
//   commit_offsets     := group:string count:i32 {topic:string partition:i32 offset:i64
//                         leader_epoch:i32 metadata:string commit_ms:i64}
//   delete_offsets     := group:string count:i32 {topic:string partition:i32}
//   delete_group       := group:string (its offsets and its stored membership)
//   group_state        := group:string snapshot:bytes (i32-length-prefixed; the group's
//                         membership, encoded as broker/groups/group_snapshot.h describes)
//   cluster_id         := id:string (the first one applied is the cluster's id for good)
//   assignment         := count:i32 {replicas:(count:i32 {node:i32})}
// Strings are i16-length-prefixed (Kafka's STRING). Every node applies committed records in
// offset order to its meta.db (apply is idempotent, so a record replayed after a crash between
// the change and the applied-offset commit is harmless).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "broker/groups/group_snapshot.h"
#include "cluster/raft_state_store.h"
#include "common/result.h"
#include "meta/store.h"

namespace ferry::cluster {

struct CreateTopicCommand {
  meta::TopicRecord record;
  Assignment assignment;
};
struct DeleteTopicCommand {
  std::string name;
};
struct CreatePartitionsCommand {
  std::string name;
  int32_t total = 0;
  Assignment added;
};
struct AlterConfigsCommand {
  std::string name;
  bool replace_all = false;
  std::map<std::string, std::string> set;
  std::vector<std::string> remove;
};
// Consumer groups (the controller coordinates them; see broker/groups/group_quorum.h).
struct CommitOffsetsCommand {
  std::string group;
  std::vector<meta::OffsetCommit> offsets;
};
struct DeleteOffsetsCommand {
  std::string group;
  std::vector<std::pair<std::string, PartitionId>> partitions;
};
struct DeleteGroupCommand {
  std::string group;
};
struct GroupStateCommand {
  std::string group;
  broker::GroupSnapshot snapshot;
};
struct ClusterIdCommand {
  std::string cluster_id;
};
using MetadataCommand =
    std::variant<CreateTopicCommand, DeleteTopicCommand, CreatePartitionsCommand,
                 AlterConfigsCommand, CommitOffsetsCommand, DeleteOffsetsCommand,
                 DeleteGroupCommand, ClusterIdCommand, GroupStateCommand>;

// The record batch holding `command` (base offset 0, no producer), timestamped `now_ms`.
Result<std::vector<std::byte>> encode_command_batch(const MetadataCommand& command, int64_t now_ms);
// Decodes the commands of one stored batch (a record-less batch, such as an epoch start, has
// none). Unknown command keys fail with unsupported (a newer ferry wrote them).
Result<std::vector<MetadataCommand>> decode_command_batch(std::span<const std::byte> batch);

}  // namespace ferry::cluster
