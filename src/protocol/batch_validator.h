// Validation of produced record batches (magic 2) before they are stored, after the rules of
// Kafka's LogValidator for batches that come from clients.
//
// What is checked, and the fault each rule reports (the broker maps faults to Kafka codes):
//   framing    at least the 61-byte header, batchLength matching the bytes      corrupt
//   CRC        CRC32C over [attributes, end)                                     corrupt
//   codec      0-4                                                               unsupported_codec
//   count      recordCount > 0 and lastOffsetDelta == recordCount - 1           invalid_record
//   control    no control batches; no transactional batches (ferry has no
//              transaction coordinator)                                          invalid_record
//   sequence   a batch with a producer id has baseSequence >= 0                  invalid_record
//   records    exactly recordCount records using every byte, lengths, varints,
//              keys, values and headers within bounds, offsetDelta of record i
//              == i (Kafka rewrites wrong inner offsets of compressed batches;
//              ferry stores batches as they came, so it refuses them)          invalid_record
//   codec data compressed records decompress (gzip, snappy, lz4, zstd)          corrupt
//   inflation  decompressed records within `max_inflated_bytes`                 too_large
// A record-level fault in a batch whose CRC also fails is reported as the CRC fault.
//
// Division of work with storage::Log::append, which runs protocol::validate_batch (framing, CRC,
// codec, and for uncompressed batches check_records) on every batch it stores: the broker calls
// validate_produced_header() on the loop, validate_compressed_records() for compressed batches
// (on the thread pool when large), and lets the append check the rest, so no byte is walked
// twice on the success path. When the append refuses a batch as corrupt, classify_fault() tells
// a CRC fault from a record-level one for the error code.
//
// All functions are pure and may run on any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "protocol/compression.h"
#include "protocol/record_batch.h"

namespace ferry::protocol {

enum class BatchFault : uint8_t { none, corrupt, invalid_record, too_large, unsupported_codec };

struct BatchCheck {
  BatchFault fault = BatchFault::none;
  std::string reason;
  bool ok() const noexcept { return fault == BatchFault::none; }
};

struct ProducedBatchLimits {
  // Bound on one batch's decompressed records section (a decompression bomb is refused).
  size_t max_inflated_bytes = kMaxInflatedBytes;
};

// The header rules (framing, codec, count, control, transactional, sequence) of one complete
// batch, `batch` being exactly 12 + batchLength bytes as framed by declared_batch_size. O(1).
BatchCheck validate_produced_header(std::span<const std::byte> batch);

// The records of a compressed batch that passed validate_produced_header: decompressed within the
// limit and walked as check_records does, with offsetDelta of record i == i. A fault is checked
// against the CRC first. A batch without compression passes (storage walks its records).
BatchCheck validate_compressed_records(std::span<const std::byte> batch,
                                       const ProducedBatchLimits& limits = {});

// Every rule above, for any codec: validate_produced_header, the CRC, and the records.
BatchCheck validate_produced_batch(std::span<const std::byte> batch,
                                   const ProducedBatchLimits& limits = {});

// The intact front of stored batches read back to back (a fetch's worth): the number of leading
// bytes that are whole batches whose framing holds and whose CRC32C matches, and for the batch
// at that position, why it is not intact (nullopt when every byte is). Costs one CRC32C pass
// over the bytes; reads no record.
struct IntactPrefix {
  size_t bytes = 0;
  std::optional<std::string> fault;
};
IntactPrefix intact_prefix(std::span<const std::byte> batches);

}  // namespace ferry::protocol
