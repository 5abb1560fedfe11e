// A consumer group's membership as of its last completed generation, as the coordinator stores
// it in a cluster (a `group_state` record of the metadata log, applied by every node to the
// group_state table of meta.db) so that the next coordinator carries on without a rebalance.
//
// Encoding (big-endian, strings i16-length-prefixed, bytes i32-length-prefixed):
//   snapshot := version:i8 (1) generation:i32 protocol_type:string protocol:string
//               leader:string count:i32 {member}
//   member   := member_id:string instance_id:nullable string (-1 = none) client_id:string
//               client_host:string session_timeout_ms:i32 rebalance_timeout_ms:i32
//               metadata:bytes (for the selected protocol) assignment:bytes
// A group without members (it became Empty) has count 0 and keeps its generation.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "meta/store.h"
#include "protocol/schema.h"

namespace ferry::broker {

struct GroupSnapshot {
  int32_t generation = 0;
  std::string protocol_type;
  std::string protocol;  // selected; "" when the group is empty
  std::string leader;
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    protocol::Bytes metadata;  // for `protocol`
    protocol::Bytes assignment;
    bool operator==(const Member&) const = default;
  };
  std::vector<Member> members;
  bool operator==(const GroupSnapshot&) const = default;
};

std::vector<std::byte> encode_group_snapshot(const GroupSnapshot& s);
// Fails with corrupt on truncated or trailing bytes, unsupported on an unknown version.
Result<GroupSnapshot> decode_group_snapshot(std::span<const std::byte> in);

// meta.db's group_state table (schema version 10).
meta::Mutation put_group_snapshot(std::string group, const GroupSnapshot& s);
meta::Mutation delete_group_snapshot(std::string group);
// Every stored snapshot, by group id.
Result<std::map<std::string, GroupSnapshot>> load_group_snapshots(meta::Db& db);

}  // namespace ferry::broker
