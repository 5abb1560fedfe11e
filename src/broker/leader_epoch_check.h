// The leader-epoch fence of the Kafka requests that carry current_leader_epoch (Fetch v9+,
// ListOffsets v4+, OffsetForLeaderEpoch v2+; KIP-320): -1 asks for no check; an epoch older than
// the partition's is FENCED_LEADER_EPOCH (the client's metadata is stale), a newer one
// UNKNOWN_LEADER_EPOCH (this broker has not heard of it yet). Both are retriable.
#pragma once

#include <cstdint>
#include <optional>

#include "common/strong_types.h"
#include "protocol/error_code.h"

namespace ferry::broker {

// nullopt when the request may go on.
inline std::optional<protocol::ErrorCode> check_current_leader_epoch(int32_t current,
                                                                     LeaderEpoch ours) noexcept {
  if (current < 0) return std::nullopt;  // -1: no check
  if (current < ours.value()) return protocol::ErrorCode::fenced_leader_epoch;
  if (current > ours.value()) return protocol::ErrorCode::unknown_leader_epoch;
  return std::nullopt;
}

}  // namespace ferry::broker
