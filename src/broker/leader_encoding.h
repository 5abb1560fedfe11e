// What the leader makes of a checked batch before it is stored: LogAppendTime stamping
// (message.timestamp.type) and the codec rewrite (compression.type naming a codec).
// Done once, in the produce path, so every replica stores the bytes the leader chose (followers
// and the mirror copy them as they are). Any thread; touches only the given bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "config/topic_config.h"
#include "protocol/compression.h"

namespace ferry::broker {

// Marks a batch as LogAppendTime with `now_ms` as its max timestamp, as Kafka's broker does for
// topics with message.timestamp.type=LogAppendTime, and recomputes the CRC.
void stamp_log_append_time(std::span<std::byte> batch, int64_t now_ms);

// The form of `batch` to store instead of it when the topic's compression.type names a codec
// (settings.store_codec): recompress_for_storage (broker/recompress.h) within max.message.bytes and
// `max_inflated_bytes` of decompressed records. nullopt: store `batch` as it is.
std::optional<std::vector<std::byte>> encode_for_storage(
    std::span<const std::byte> batch, const config::TopicSettings& settings,
    size_t max_inflated_bytes = protocol::kMaxInflatedBytes);

}  // namespace ferry::broker
