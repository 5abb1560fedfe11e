// The flush coordinator: one fdatasync job on libuv's thread pool at a time, covering every
// partition log that asked for a flush since the last one started (group commit across
// partitions), with counters of what group commit achieved.
//
// How a flush goes. A Log that wants its appends durable calls request(). When no job runs,
// a job starts once the loop has run the callbacks of the current iteration (a uv_idle handle),
// so every partition of a Produce request, and of every other request read in the same
// iteration, is in it;
// otherwise the log waits for the running one to come back and joins the next. When a job starts,
// each waiting log describes what it has written so far (a LogFlush: the segment files to
// fdatasync, the directory fsync after a roll, the recovery.point rewrite); the job runs them one
// after another on one pool thread, and when it is back on the loop each log takes its part
// (durable offset, index upkeep, durability callbacks in offset order). Appends made while a job
// runs are covered by the next one, so under load every fdatasync covers the batches of many
// requests and partitions.
//
// Ownership and threads. Loop thread only, except LogFlush::run(), which runs on the thread pool
// and touches nothing but its LogFlush (file handles it owns, the thread-safe FileSystem). A job
// keeps the logs it flushes and the Flusher alive until it is back on the loop. LogManager owns
// one Flusher for all its logs; a Log opened with a loop and no Flusher makes its own.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/strong_types.h"
#include "platform/file_system.h"

namespace ferry {
class UvTimer;
}

namespace ferry::storage {

class Log;

// One log's part of a flush job: what to sync, and what becomes durable after.
struct LogFlush {
  std::shared_ptr<Log> log;  // keeps the log alive until the job is back on the loop (may be null
                             // for an inline flush)
  std::vector<std::shared_ptr<platform::File>> files;
  std::vector<std::pair<Offset, uint64_t>> targets;  // (segment base, size synced)
  platform::FileSystem* fs = nullptr;
  std::string dir;
  bool sync_dir = false;
  Offset synced_to;
  // After the syncs: every segment below this base is durable in full; written to
  // recovery.point when set.
  std::optional<Offset> recovery_point;
  Status result;
  Status recovery_point_result;
  uint64_t truncations = 0;  // Log's truncation count when prepared
  uint32_t datasyncs = 0;    // fdatasync calls made (for the counters)

  // Thread pool (or inline without a loop): touches nothing but this LogFlush.
  void run();
};

// What group commit achieved, counted by the Flusher since it was made.
struct FlushStats {
  uint64_t jobs = 0;           // jobs run on the thread pool
  uint64_t log_flushes = 0;    // logs flushed (a job covers one or more)
  uint64_t datasyncs = 0;      // fdatasync calls on segment files
  uint64_t durable_waits = 0;  // durability callbacks released by a successful flush
                               // (acks=all: one per partition of a Produce request)
};

class Flusher : public std::enable_shared_from_this<Flusher> {
 public:
  // `loop` must outlive the Flusher (its summary timer is closed on destruction).
  explicit Flusher(uv_loop_t* loop);
  ~Flusher();
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  // `log` wants a flush: it is covered by the next job (started at the end of this loop
  // iteration when none runs). A log asks once until Log::complete_flush() or until preparing its
  // part found nothing to sync.
  void request(std::shared_ptr<Log> log);

  // Called by Log when a flush released `n` durability callbacks.
  void note_durable_waits(uint64_t n) noexcept { stats_.durable_waits += n; }

  const FlushStats& stats() const noexcept { return stats_; }
  // Called on the loop after each job with its duration (from submitting it to the thread pool
  // to its return) and its fdatasync calls; the admin listener's fsync histogram.
  void set_job_observer(std::function<void(uint64_t ns, uint32_t datasyncs)> fn) {
    observer_ = std::move(fn);
  }
  bool job_running() const noexcept { return running_; }
  // Logs waiting for the next job.
  size_t waiting() const noexcept { return waiting_.size(); }

  // A busy period ends when no job started for this long; its summary is logged at INFO then
  // ("group commit: ..."), and once more when the Flusher is destroyed.
  static constexpr int64_t kQuietMs = 1000;

 private:
  struct Job;
  void start_job();
  void arm_start();
  void complete_job(Job& job);
  void note_busy();
  void arm_quiet_check(uint64_t delay_ms);
  void check_quiet();
  void log_summary();

  uv_loop_t* loop_;
  std::vector<std::shared_ptr<Log>> waiting_;  // logs that asked, in order of asking
  bool running_ = false;
  FlushStats stats_;
  // The current busy period: counters at its start, when it started and when the last job ended.
  FlushStats period_start_;
  uint64_t period_start_ms_ = 0;
  uint64_t last_job_end_ms_ = 0;
  bool period_open_ = false;
  std::unique_ptr<UvTimer> quiet_timer_;
  std::function<void(uint64_t, uint32_t)> observer_;
  uint64_t job_start_ns_ = 0;
  uv_idle_t* start_idle_;  // heap: freed by its close callback after the Flusher is gone
};

}  // namespace ferry::storage
