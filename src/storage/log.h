// A partition log: a directory of segments holding Kafka v2 record batches exactly as on the
// wire, with the base offset assigned here. See docs/storage-format.md for the files.
//
// Threading. A Log belongs to one libuv loop (the broker's) and every public method runs on that
// loop's thread. fdatasync runs on libuv's thread pool, in the jobs of the Flusher the logs of a
// LogManager share (storage/flusher.h: one job covers every log that asked); durability callbacks
// fire back on the loop, in offset order. With `loop == nullptr` (tools, tests) flushes run inline
// and callbacks fire before flush() returns.
//
// Write jobs (the produce path, write_job.h). The broker does not write on the loop: it takes a
// job (begin_write), adds batches to it (add: validated, offsets assigned from the log end) and
// submits it; the job writes them into the segment file on libuv's thread pool — rolling inside
// the job (new segment file, preallocation, stale index removal) when a batch needs a new
// segment — and, back on the loop, the log takes them: segment sizes, index entries, the log end,
// the flush policy. One job per log is in flight; until it completes the log is unchanged, so
// reads, read(), log_end_offset() and everything else see only bytes that are in the file. A
// failed job leaves the files as they were (the segment cut back to its size before the job,
// a segment it created removed): its batches fail, the log end does not move, and the next job
// writes at the same place. While a job is in flight, truncate_to() refuses, retention keeps the
// active segment, maybe_roll() waits, and close() completes after the job.
// append() is the synchronous form (tools, tests, followers): the same job, run on the caller's
// thread.
//
// Durability. append() writes the batch to the page cache and returns its offsets. The bytes
// become durable at the next flush: after `flush_messages` records, `flush_ms` after the first
// unflushed append, on flush(), or at once when the append asks for a durability callback with
// `flush_now` (acks=all). Several appends waiting together share one fdatasync (group commit).
//
// Leader epochs (storage/epoch_cache.h, log_epochs.cc). The log keeps, for every leader epoch
// stamped in its batches, the offset of the epoch's first batch, in `leader-epoch.cache`. An
// appended batch (write job, append()) whose partitionLeaderEpoch is above the last entry adds
// an entry once its job completes; the job that carries a new epoch writes the cache file on
// the thread pool before its batches, so the file on disk always covers every batch in the
// segment files. truncate_to() drops entries at or after the new end, retention and
// drop_oldest_segment() clip entries below the new log start; those changes are written by a
// small job of their own on the thread pool (inline without a loop) and, while it runs or has
// not been written, by the next write job too. At open the file is read and clipped to the
// recovered log; a missing or unreadable file, or one whose last epoch is not the last batch's,
// is rebuilt from the batch headers (logged) and written before open() returns.
//
// Errors are sticky: after a failed write or fsync the log refuses appends with failed_state,
// fails pending durability callbacks, and keeps serving reads of what it holds.
// Except a full disk: a write that fails with ENOSPC (or EDQUOT) is cut back to the last whole
// batch and the log becomes "full": appends fail with no_space (Kafka's retriable
// KAFKA_STORAGE_ERROR) without touching the disk, except one probe append per
// kFullProbeIntervalMs, which resumes appends (logged at INFO) once space was freed. Reads,
// flushes and retention go on while full. An fsync that fails, with ENOSPC or otherwise, stays
// sticky: what reached the disk is then unknown.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/strong_types.h"
#include "storage/epoch_cache.h"
#include "storage/file_pool.h"
#include "storage/flusher.h"
#include "storage/log_config.h"
#include "storage/write_job.h"

namespace ferry {
class UvTimer;
}

