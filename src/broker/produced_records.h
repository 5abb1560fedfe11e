// The checks Kafka makes on one Produce partition's RECORDS before anything is written: framing
// into batches, legacy message sets converted to one v2 batch, header rules, and the records
// check (protocol/batch_validator.h). Pure functions over the bytes; any thread unless noted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "broker/kafka_error.h"
#include "config/topic_config.h"
#include "protocol/batch_validator.h"

namespace ferry::broker {

// One partition's records, framed. The batches view the request's RECORDS or `converted`.
struct ProducedRecords {
  std::vector<std::byte> converted;  // a legacy message set turned into one v2 batch
  std::vector<std::span<std::byte>> batches;
  bool legacy = false;          // `converted` was built here from checked legacy messages
  size_t compressed_bytes = 0;  // bytes in compressed batches (set by check_batch_headers)
};

// The Kafka error for a validation fault (docs/protocol.md, "Produce validation").
KafkaError fault_error(const protocol::BatchCheck& c);

// Frames `records` (the RECORDS of a Produce v`produce_version` request) into `out`: v2 batches
// as they are, a legacy message set (v0-2 only) up-converted with `now_ms` (every message checked
// on the way). Refuses partial frames, unknown magics and the wrong batch count for v3+.
KafkaError frame_records(std::span<std::byte> records, int16_t produce_version, int64_t now_ms,
                         ProducedRecords& out);

// The header rules checked on the loop before any record is walked: batch header
// (validate_produced_header, skipped for a converted legacy set), zstd only from Produce v7,
// max.message.bytes. Counts `out.compressed_bytes`.
KafkaError check_batch_headers(ProducedRecords& out, int16_t produce_version,
                               const config::TopicSettings& settings);

// The records checks that may run off the loop: compressed records, and for several batches
// (Produce v0-2) every batch in full, so that none is stored when a later one is bad. A single
// uncompressed batch is walked by storage::Log::append. Any thread; reads only the batches.
KafkaError check_records(const ProducedRecords& records,
                         const protocol::ProducedBatchLimits& limits);

}  // namespace ferry::broker
