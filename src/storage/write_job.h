// A write job of one partition log: batches given their offsets on the loop (Log::begin_write,
// Log::add), written into the log's segment files on libuv's thread pool — creating the next
// segment (preallocation, stale index removal) when the log rolls — and applied to the log back
// on the loop (Log::submit). See log.h, "Write jobs".
//
// Ownership and threads. Built on the loop; while it runs on the thread pool, run() touches only
// this job: its paths, the file handles it holds (they keep the files open whatever the FilePool
// or a topic deletion does meanwhile), the batch bytes (owned here or kept alive by the caller
// until the job completes) and the thread-safe FileSystem. The segments it creates are owned here
// until the loop adds them to the log. The job keeps its Log alive until it is back on the loop.
#pragma once

#include <uv.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/strong_types.h"
#include "platform/file_system.h"
#include "storage/epoch_cache.h"

namespace ferry::storage {

class Log;
class Segment;
struct AppendInfo;

struct WriteJob {
  WriteJob();
  ~WriteJob();  // out of line: Segment is incomplete here
  WriteJob(const WriteJob&) = delete;
  WriteJob& operator=(const WriteJob&) = delete;

  // One batch: written as `prefix` (its base offset, big-endian) then `bytes` from byte 8 on,
  // so the caller's bytes are not modified.
  struct Batch {
    std::span<const std::byte> bytes;
    std::array<std::byte, 8> prefix{};
    uint64_t position = 0;  // in its target's file
    Offset base_offset;
    Offset last_offset;
    int64_t max_timestamp = -1;
    int32_t records = 0;
  };
  // One segment file the job writes: the log's active segment, or a segment it creates.
  struct Target {
    Segment* segment = nullptr;            // the log's active segment, or created.get()
    std::unique_ptr<Segment> created;      // set: this job creates the segment (a roll)
    std::string path;                      // the .log file
    std::string index_paths[2];            // created: stale .index/.timeindex removed first
    std::shared_ptr<platform::File> file;  // null: opened on the thread pool
    std::shared_ptr<platform::File> index_files[2];  // created: its empty index files
    bool opened_here = false;                        // run() opened or created `file`
    uint64_t start = 0;                              // file position of the first byte written
    uint64_t end = 0;                                // position after the last byte written
    size_t first_batch = 0;  // batches[first_batch, first_batch + batch_count)
    size_t batch_count = 0;
    int64_t created_ms = 0;
  };

  std::vector<Batch> batches;
  std::vector<Target> targets;
  std::vector<std::vector<std::byte>> owned;  // batch bytes handed over with Log::add
  Offset next_offset;                         // the offset the next batch added gets
  // Leader epochs the job's batches start (taken into the log's cache when it completes), and
  // the cache file to write before any batch (set by the log when the job starts an epoch or
  // the file is behind; see log.h, "Leader epochs").
  std::vector<EpochEntry> new_epochs;
  std::shared_ptr<EpochCacheFile> epoch_file;
  std::string epoch_text;
  uint64_t epoch_sequence = 0;
  uint64_t preallocate = 0;
  platform::FileSystem* fs = nullptr;

  // Outcome (thread pool, read on the loop after).
  Status result;
  bool rolled_back = true;  // after a failure: every file is back as it was (else: unknown)

  // Submission.
  uv_work_t req{};
  std::shared_ptr<Log> log;
  std::function<void(Status)> done;

  bool empty() const noexcept { return batches.empty(); }
  AppendInfo info(size_t i) const;

  // Thread pool (or inline without a loop): creates, writes and on failure undoes; sets `result`.
  void run();
};

}  // namespace ferry::storage