namespace ferry::storage {

class Segment;
struct CleanedSegment;

struct AppendInfo {
  Offset base_offset;
  Offset last_offset;
  int64_t max_timestamp = -1;
  size_t stored_bytes = 0;  // bytes written
};

// Called on the loop thread once the appended bytes are durable (ok) or can never be (error).
using DurableCallback = std::function<void(Status)>;

struct AppendOptions {
  // Start a flush now instead of waiting for the policy (acks=all). Appends that arrive while a
  // flush runs are grouped into the next one.
  bool flush_now = false;
  // Called when the batch is durable. May be empty.
  DurableCallback on_durable;
};

struct ReadResult {
  std::vector<std::byte> data;  // whole batches, back to back
  Offset next_offset;           // the offset after the last batch returned
  size_t batch_count = 0;
  // Where the bytes came from, one entry per segment read, in order: data[data_offset...] was
  // read from the segment with base `segment` at file position `position` (for error reports).
  struct Source {
    Offset segment;
    uint64_t position = 0;
    size_t data_offset = 0;
  };
  std::vector<Source> sources;
};

struct RetentionResult {
  size_t segments_deleted = 0;
  uint64_t bytes_deleted = 0;
};

// One segment deleted by Log::drop_oldest_segment: the offsets it held, [first, next).
struct DroppedSegment {
  Offset first;
  Offset next;
  uint64_t bytes = 0;
};

struct LogOptions {
  uv_loop_t* loop = nullptr;              // null: flush inline (tools, tests)
  const Clock* clock = &Clock::system();  // fake in retention/roll tests
  // Shared by the logs of a LogManager; each log keeps it alive, so a log outliving its manager
  // (held by a flush job still on the thread pool) closes its files safely. Null: the log makes
  // its own small pool.
  std::shared_ptr<FilePool> pool;
  // Every file and directory operation goes through this (a fault-injecting one in tests).
  // With a pool, the pool's file system is used instead. Outlives the log.
  platform::FileSystem* fs = &platform::real_fs();
  // The flush coordinator shared by the logs of a LogManager (loop thread). Null with a loop: the
  // log makes its own. Unused without a loop.
  std::shared_ptr<Flusher> flusher;
  // Log start for a new, empty log (a partition created with existing history elsewhere).
  Offset initial_offset{0};
  // Open: leave the fdatasync of the recovered tail to the caller (tail_sync(), run_tail_sync(),
  // tail_synced()) instead of a flush of its own. LogManager::open_all batches them, so that
  // thousands of logs opening at once do not each hold a descriptor in a flush job.
  bool caller_syncs_tail = false;
};

// The segments a recovered log kept that are not known to be durable yet (recovery found them
// at or after the recovery point; a kill -9 may have left their bytes in the page cache only),
// and what becomes true once they are synced.
struct TailSync {
  std::string dir;
  std::vector<std::pair<std::string, uint64_t>> files;  // .log path, size to sync
  std::vector<Offset> bases;                            // the segments of `files`, same order
  Offset synced_to;                                     // log end at open
  std::optional<Offset> recovery_point;                 // written after the syncs when set
  uint64_t truncations = 0;
  Status result;  // set by run_tail_sync
};

class Log : public std::enable_shared_from_this<Log> {
 public:
  // Opens (creating if needed) the log in `dir`, recovering its tail: every segment from the
  // recovery point on (the file `recovery.point`: all segments below it were durable in full),
  // and at least the last two, is scanned from its last index entry; a torn or corrupt tail is
  // truncated at the last valid batch and logged, and segments after a truncated one are
  // removed. Earlier segments are not read. Missing or inconsistent index files are rebuilt.
  static Result<std::shared_ptr<Log>> open(const std::string& dir, const LogConfig& config,
                                           const LogOptions& options = {});
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Validates and appends one v2 record batch (12 + batchLength bytes), stored byte for byte
  // except its base offset, which is set to the log end. Bad batches (CRC, length, magic, count)
  // are rejected with corrupt and never stored; a batch over max_batch_bytes gets too_large.
  // Refuses (invalid_argument) while a write job is in flight.
  Result<AppendInfo> append(std::span<const std::byte> batch, AppendOptions options = {});

