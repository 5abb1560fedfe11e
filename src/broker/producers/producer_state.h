// Idempotent-producer bookkeeping of one partition: for each producer id, its epoch and the
// sequence ranges and offsets of its last five batches, the rules Kafka's broker applies before
// an append (non-transactional producers only), and the snapshot encoding.
//
// The rules, for a batch with producer id >= 0 (batches with producer id -1 are never checked:
// kafkajs and sarama put epoch 0 / sequence 0 in them):
//   - no state for the id: UNKNOWN_PRODUCER_ID if this broker never handed the id out,
//     otherwise accepted with any sequence (Kafka 2.5+: the state may have expired);
//   - epoch older than the producer's: INVALID_PRODUCER_EPOCH;
//   - same epoch and the same (first, last) sequence as one of the cached batches: a duplicate
//     (a retry whose response was lost): not appended, answered with the original offsets;
//   - same epoch: the first sequence must follow the last one (wrapping after INT32_MAX to 0),
//     otherwise OUT_OF_ORDER_SEQUENCE_NUMBER;
//   - newer epoch (an epoch bump): the first sequence must be 0, otherwise
//     OUT_OF_ORDER_SEQUENCE_NUMBER; accepting it forgets the older epoch's batches.
//
// Snapshot encoding (meta::ProducerStateRecord::batches): up to five 28-byte big-endian entries,
// oldest first: first_sequence:int32 last_sequence:int32 first_offset:int64
// last_offset_delta:int32 timestamp:int64.
//
// Threading: loop thread only. Not persistent by itself: see ProducerRegistry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/kafka_error.h"
#include "common/strong_types.h"
#include "meta/store.h"

namespace ferry::broker {

// Kafka keeps this many batches per producer: enough for max.in.flight.requests = 5.
inline constexpr size_t kProducerBatchesRetained = 5;

// The fields of a v2 batch header the checks need.
struct ProducerBatch {
  int64_t producer_id = -1;
  int16_t epoch = -1;
  int32_t base_sequence = -1;
  int32_t last_offset_delta = 0;

  // base_sequence + last_offset_delta, wrapping after INT32_MAX to 0 as Kafka's sequences do.
  int32_t last_sequence() const noexcept;
};

// One appended batch as the producer state remembers it.
struct BatchMetadata {
  int32_t first_sequence = 0;
  int32_t last_sequence = 0;
  Offset first_offset{0};
  Offset last_offset{0};
  int64_t timestamp_ms = -1;  // the batch's max timestamp as stored (LogAppendTime: append time)
  bool operator==(const BatchMetadata&) const = default;
};

struct ProducerEntry {
  int16_t epoch = -1;
  // Oldest first, at most kProducerBatchesRetained (a vector: a few hundred bytes per producer
  // and partition, where a deque would take a 512-byte block).
  std::vector<BatchMetadata> batches;
  int64_t last_append_ms = 0;  // broker clock; idle producers expire from this
};

// The outcome of checking a batch before its append.
struct SequenceCheck {
  KafkaError error;                        // not ok: refuse the batch
  std::optional<BatchMetadata> duplicate;  // set: already stored, answer with these offsets
};

class PartitionProducers {
 public:
  // Checks `b` (producer id >= 0) against this partition's state. `issued_here`: whether this
  // broker handed out b.producer_id (consulted only when the partition has no state for it).
  SequenceCheck check(const ProducerBatch& b, bool issued_here) const;

  // Records a batch that was appended at [first, last], or one read back from the log when
  // rebuilding. `now_ms` is the broker's clock.
  void record(const ProducerBatch& b, Offset first, Offset last, int64_t timestamp_ms,
              int64_t now_ms);

  // Forgets producers idle for `expiration_ms` or longer; returns how many.
  size_t expire(int64_t now_ms, int64_t expiration_ms);

  const ProducerEntry* find(int64_t producer_id) const;
  size_t size() const noexcept { return producers_.size(); }
  // Changes since the last clear_changed(): what decides whether a snapshot is worth writing.
  bool changed() const noexcept { return changed_; }
  void clear_changed() noexcept { changed_ = false; }

  // Snapshot rows for the metadata store, by producer id.
  std::vector<meta::ProducerStateRecord> to_records(const std::string& topic,
                                                    PartitionId partition) const;
  // Replaces the state with snapshot rows. A row whose batch blob does not decode is skipped
  // and reported in the result's message (the caller logs it); the rest still load.
  Status load(const std::vector<meta::ProducerStateRecord>& rows);
  void clear();

 private:
  std::unordered_map<int64_t, ProducerEntry> producers_;
  bool changed_ = false;
};

}  // namespace ferry::broker
