// The data directory's free-space guard: applies each topic's disk.full.policy when the data
// directory is about to fill (less than log.dir.min.free.bytes free, or a write failed with
// ENOSPC), and keeps the counters of what the policies did.
//
// Policies (config::TopicSettings::drop_oldest_when_full):
// - refuse (default): while space is low, produce requests to the topic are answered with
//   KAFKA_STORAGE_ERROR (retriable: Kafka clients retry it after a metadata refresh) before
//   anything is written; nothing is deleted, so nothing acknowledged is lost, and the
//   keep-until-mirrored floor holds.
// - drop_oldest: the oldest segments of the topic's partitions are deleted, also those holding
//   records a mirror has not forwarded (the floor is overridden), until as many bytes are freed
//   as were missing; produce goes on. Each deleted segment is counted and logged at ERROR with
//   the topic, partition and offset range (and which of its offsets were not yet forwarded).
//   The largest partition log of such topics loses a segment first.
//
// When: a check every kCheckIntervalMs on the loop (statvfs on a local file system reads
// counters the kernel keeps in memory: microseconds, no I/O, so it does not go to the thread
// pool; meta.db's space reserve is checked the same way), sooner when the bytes appended since
// the last check come near the margin that was left (on_appended), and right after a write
// failed with ENOSPC (on_no_space; then at least one segment of a drop_oldest topic goes even
// when statvfs shows enough space, e.g. under a quota).
//
// Logging: WARN when space becomes low and, while it stays low, at most once a minute with the
// counters; INFO when it is back. Refusals themselves are not logged one by one.
//
// Threading: loop thread only. The free-space source is called on the loop.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "common/uv_timer.h"
#include "config/topic_config.h"
#include "platform/file_system.h"

namespace ferry::broker {

class TopicManager;

// What the disk-full policies did since the broker started; plain numbers for a metrics
// endpoint.
struct DiskFullCounters {
  uint64_t bytes_dropped = 0;                // segment bytes deleted by drop_oldest
  uint64_t segments_dropped = 0;             // segments deleted by drop_oldest
  uint64_t offsets_dropped = 0;              // offsets in those segments
  uint64_t unforwarded_offsets_dropped = 0;  // of which at or above a mirror's floor
  uint64_t produce_refused = 0;              // produce partition entries refused for lack of space
  uint64_t low_space_episodes = 0;           // times free space fell below log.dir.min.free.bytes
  uint64_t enospc_writes = 0;                // appends that failed with ENOSPC/EDQUOT
};

class DiskGuard {
 public:
  // Free space of the data directory (statvfs of it; a fake in tests).
  using FreeSpace = std::function<Result<platform::SpaceInfo>()>;
  static constexpr uint64_t kCheckIntervalMs = 1000;
  static constexpr int64_t kLowLogIntervalMs = 60'000;

  // `loop` may be null (no timer: checks only through check() and on_no_space()). `topics`
  // and `clock` outlive the guard.
  DiskGuard(uv_loop_t* loop, TopicManager& topics, const Clock& clock, uint64_t min_free_bytes,
            FreeSpace free_space);
  DiskGuard(const DiskGuard&) = delete;
  DiskGuard& operator=(const DiskGuard&) = delete;

  // Replaces the free-space source (tests).
  void set_free_space(FreeSpace free_space) { free_space_ = std::move(free_space); }

  // Starts the periodic check (one check at once).
  void start();
  void stop();

  // One check now: reads the free space, applies drop_oldest, updates low().
  void check();

  // A produce write job stored `bytes`. Between two periodic checks a fast producer can write
  // more than the threshold's margin, so statvfs runs again as soon as the bytes appended since
  // the last check reach half of what was left above the threshold (and after every append
  // while space is low): a burst overruns the threshold by at most one write job.
  void on_appended(uint64_t bytes);

  // A produce append failed with no_space (the write hit ENOSPC, or the log is paused after
  // one): counts it as a refusal and runs a check on the next loop turn (inline without a loop).
  void on_no_space();

  // Whether a produce to a topic with `settings` must be refused now (space is low and the
  // topic's policy is refuse); a refusal is counted.
  bool refuse_produce(const config::TopicSettings& settings);

  // Space is below log.dir.min.free.bytes as of the last check (after what drop_oldest freed).
  bool low() const noexcept { return low_; }
  std::optional<uint64_t> last_available_bytes() const noexcept { return last_available_; }
  const DiskFullCounters& counters() const noexcept { return counters_; }

 private:
  // Deletes oldest segments of drop_oldest topics until `need` bytes are freed or none is left
  // to delete; returns the bytes freed.
  uint64_t drop_oldest(uint64_t need);
  void set_low(bool low, uint64_t available);

  TopicManager& topics_;
  const Clock& clock_;
  uint64_t min_free_;
  FreeSpace free_space_;
  std::unique_ptr<UvTimer> timer_;
  std::unique_ptr<UvTimer> soon_;  // the check after an ENOSPC
  bool enospc_pending_ = false;
  bool low_ = false;
  int64_t low_logged_ms_ = 0;
  std::optional<uint64_t> last_available_;
  uint64_t appended_since_check_ = 0;
  DiskFullCounters counters_;
  DiskFullCounters at_low_start_;  // counters when the current low-space episode began
};

}  // namespace ferry::broker
