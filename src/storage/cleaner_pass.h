// One cleaner pass over one partition log, as pure file work on a thread-pool thread: builds the
// key -> latest offset map from the dirty part of the log, then writes a cleaned copy
// (`<base>.log.cleaned`, cleaner_swap.h) of every sealed segment that changes. It never touches
// the Log object or the live segment files' names; the loop swaps the copies in afterwards.
//
// What a pass keeps, following Kafka's log cleaner (docs/compaction.md):
// - A keyed record is kept unless the map holds a later offset for its key. Records with a null
//   key below the clean point are removed (compacted topics refuse them on produce).
// - A tombstone (null value) that is the latest of its key is kept; the first pass that keeps it
//   sets the batch's delete horizon (attribute bit 6, the horizon in baseTimestamp, as Kafka 3.x
//   does) to now + delete.retention.ms, and a pass after the horizon removes it.
// - A batch keeps its baseOffset, lastOffsetDelta, producer id/epoch/base sequence, leader epoch,
//   transactional flag and maxTimestamp; surviving records keep their offsets and timestamps, so
//   offsets have gaps but never change. A batch that loses every record is kept as an empty
//   batch (header only) when it carries a producer id (idempotent-producer state) or is the
//   last batch of its segment (so the segment still ends where the next one begins).
// - Control batches, and batches ferry cannot decode (zstd), are copied as they are.
// - Batches that changed are written LZ4-compressed; unchanged ones are copied byte for byte, and
//   a segment in which nothing changes is not rewritten at all.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/strong_types.h"
#include "platform/file_system.h"
#include "storage/cleaner_swap.h"

namespace ferry::storage {

// log.cleaner.io.max.bytes.per.second: a token bucket shared by the cleaner's reads and writes.
// consume() sleeps the calling (thread-pool) thread when the rate is exceeded. Thread-safe.
class IoThrottle {
 public:
  explicit IoThrottle(uint64_t bytes_per_second = 0) : rate_(bytes_per_second) {}
  void set_rate(uint64_t bytes_per_second);  // 0 = unlimited
  void consume(uint64_t bytes);
  uint64_t slept_ms() const;

 private:
  mutable std::mutex mu_;
  uint64_t rate_;
  double tokens_ = 0;
  int64_t last_us_ = -1;
  uint64_t slept_ms_ = 0;
};

// A sealed segment of the plan: offsets [base, end), `size` bytes of .log.
struct PassSegment {
  Offset base;
  Offset end;
  uint64_t size = 0;
};

struct PassPlan {
  std::string dir;
  platform::FileSystem* fs = nullptr;
  // Sealed, durable segments from the log start on, in order; all below the first offset that
  // may not be cleaned yet (the active segment, min.compaction.lag.ms).
  std::vector<PassSegment> segments;
  Offset first_dirty;  // cleaner.point: offsets below were cleaned by an earlier pass
  int64_t now_ms = 0;
  int64_t delete_retention_ms = 86'400'000;
  uint64_t dedupe_buffer_bytes = 8u << 20;
  uint32_t max_batch_bytes = 256u << 20;  // bound when reading (a corrupt length stops the pass)
  IoThrottle* throttle = nullptr;         // may be null
};

struct PassResult {
  std::vector<CleanedSegment> cleaned;  // written and durable, not yet swapped in
  Offset clean_point;                   // the new cleaner.point once they are swapped in
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t records_removed = 0;
  uint64_t tombstones_removed = 0;
  uint64_t batches_rewritten = 0;
  std::optional<int64_t> earliest_horizon_ms;  // of the tombstones kept
  uint64_t keys = 0;                           // distinct key hashes in the map
  bool map_full = false;                       // the pass stopped early: another pass is needed
  uint64_t map_memory_bytes = 0;
};

// Runs the pass. Errors (I/O, a corrupt batch) leave no `.cleaned` file behind. Thread pool.
Result<PassResult> run_clean_pass(const PassPlan& plan);

}  // namespace ferry::storage