  // A write job to add batches to. Fails as append() does before it touches the disk (closed,
  // failed_state, no_space while the disk is full and no probe is due) and with
  // invalid_argument while a job is in flight.
  Result<std::unique_ptr<WriteJob>> begin_write();
  // Validates `batch` as append() does (corrupt, too_large) and gives it the job's next offset
  // (the log end plus the batches added before). A failed batch is not added; the job stays
  // usable. The bytes must stay valid and unchanged until the job completes (the overload
  // taking a vector hands them to the job). Nothing in the log changes until the job completes.
  Result<AppendInfo> add(WriteJob& job, std::span<const std::byte> batch);
  Result<AppendInfo> add(WriteJob& job, std::vector<std::byte> batch);
  // Runs `job` (from this log's begin_write) on libuv's thread pool, or inline without a loop;
  // `done` fires on the loop once it is back. ok: every batch of the job is in the log (log end
  // moved, readable, counted for the flush policy). Error: none is, the files are as before;
  // no_space makes the log full (retriable, as append()), any other error fails it (sticky).
  // An empty job completes at once.
  void submit(std::unique_ptr<WriteJob> job, std::function<void(Status)> done);
  bool write_in_flight() const noexcept { return write_in_flight_; }

  // Removes every batch holding an offset at or above `offset` (a follower cutting a tail that
  // diverges from its leader). A batch that holds `offset` is removed whole, so the new log end
  // (returned) may be below `offset`; nothing happens when `offset` is at or past the log end.
  // Later segments are deleted, the one holding `offset` is cut; the cut is made durable by the
  // next flush (scheduled now). Durability waits for removed batches fail with out_of_range.
  // `offset` below the log start is out_of_range. Reads the cut segment from its nearest index
  // entry.
  Result<Offset> truncate_to(Offset offset);

  // Whole batches starting with the one that holds `from`, up to `max_bytes` (the first batch is
  // returned whole even if larger, as Kafka does) and never past `upper_bound` (exclusive;
  // defaults to the log end). `from` below the log start or above the log end is out_of_range;
  // `from == log end` returns no data.
  Result<ReadResult> read(Offset from, size_t max_bytes,
                          std::optional<Offset> upper_bound = std::nullopt);
  // The path of the segment file with base offset `segment` (it need not exist any more).
  std::string segment_path(Offset segment) const;

  // Leader epochs (see "Leader epochs" above). The epoch of the last batch, or of the newest
  // entry when retention left the log empty; -1 when the log has none.
  LeaderEpoch last_epoch() const noexcept { return epochs_.last_epoch(); }
  // Kafka's OffsetForLeaderEpoch answer: the largest epoch <= `epoch` in the log and its end
  // offset (the next epoch's start, or the log end); an epoch newer than all gives {last epoch,
  // log end}; none at or below `epoch`: {-1, -1}.
  EpochEndOffset end_of_epoch(LeaderEpoch epoch) const {
    return epochs_.end_of_epoch(epoch, end_offset_);
  }
  const std::vector<EpochEntry>& epoch_entries() const noexcept { return epochs_.entries(); }

  // ListOffsets by timestamp: the offset of the first record with timestamp >= `timestamp_ms`,
  // or nullopt if there is none.
  Result<std::optional<Offset>> offset_for_timestamp(int64_t timestamp_ms);

  Offset log_start_offset() const noexcept;
  Offset log_end_offset() const noexcept { return end_offset_; }
  Offset durable_offset() const noexcept { return durable_offset_; }  // all below is on disk
  uint64_t size_bytes() const noexcept;
  // Stored bytes from the batch holding `from` to the log end: exact from the segment's index
  // entry at or before `from` (so over by less than the index interval), the whole segment when
  // its index is not loaded. 0 at or past the log end.
  uint64_t bytes_from(Offset from) const;
  size_t segment_count() const noexcept { return segments_.size(); }
  // The base offset of the segment appends go to; changes when the log rolls.
  Offset active_segment_base() const noexcept;
  const std::string& dir() const noexcept { return dir_; }
  const LogConfig& config() const noexcept { return config_; }
  void set_config(const LogConfig& config) { config_ = config; }
  // fdatasync rounds completed so far (group commit makes this lower than the appends).
  uint64_t flush_count() const noexcept { return flush_count_; }
  // The sticky error, if the log has failed.
  const std::optional<Error>& failure() const noexcept { return failure_; }
  // Whether appends are paused because the disk was full at the last write.
  bool full() const noexcept { return full_; }
  static constexpr int64_t kFullProbeIntervalMs = 1000;

