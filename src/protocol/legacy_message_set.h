// Legacy message sets (magic 0 and 1): up-conversion of produced message sets to one record
// batch v2, and down-conversion of stored batches for Fetch v0-3 clients.
//
// A message set is a concatenation of entries with no leading count (integers big-endian):
//
//   off  size  field
//     0     8  offset        absolute offset; producers send anything (usually 0 or 0..n-1)
//     8     4  messageSize   bytes of the message that follows (from crc to the end of value)
//    12     -  message
//
// Message v0 (magic 0), offsets relative to the message (entry offset 12):
//     0     4  crc           CRC-32 (IEEE, zlib's) of bytes [4, messageSize): magic..value
//     4     1  magic         0
//     5     1  attributes    bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4); others 0
//     6     4  keyLength     int32, -1 = null key
//    10     k  key
//  10+k     4  valueLength   int32, -1 = null value
//  14+k     v  value
//   size 14 + k + v (at least 14)
//
// Message v1 (magic 1) adds a timestamp after the attributes:
//     0     4  crc           as v0
//     4     1  magic         1
//     5     1  attributes    bits 0-2 codec; bit 3 timestamp type (1 = LogAppendTime)
//     6     8  timestamp     int64 ms since the epoch, -1 = none
//    14     4  keyLength     int32, -1 = null key
//    18     k  key
//  18+k     4  valueLength   int32, -1 = null value
//  22+k     v  value
//   size 22 + k + v (at least 22)
//
// In both formats, as in a record batch v2, the magic is byte 16 of the entry, so one peek tells
// the formats apart (peek_magic).
//
// Compression nests: a "wrapper" message has a codec in its attributes and a null key; its value
// is the compressed bytes of an inner message set of uncompressed messages of the same magic.
//   - v0 wrapper: inner offsets mean nothing; the wrapper's offset is the last inner offset.
//   - v1 wrapper: inner offsets are relative (0..n-1); the wrapper's offset is the absolute
//     offset of the last inner message. Its timestamp is the maximum inner timestamp
//     (CreateTime) or, with the LogAppendTime bit, the append time, which then replaces every
//     inner timestamp.
//   - LZ4 in a v0 wrapper carries the wrong frame header checksum of KAFKA-3160
//     (protocol/compression.h); it is accepted.
//
// Functions are pure and may run on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/result.h"
#include "protocol/compression.h"

namespace ferry::protocol {

namespace legacy_layout {
// Entry prefix.
inline constexpr size_t kOffset = 0;
inline constexpr size_t kMessageSize = 8;
inline constexpr size_t kLogOverhead = 12;
// Within a message.
inline constexpr size_t kCrc = 0;
inline constexpr size_t kMagic = 4;
inline constexpr size_t kAttributes = 5;
inline constexpr size_t kTimestampV1 = 6;
inline constexpr size_t kKeyLengthV0 = 6;
inline constexpr size_t kKeyLengthV1 = 14;
inline constexpr size_t kMinMessageSizeV0 = kKeyLengthV0 + 8;
inline constexpr size_t kMinMessageSizeV1 = kKeyLengthV1 + 8;
static_assert(kMinMessageSizeV0 == 14 && kMinMessageSizeV1 == 22);
// The magic's position in an entry, shared with record batch v2 (batch_layout::kMagic).
static_assert(kLogOverhead + kMagic == batch_layout::kMagic);
}  // namespace legacy_layout

namespace legacy_attr {
inline constexpr uint8_t kCompressionMask = 0x07;
inline constexpr uint8_t kTimestampTypeLogAppend = 0x08;  // magic 1 only
}  // namespace legacy_attr

// The magic byte of the first entry or batch of `records` (byte 16), nullopt if it is shorter.
std::optional<int8_t> peek_magic(std::span<const std::byte> records) noexcept;

// Appends one message-set entry (offset, messageSize, message with its CRC) to `out`. `magic` is
// 0 or 1; `timestamp` is written only for magic 1. Errors: invalid_argument for another magic,
// too_large when the message would exceed 2 GiB.
Status append_legacy_message(std::vector<std::byte>& out, int8_t magic, int64_t offset,
                             uint8_t attributes, int64_t timestamp,
                             std::optional<std::span<const std::byte>> key,
                             std::optional<std::span<const std::byte>> value);

struct UpconvertedBatch {
  std::vector<std::byte> batch;  // one record batch v2
  int32_t record_count = 0;
  bool compressed = false;  // some input message was a compressed wrapper
};

// Converts a produced message set (magic 0 and/or 1, every entry complete) into one record batch
// v2 holding every message in order, wrapper messages replaced by their inner messages. The batch
// has base offset 0, producer id/epoch/base sequence -1, CreateTime, no headers, and is LZ4
// compressed when the input had a compressed wrapper (else uncompressed); record i has offset
// delta i (inner offsets, relative or not, only give the order).
//
// Timestamps: a magic-1 message keeps its own; inside a magic-1 wrapper flagged LogAppendTime
// every inner message takes the wrapper's timestamp. Magic 0 has no timestamp and gets `now_ms`
// (Kafka stores -1 instead; a timestamp keeps time-based retention and ListOffsets meaningful).
//
// Errors: corrupt for a CRC mismatch, a truncated entry (also a partial trailing one), bad
// lengths, a magic other than 0/1, a wrapper without value, nested compression, inner messages
// of another magic, an empty wrapper or codec bits 5-7; unsupported for zstd (codec 4);
// invalid_argument for an empty set; too_large when the wrappers together inflate past
// `max_inflated` bytes; errors of build_batch.
Result<UpconvertedBatch> upconvert_message_set(std::span<const std::byte> message_set,
                                               int64_t now_ms,
                                               size_t max_inflated = kMaxInflatedBytes);

// Converts concatenated record batches v2 (as stored, or a fetch's worth of them) into a legacy
// message set of `magic` 0 or 1: one uncompressed message per record with its absolute offset
// (base offset + offset delta), key and value. Magic 1 keeps the record's timestamp and the
// batch's timestamp type (with LogAppendTime the batch's maxTimestamp); magic 0 has none.
// Headers are dropped; control batches are skipped (the caller filters aborted transactions);
// compressed batches (gzip, snappy, lz4) are decompressed. A partial trailing batch is ignored,
// as fetch responses may end mid-batch. Records below `first_offset` (the fetch offset, which
// may fall inside a stored batch) are left out, as Kafka's down-conversion does.
//
// Output: messages are added while the set stays within `max_out` bytes, but the first message
// is always included, so a consumer can make progress past a record larger than its limit.
//
// Errors: invalid_argument for another magic; unsupported for a zstd batch (Kafka answers
// UNSUPPORTED_COMPRESSION_TYPE) or a batch of another magic; corrupt for a batch failing
// validate_batch or decode_records (an impossible batchLength included).
Result<std::vector<std::byte>> downconvert_batches(std::span<const std::byte> batches, int8_t magic,
                                                   size_t max_out, int64_t first_offset = 0);

}  // namespace ferry::protocol
