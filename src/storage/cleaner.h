// The log cleaner: compaction of the partitions whose topic has cleanup.policy=compact (or
// compact,delete), Kafka's LogCleaner fitted to a gateway. One Cleaner per broker runs at most
// one pass at a time, broker-wide, on libuv's thread pool; each tick (every backoff_ms) it picks
// the dirtiest eligible partition: dirty ratio (dirty bytes / bytes from the log start to the
// first uncleanable offset) >= min.cleanable.dirty.ratio, or dirty records older than
// max.compaction.lag.ms. A pass (cleaner_pass.h) builds a key map bounded by
// log.cleaner.dedupe.buffer.size and writes cleaned segment copies beside the old ones; back on
// the loop they are swapped in (cleaner_swap.h), so readers on the loop never see a half-swapped
// log. I/O is throttled to log.cleaner.io.max.bytes.per.second. Semantics: docs/compaction.md.
//
// Threading: every public method runs on the loop thread (clean_now: the caller's, with no pass
// in flight). The pass touches only its PassPlan; the Log is reached again on the loop.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "storage/cleaner_pass.h"

namespace ferry {
class UvTimer;
}

namespace ferry::storage {

class Log;

struct CleanerConfig {
  bool enable = true;  // log.cleaner.enable
  // log.cleaner.dedupe.buffer.size: the key map's memory (24 bytes per key, 90% usable): 8 MiB
  // holds about 314,000 distinct keys per pass, more than a gateway's device-state topics have,
  // while staying small next to a 256-512 MiB gateway's RAM (Kafka's default is 128 MiB).
  uint64_t dedupe_buffer_bytes = 8u << 20;
  uint64_t io_max_bytes_per_second = 0;  // log.cleaner.io.max.bytes.per.second; 0 = unlimited
  int64_t backoff_ms = 15'000;           // log.cleaner.backoff.ms: between checks
};

// Counters for metrics and status; plain data, read on the loop thread.
struct PartitionCleanerStats {
  int64_t last_clean_ms = -1;  // wall clock at the end of the last completed pass
  uint64_t passes = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t records_removed = 0;
  double last_dirty_ratio = 0;  // when the last pass was chosen
};
struct CleanerStats {
  uint64_t passes = 0;         // completed and swapped in
  uint64_t passes_failed = 0;  // I/O errors, corrupt batches, abandoned swaps
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;  // cleaned segment copies (flash writes of compaction)
  uint64_t records_removed = 0;
  uint64_t tombstones_removed = 0;
  uint64_t segments_swapped = 0;
  uint64_t map_memory_bytes = 0;  // the key map of the last pass
  uint64_t throttle_sleep_ms = 0;
  std::map<std::string, PartitionCleanerStats> partitions;  // by log directory
};

// Why a log would be cleaned now, or nullopt: what the choice is based on.
struct Cleanability {
  double dirty_ratio = 0;
  bool overdue = false;  // max.compaction.lag.ms exceeded
  PassPlan plan;         // dir, segments and first_dirty filled in
};

class Cleaner {
 public:
  // `loop` may be null (clean_now only). `clock` gives "now" for tombstone horizons and lags.
  Cleaner(uv_loop_t* loop, CleanerConfig config, const Clock* clock = &Clock::system());
  ~Cleaner();
  Cleaner(const Cleaner&) = delete;
  Cleaner& operator=(const Cleaner&) = delete;

  // Checks every backoff_ms (and once soon after start) the logs `logs()` returns. Loop thread.
  void start(std::function<std::vector<std::shared_ptr<Log>>()> logs);
  // Stops the timer; a pass in flight still completes (its swap is skipped when its log closed).
  void stop();
  // Starts a pass on the dirtiest eligible log of `logs` unless one is in flight; true if one
  // started. `done` (may be empty) fires on the loop when it is over.
  bool maybe_clean(const std::vector<std::shared_ptr<Log>>& logs,
                   std::function<void(Status)> done = {});
  // One pass on `log` on the caller's thread, swap included; `force` ignores the dirty ratio and
  // the compaction lags but not the active segment. nullopt result: nothing to clean.
  Result<std::optional<PassResult>> clean_now(Log& log, bool force = false);

  // What a pass on `log` would cover, if it is eligible now (or `force`). Loop thread.
  Result<std::optional<Cleanability>> cleanability(Log& log, bool force = false);

  bool busy() const noexcept { return in_flight_; }
  const CleanerStats& stats() const noexcept { return stats_; }
  const CleanerConfig& config() const noexcept { return config_; }

 private:
  struct Job;
  PassPlan finish_plan(PassPlan plan, const Log& log) const;
  // Loop: the swap and the counters after a pass; then the directory sync and cleaner.point.
  Status complete(Log& log, Result<PassResult>& result, double ratio);
  void tick();

  uv_loop_t* loop_;
  CleanerConfig config_;
  const Clock* clock_;
  IoThrottle throttle_;
  CleanerStats stats_;
  bool in_flight_ = false;
  std::shared_ptr<Cleaner*> self_;  // jobs in flight hold it; null inside once destroyed
  std::unique_ptr<UvTimer> timer_;
  std::function<std::vector<std::shared_ptr<Log>>()> logs_;
};

}  // namespace ferry::storage