  // Requests a flush of everything appended so far; `done` (may be empty) fires on the loop when
  // it is durable. Inline when the log has no loop.
  void flush(DurableCallback done = {});

  // Deletes whole sealed segments past retention.ms / retention.bytes. Never deletes records at
  // or above `keep_from` (the "keep until mirrored" floor) unless `disk_nearly_full`.
  Result<RetentionResult> apply_retention(std::optional<Offset> keep_from = std::nullopt,
                                          bool disk_nearly_full = false);

  // The disk-full policy drop_oldest (broker/disk_guard.h): deletes the oldest segment whatever
  // retention and the keep-until-mirrored floor say; the log start moves to the next segment.
  // When only the active segment is left it is rolled first (if it holds records, no write job
  // is in flight and it is all on disk), so the whole log can go but the empty new segment.
  // nullopt: nothing can be dropped now (empty, a write in flight, not yet durable).
  Result<std::optional<DroppedSegment>> drop_oldest_segment();

  // Rolls the active segment now if segment.ms has passed (the broker calls this periodically;
  // append also checks).
  Status maybe_roll();

  // Open side, with LogOptions::caller_syncs_tail (loop thread): what is left to sync; nothing
  // (empty files, no recovery point) when the log is durable.
  // Once taken, the log's own flushes leave recovery.point to the start-up sync until
  // tail_synced(), so the two never write it at once.
  TailSync tail_sync();
  // Thread pool: opens each file of `sync` through `fs` (one descriptor at a time), fdatasyncs
  // it, then writes the recovery point. Touches nothing but `sync`.
  static void run_tail_sync(TailSync& sync, platform::FileSystem& fs);
  // Loop thread, after run_tail_sync: marks the segments durable (or fails the log).
  void tail_synced(const TailSync& sync);

  // Compaction (storage/cleaner.h), loop thread. The sealed segments (all but the active one),
  // oldest first: offsets [base, end), .log size, and whether all of it is durable.
  struct SealedSegmentInfo {
    Offset base;
    Offset end;
    uint64_t size = 0;
    bool durable = false;
  };
  std::vector<SealedSegmentInfo> sealed_segments() const;
  // The newest maxTimestamp of sealed segment `base` (computed lazily, as retention does).
  Result<int64_t> segment_max_timestamp(Offset base);
  // The offset below which the log was cleaned (`cleaner.point`, read at open), if known.
  std::optional<Offset> cleaner_point() const noexcept { return cleaner_point_; }
  void set_cleaner_point(Offset point) noexcept { cleaner_point_ = point; }
  // The earliest delete horizon of a tombstone the last pass kept (not persisted): once it has
  // passed, the log is worth a pass even with nothing dirty.
  std::optional<int64_t> tombstone_horizon_ms() const noexcept { return tombstone_horizon_; }
  void set_tombstone_horizon_ms(std::optional<int64_t> ms) noexcept { tombstone_horizon_ = ms; }
  bool closed() const noexcept { return closed_; }
  platform::FileSystem& file_system() const noexcept { return *fs_; }

  // Flushes and stops timers; `done` fires on the loop when everything is durable (after a write
  // job in flight has completed). After close, appends and begin_write fail with closed. Safe to
  // destroy the Log once `done` has fired.
  void close(std::function<void(Status)> done = {});

