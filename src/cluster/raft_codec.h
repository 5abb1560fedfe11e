// The payloads the node-to-node link carries for Raft (peer_wire.h frames them): many groups per
// frame, each message beside its group (topic, partition).
//
// Every payload starts with a u16 format version (kRaftCodecVersion; a decoder refuses another
// with Errc::unsupported) and is big-endian throughout. Shared pieces:
//   group      u16 topic length (1..249), topic bytes, i32 partition (>= 0)
//   count      u32, checked against the bytes left before anything is allocated
//
// Vote frame (MessageType::raft_votes, both ways):
//   u16 version, count, then per entry: group, u8 tag, and by tag
//     0 VoteRequest   i32 epoch, i32 candidate, i32 last_epoch, i64 end_offset,
//                     u8 flags (bit 0 pre_vote, bit 1 transfer)
//     1 VoteResponse  i32 epoch, i32 voter, u8 flags (bit 0 granted, bit 1 pre_vote)
//     2 BeginEpoch    i32 epoch, i32 leader
//     3 TimeoutNow    i32 epoch, i32 leader
// Fetch request (MessageType::raft_fetch, follower node -> leader node):
//   u16 version, i32 replica, i32 max_wait_ms (>= 0), count, then per entry: group,
//   i32 epoch, i32 replica, i64 fetch_offset, i32 last_fetched_epoch, i64 durable_offset
// Fetch response (its answer):
//   u16 version, count, then per entry: group, u8 status (FetchStatus), i32 epoch, i32 leader,
//   u8 has_diverging (0/1) [i32 epoch, i64 end_offset], i64 high_watermark,
//   i64 log_start_offset, u32 records length, the record batches (opaque here)
//
// Unknown tags, statuses and flag bits, trailing bytes and every short read are errors
// (Errc::corrupt), never crashes. New fields or tags need a version bump.
//
// Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/raft_messages.h"
#include "common/buffer.h"
#include "common/result.h"
#include "common/strong_types.h"

namespace ferry::cluster {

inline constexpr uint16_t kRaftCodecVersion = 1;
inline constexpr size_t kMaxTopicNameBytes = 249;  // Kafka's limit

// The Raft group of the cluster metadata (members, topics, assignments).
inline constexpr std::string_view kMetadataTopic = "__cluster_metadata";
inline constexpr PartitionId kMetadataPartition{0};

// One Raft group: a partition, or the metadata group.
struct GroupId {
  std::string topic;
  PartitionId partition{0};
  bool operator==(const GroupId&) const = default;
  auto operator<=>(const GroupId&) const = default;
};

inline GroupId metadata_group() { return GroupId{std::string(kMetadataTopic), kMetadataPartition}; }

struct GroupMessage {
  GroupId group;
  RaftMessage message;
};

// Votes, pre-votes, BeginEpoch and TimeoutNow of many groups, from one node to another.
struct VoteFrame {
  std::vector<GroupMessage> messages;
};

struct GroupFetch {
  GroupId group;
  FetchPosition position;
};

// One follower node's fetch for every group it follows on the receiving node.
struct FetchRequest {
  NodeId replica = kNoNode;
  int32_t max_wait_ms = 0;  // how long the leader may hold the fetch for new data
  std::vector<GroupFetch> fetches;
};

struct GroupAnswer {
  GroupId group;
  FetchAnswer answer;
  Buffer records;  // record batches from the fetch offset; empty when diverging or refused
};

struct FetchResponse {
  std::vector<GroupAnswer> answers;
};

Buffer encode_vote_frame(const VoteFrame& frame);
Result<VoteFrame> decode_vote_frame(std::span<const std::byte> bytes);

Buffer encode_fetch_request(const FetchRequest& request);
Result<FetchRequest> decode_fetch_request(std::span<const std::byte> bytes);

Buffer encode_fetch_response(const FetchResponse& response);
Result<FetchResponse> decode_fetch_response(std::span<const std::byte> bytes);

}  // namespace ferry::cluster
