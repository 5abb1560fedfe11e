// One segment of a partition log: `<base>.log` holding record batches back to back, with its
// sparse `.index` and `.timeindex` (see index.h). Files are reached through the shared FilePool.
//
// Loop thread only, except that the File handles it hands out may be fdatasync'ed and written
// (a write job, write_job.h) on the thread pool, and create_files() runs on either.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/strong_types.h"
#include "protocol/record_batch.h"
#include "storage/file_pool.h"
#include "storage/index.h"

namespace ferry::storage {

// One batch found by a scan: where it is and what its header says.
struct ScannedBatch {
  uint64_t position = 0;
  uint32_t size = 0;
  Offset base_offset;
  Offset last_offset;
  int64_t max_timestamp = -1;
};

// What a scan from some position found: the valid prefix and, if it stopped early, why.
struct ScanResult {
  uint64_t valid_end = 0;      // position just after the last valid batch
  Offset next_offset;          // offset after the last valid batch (or the expected start)
  int64_t max_timestamp = -1;  // largest maxTimestamp among the scanned batches
  std::optional<std::string> stop_reason;  // set when bytes after valid_end are not a batch
};

class Segment {
 public:
  // Registers the three files with `pool` (nothing is opened). `size` is the .log size.
  Segment(const std::string& dir, Offset base, uint64_t size, FilePool& pool,
          uint32_t index_interval_bytes);
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // Creates the empty .log file (create_new), optionally reserving `preallocate` bytes.
  Status create(uint64_t preallocate);
  // What create() does to the files, for a write job on the thread pool: creates `log_path`
  // (create_new), reserves `preallocate` bytes, removes stale index files of an earlier segment
  // with the same base, and returns the open handle. Touches nothing but the file system.
  static Result<platform::File> create_files(platform::FileSystem& fs, const std::string& log_path,
                                             const std::string (&index_paths)[2],
                                             uint64_t preallocate);
  // For a write job on the thread pool, after create_files: creates the empty .index and
  // .timeindex files (the first index write would otherwise create them on the loop).
  static Result<std::pair<platform::File, platform::File>> create_index_files(
      platform::FileSystem& fs, const std::string (&index_paths)[2]);
  // Loop: makes this segment (constructed with size 0) a new one whose files a write job
  // creates: an empty, loaded index, created at `created_ms`.
  void start_new(int64_t created_ms);
  // Loop, after a write job wrote a batch at `position` (the current size): takes it into the
  // size, the index and the next offset.
  void written(uint64_t position, uint32_t size, Offset base_offset, Offset last_offset,
               int64_t max_timestamp);
  // The paths of the .index and .timeindex files.
  void index_paths(std::string (&out)[2]) const;
  // The .log handle if the pool has it open (null otherwise; nothing is opened), and handing
  // the pool a handle a write job opened, so the next job does not open the file again.
  std::shared_ptr<platform::File> open_log_file();
  void adopt_log_file(std::shared_ptr<platform::File> file);
  void adopt_index_files(std::shared_ptr<platform::File> index,
                         std::shared_ptr<platform::File> time);

  Offset base() const noexcept { return base_; }
  uint64_t size() const noexcept { return size_; }
  uint64_t durable_size() const noexcept { return durable_size_; }
  void set_durable_size(uint64_t s) noexcept { durable_size_ = s; }
  Offset next_offset() const noexcept { return next_offset_; }
  void set_next_offset(Offset o) noexcept { next_offset_ = o; }
  int64_t max_timestamp() const noexcept { return max_timestamp_; }
  bool max_timestamp_known() const noexcept { return max_timestamp_known_; }
  int64_t created_ms() const noexcept { return created_ms_; }
  void set_created_ms(int64_t ms) noexcept { created_ms_ = ms; }
  bool empty() const noexcept { return size_ == 0; }
  std::string log_path() const;

  // Writes a batch at the end of the .log with `base` as its base offset (the caller's bytes are
  // not modified: the 8-byte base offset is written from a patched copy).
  Status append(const protocol::BatchView& batch, Offset base);

  // Walks batches from `position`, validating each fully (length, CRC, records) and requiring
  // base offsets >= `expected`; stops at the first bad or incomplete one.
  Result<ScanResult> scan(uint64_t position, Offset expected, uint32_t max_batch_bytes,
                          std::vector<ScannedBatch>* found = nullptr);

  // Recovery of a possibly torn tail: loads (or rebuilds) the index, scans from its last entry,
  // truncates the file after the last valid batch (logging what was cut), and fixes the index.
  // Returns true if bytes were cut.
  Result<bool> recover_tail(uint32_t max_batch_bytes);

  // Makes sure the index is in memory (loading lazily, rebuilding a missing or bad one).
  Status ensure_index(uint32_t max_batch_bytes);
  // Largest indexed position at or before `offset` (0 without an entry).
  uint64_t index_position_for(Offset offset) const;
  // Position to start a timestamp search from (0 without an entry).
  uint64_t index_position_for_timestamp(int64_t timestamp) const;

  // Reads whole batches starting at the one holding `from`: appends to `out`, at most
  // `budget` bytes unless `out` is empty (then the first batch is returned whole), only batches
  // that end at or below `upper`. Returns the offset after the last batch appended (or `from`);
  // `start_position` (optional) receives the file position the appended bytes begin at.
  Result<Offset> read(Offset from, size_t budget, Offset upper, std::vector<std::byte>& out,
                      size_t* batches, uint32_t max_batch_bytes,
                      uint64_t* start_position = nullptr);

  // Truncates the .log (and index) to `position`.
  Status truncate(uint64_t position);
  // Persists index entries for batches below the durable size.
  Status persist_index();
  // Handle to the .log file (for the flush job).
  Result<std::shared_ptr<platform::File>> log_file();
  // Deletes the three files (durably) and unregisters them; destroy the Segment afterwards.
  Status remove();

  // Header of the first batch, or nullopt for an empty segment.
  Result<std::optional<ScannedBatch>> first_batch();

  // The max timestamp of a sealed segment, computed lazily from the index and a tail scan.
  Result<int64_t> compute_max_timestamp(uint32_t max_batch_bytes);

 private:
  Status rebuild_index(uint32_t max_batch_bytes);
  void note_batch(uint64_t position, uint32_t size, Offset base_offset, int64_t max_timestamp);
  Result<std::shared_ptr<platform::File>> index_file(FileId id);

  std::string dir_;
  Offset base_;
  uint64_t size_;
  uint64_t durable_size_;
  Offset next_offset_;
  int64_t max_timestamp_ = -1;
  bool max_timestamp_known_ = false;
  int64_t created_ms_ = 0;
  FilePool& pool_;
  FileId log_id_, index_id_, time_id_;
  uint32_t index_interval_;
  std::optional<SparseIndex> index_;  // loaded lazily for sealed segments
  uint64_t bytes_since_entry_ = 0;
};

}  // namespace ferry::storage
