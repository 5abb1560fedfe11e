// Per-partition log settings, named after the Kafka topic configs they implement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

namespace ferry::storage {

struct LogConfig {
  // segment.bytes: roll the active segment when the next batch would take it past this size.
  uint64_t segment_bytes = 64ull << 20;
  // segment.ms: roll the active segment once its first batch is this old (7 days, as Kafka).
  int64_t segment_ms = 7ll * 24 * 3600 * 1000;
  // retention.ms: delete sealed segments whose newest timestamp is older; -1 = keep forever.
  int64_t retention_ms = 7ll * 24 * 3600 * 1000;
  // retention.bytes: delete oldest sealed segments while the log is larger; -1 = no limit.
  int64_t retention_bytes = -1;
  // index.interval.bytes: one sparse index entry per this many bytes of log.
  uint32_t index_interval_bytes = 4096;
  // flush.messages: fdatasync after this many records since the last flush (group commit).
  int64_t flush_messages = std::numeric_limits<int64_t>::max();
  // flush.ms: fdatasync at most this long after an unflushed append. Edge default: 1 s, so a
  // power cut loses at most about a second of acks=1 data and recovery scans little.
  int64_t flush_ms = 1000;
  // max.message.bytes: the largest batch accepted (Kafka's default 1048588).
  uint32_t max_batch_bytes = 1048588;
  // Bytes reserved ahead with fallocate when a segment is created (0 = none). Flash-friendly
  // default: do not reserve, since reserved-but-unwritten extents cost erase blocks on some FTLs.
  uint64_t preallocate_bytes = 0;
  // cleanup.policy: delete (retention deletes old segments), compact (the cleaner keeps the
  // latest record of each key, storage/cleaner.h), or both.
  bool cleanup_delete = true;
  bool cleanup_compact = false;
  // min.cleanable.dirty.ratio: clean once dirty bytes / (clean + dirty bytes) reach this.
  double min_cleanable_dirty_ratio = 0.5;
  // min.compaction.lag.ms: records younger than this are not cleaned.
  int64_t min_compaction_lag_ms = 0;
  // max.compaction.lag.ms: dirty records older than this are cleaned whatever the dirty ratio.
  int64_t max_compaction_lag_ms = std::numeric_limits<int64_t>::max();
  // delete.retention.ms: how long a tombstone stays after the pass that first kept it.
  int64_t delete_retention_ms = 86'400'000;
};

}  // namespace ferry::storage