 private:
  friend class Flusher;
  // Swaps cleaned segments in (storage/cleaner_swap.cc).
  friend Result<size_t> commit_cleaned(Log& log, const std::vector<CleanedSegment>& cleaned);
  Log(std::string dir, const LogConfig& config, const LogOptions& options);
  Status recover(bool caller_syncs_tail);
  Status roll(Offset new_base);
  bool should_roll(size_t next_batch_bytes) const;
  // Whether a batch of `next_batch_bytes` goes to a new segment after one holding `size` bytes
  // from `base` on, created at `created_ms`, when the batch gets offset `next`.
  bool should_roll_at(uint64_t size, Offset base, int64_t created_ms, Offset next,
                      size_t next_batch_bytes) const;
  Status check_writable();
  // Leader epochs (log_epochs.cc). At open: reads, clips and checks the cache file, or rebuilds
  // it from the batch headers, and writes it when it changed.
  Status load_epochs();
  Result<LeaderEpochCache> scan_epochs();
  // The partitionLeaderEpoch of the last batch (header reads only); nullopt when empty.
  Result<std::optional<LeaderEpoch>> last_batch_epoch();
  // A write job about to run: notes the epochs its batches start, and gives it a snapshot of
  // the cache to write first when it starts an epoch or the file is behind.
  void prepare_epochs(WriteJob& job);
  // The cache changed outside a write job: write it off the loop (or with the next job).
  void epochs_changed();
  void persist_epochs();
  // Back on the loop: takes a job's batches into the log, or its failure.
  Status complete_write(WriteJob& job);
  std::optional<Offset> read_recovery_point() const;
  Status write_recovery_point(Offset base);
  void schedule_flush(bool now);
  // A flush's part for this log (null: nothing to sync), and taking its outcome; the Flusher
  // calls both on the loop.
  std::unique_ptr<LogFlush> prepare_flush();
  void complete_flush(LogFlush& job);
  void fire_waiters();
  void fail(Error error);
  Segment& active() { return *segments_.back(); }
  size_t segment_index_for(Offset offset) const;
  Offset segment_end(size_t i) const;

  std::string dir_;
  LogConfig config_;
  platform::FileSystem* fs_ = nullptr;  // the pool's
  uv_loop_t* loop_;
  const Clock* clock_;
  std::shared_ptr<Flusher> flusher_;  // null without a loop
  std::shared_ptr<FilePool> pool_;    // before segments_: their files unregister from it
  std::vector<std::unique_ptr<Segment>> segments_;  // by base offset; back() is active
  Offset end_offset_{0};
  Offset durable_offset_{0};
  int64_t unflushed_records_ = 0;
  uint64_t flush_count_ = 0;
  bool flush_in_flight_ = false;    // asked the Flusher, or its job for this log runs
  bool flush_wanted_ = false;       // another flush was asked for while one ran
  bool tail_sync_pending_ = false;  // a start-up sync (tail_sync()) may write recovery.point
  bool closed_ = false;
  bool write_in_flight_ = false;
  // close() called while a write job was in flight: run once it completes.
  std::optional<std::function<void(Status)>> close_after_write_;
  bool dir_dirty_ = false;    // a segment file was created since the last directory fsync
  uint64_t truncations_ = 0;  // truncate_to calls; a flush prepared before one is discarded
  // The base of the oldest segment that may hold bytes not yet durable, as last written to
  // `recovery.point`: every older segment is durable in full. Advanced by flush jobs.
  Offset recovery_point_{0};
  std::optional<Error> failure_;
  LeaderEpochCache epochs_;
  std::shared_ptr<EpochCacheFile> epoch_file_;
  uint64_t epoch_sequence_ = 0;               // of the last snapshot handed to a writer
  bool epochs_dirty_ = false;                 // changed since the last snapshot handed to a writer
  int epoch_persists_ = 0;                    // persist jobs on the thread pool
  std::optional<Offset> cleaner_point_;       // see cleaner_point()
  std::optional<int64_t> tombstone_horizon_;  // see tombstone_horizon_ms()
  bool full_ = false;
  int64_t full_probe_ms_ = 0;  // when appends may next try the disk while full
  struct Waiter {
    Offset until;  // durable once durable_offset_ >= until
    DurableCallback cb;
  };
  std::vector<Waiter> waiters_;     // in offset order
  std::unique_ptr<UvTimer> timer_;  // flush.ms timer; null without a loop
};

}  // namespace ferry::storage
