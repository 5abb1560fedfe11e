// What the leader makes of a checked batch before it is stored: LogAppendTime stamping
// (message.timestamp.type) and the LZ4 re-encoding of uncompressed batches (compression.type=lz4).
// Done once, in the produce path, so every replica stores the bytes the leader chose (followers
// and the mirror copy them as they are). Any thread; touches only the given bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "config/topic_config.h"

namespace ferry::broker {

// Marks a batch as LogAppendTime with `now_ms` as its max timestamp, as Kafka's broker does for
// topics with message.timestamp.type=LogAppendTime, and recomputes the CRC.
void stamp_log_append_time(std::span<std::byte> batch, int64_t now_ms);

// The LZ4 form of `batch` to store instead of it, when the topic asks for it
// (settings.store_lz4), the batch is uncompressed, not a control batch, intact
// (protocol::validate_batch: a damaged batch is left for the append to refuse) and the LZ4 form
// is smaller. nullopt: store `batch` as it is.
std::optional<std::vector<std::byte>> encode_for_storage(std::span<const std::byte> batch,
                                                         const config::TopicSettings& settings);

}  // namespace ferry::broker
