// The broker-side codec rewrite of produced batches (topic compression.type naming a codec):
// a batch sent in any other codec, or uncompressed, is stored in the topic's codec. Done by the
// leader in the produce path, before offsets are assigned, so every copy of the log (followers,
// the mirror's source reads) holds the bytes the leader chose.
//
// Every header field but batchLength, the codec bits of `attributes` and the CRC is kept:
// baseOffset, partitionLeaderEpoch, lastOffsetDelta, the timestamps, producer id, epoch and base
// sequence, and the record count. The records themselves (offset and timestamp deltas, keys,
// values, headers) are the same bytes before compression. An idempotent retry of a rewritten
// batch is therefore still recognised by its producer fields.
//
// Pure functions over the given bytes; any thread (the produce path runs large batches on
// libuv's thread pool, see partition_append.h).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "protocol/record_batch.h"

namespace ferry::broker {

// Batches whose bytes as sent are at least this large are rewritten on libuv's thread pool;
// smaller ones on the loop, where a thread-pool round trip costs more than the codec
// (docs/benchmarks.md, "Broker-side compression").
inline constexpr size_t kRewriteOffLoopBytes = 16u << 10;

// The bounds a rewrite works within.
struct RewriteLimits {
  size_t max_inflated_bytes = 0;  // decompressed records section (protocol::kMaxInflatedBytes)
  size_t max_batch_bytes = 0;     // the stored batch (max.message.bytes)
};

// The form of `batch` to store in a topic whose compression.type is `target`, or nullopt to
// store it as sent: when it already uses `target`, is a control batch, is damaged (CRC, framing,
// records, codec: left for the append or the records check to refuse with Kafka's error code),
// or when the rewrite would exceed `limits`. An uncompressed batch is also kept when `target`
// does not make it smaller (a lone small record gains nothing from a codec frame).
std::optional<std::vector<std::byte>> recompress_for_storage(std::span<const std::byte> batch,
                                                             protocol::Compression target,
                                                             const RewriteLimits& limits);

}  // namespace ferry::broker
