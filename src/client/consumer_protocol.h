// The "consumer" group protocol's assignment bytes: what a consumer group leader hands each
// member through SyncGroup, and what DescribeGroups shows as member_assignment; and its
// subscription bytes, what each member sends in JoinGroup (DescribeGroups' member_metadata).
//
// ConsumerProtocolSubscription, big-endian, classic encodings:
//   version:int16
//   topics: ARRAY(int32 count) of STRING(int16 length)
//   user_data: NULLABLE_BYTES(int32 length, -1 = null)   (tolerated when absent)
//   v1+: owned_partitions, v2+: generation_id, v3+: rack_id - ignored when decoding; ferry
//   writes version 0.
//
// ConsumerProtocolAssignment, every version (0-3) laid out alike, big-endian, classic encodings:
//   version:int16
//   assigned_partitions: ARRAY(int32 count) of
//     topic:STRING(int16 length)  partitions: ARRAY of int32
//   user_data: NULLABLE_BYTES(int32 length, -1 = null)   (tolerated when absent)
// Newer versions may append fields, which are ignored. Empty bytes (a member that has not synced
// yet) decode as an empty assignment.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "protocol/schema.h"

namespace ferry::client {

struct ConsumerAssignment {
  struct Topic {
    std::string topic;
    std::vector<int32_t> partitions;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.topic, protocol::all);
      v(m.partitions, protocol::all);
    }
    bool operator==(const Topic&) const = default;
  };
  int16_t version = 0;
  std::vector<Topic> assigned;
  std::optional<protocol::Bytes> user_data;
  bool operator==(const ConsumerAssignment&) const = default;
};

// Errc::corrupt for malformed or truncated bytes.
Result<ConsumerAssignment> decode_consumer_assignment(std::span<const std::byte> bytes);
std::vector<std::byte> encode_consumer_assignment(const ConsumerAssignment& a);

struct ConsumerSubscription {
  int16_t version = 0;
  std::vector<std::string> topics;
  std::optional<protocol::Bytes> user_data;
  bool operator==(const ConsumerSubscription&) const = default;
};

// Errc::corrupt for malformed or truncated bytes.
Result<ConsumerSubscription> decode_consumer_subscription(std::span<const std::byte> bytes);
// Writes the version-0 layout whatever `s.version` says.
std::vector<std::byte> encode_consumer_subscription(const ConsumerSubscription& s);

}  // namespace ferry::client
