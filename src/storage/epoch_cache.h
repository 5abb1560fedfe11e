// The leader-epoch cache of a partition log: for every leader epoch stamped in the log's batches,
// the offset of its first batch, and the file that keeps it, `leader-epoch.cache`.
//
// Entries are strictly increasing in both epoch and start offset. Epoch e covers the offsets
// [start(e), start(next entry)), the last one up to the log end. Batches stamped with a negative
// epoch (never stamped) add no entry.
//
// File format (text, ASCII, LF; docs/storage-format.md, "Leader-epoch cache"):
//   ferry-leader-epochs 1            the format and its version
//   <epoch> <start offset>           one line per entry, decimal, oldest first
//   crc <8 lowercase hex digits>     CRC32C of every byte before this line
// A file that does not parse, whose CRC does not match, or whose entries are not increasing is
// unreadable; the log then rebuilds the cache from its batch headers.
//
// Threading: LeaderEpochCache is a plain value owned by its Log (loop thread). EpochCacheFile
// writes snapshots of it from any thread (write jobs and persist jobs on the thread pool, the
// loop at open) and is shared by them.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/strong_types.h"
#include "platform/file_system.h"

namespace ferry::storage {

inline constexpr const char* kEpochCacheFile = "leader-epoch.cache";

struct EpochEntry {
  LeaderEpoch epoch;
  Offset start_offset;
  bool operator==(const EpochEntry&) const = default;
};

// The end of one epoch in a log: the largest epoch <= the one asked about that the log holds,
// and the offset after its last batch. {-1, -1} when the log holds none.
struct EpochEndOffset {
  LeaderEpoch epoch{-1};
  Offset end_offset{-1};
  bool operator==(const EpochEndOffset&) const = default;
};

class LeaderEpochCache {
 public:
  const std::vector<EpochEntry>& entries() const noexcept { return entries_; }
  bool empty() const noexcept { return entries_.empty(); }
  // The newest epoch, or -1 when empty.
  LeaderEpoch last_epoch() const noexcept;

  // A batch stamped `epoch` starts at `offset`: adds an entry when `epoch` is above the last
  // one (negative epochs add nothing). Returns whether an entry was added. An epoch at or below
  // the last one changes nothing (a batch of an older epoch after a newer one is the writer's
  // error, not the cache's to fix).
  bool assign(LeaderEpoch epoch, Offset offset);
  // The log now ends at `end`: entries starting at or after it go. Returns whether any did.
  bool truncate_from_end(Offset end);
  // The log now starts at `start`: entries wholly below it go, and the entry covering `start`
  // is moved up to it. Returns whether anything changed.
  bool truncate_from_start(Offset start);
  void clear() noexcept { entries_.clear(); }

  // Kafka's OffsetForLeaderEpoch answer for a log ending at `log_end`: the largest epoch <=
  // `epoch` and the start of the next epoch after it (or `log_end` when it is the last one).
  // An epoch newer than all gives {last epoch, log_end}; older than all (or empty): {-1, -1}.
  EpochEndOffset end_of_epoch(LeaderEpoch epoch, Offset log_end) const;

  std::string encode() const;
  // Parses a file's contents; corrupt when unreadable (see the file comment).
  static Result<LeaderEpochCache> decode(std::span<const std::byte> bytes);
  // Entries given as they are; invalid_argument unless increasing in epoch and offset.
  static Result<LeaderEpochCache> from_entries(std::vector<EpochEntry> entries);

  bool operator==(const LeaderEpochCache&) const = default;

 private:
  std::vector<EpochEntry> entries_;
};

// The cache file of one log, written atomically (temporary file, fsync, rename, directory
// fsync). Snapshots carry a sequence number taken on the loop when the snapshot was made; a
// snapshot older than the one already written is skipped, so writers on several threads leave
// the newest on disk. Thread-safe: write() holds a mutex for the whole write.
class EpochCacheFile {
 public:
  EpochCacheFile(platform::FileSystem& fs, std::string dir);
  const std::string& path() const noexcept { return path_; }
  // Writes `text` unless a snapshot with a higher sequence number was written already.
  Status write(uint64_t sequence, const std::string& text);
  // Reads the file: nullopt when it does not exist.
  Result<std::optional<std::vector<std::byte>>> read() const;

 private:
  platform::FileSystem& fs_;
  std::string path_;
  std::mutex mu_;
  uint64_t written_ = 0;  // the sequence number on disk (guarded by mu_)
};

}  // namespace ferry::storage
