// The sparse per-segment indexes: offset -> file position (.index) and timestamp -> offset
// (.timeindex). Both are append-only arrays of fixed-size big-endian entries:
//
//   .index      8 bytes  relative offset uint32 | position uint32
//   .timeindex 12 bytes  timestamp int64        | relative offset uint32
//
// "Relative" is offset - segment base. One entry pair is added when at least
// index.interval.bytes of log have been written since the previous pair, pointing at the batch
// that starts there. The time entry's timestamp is the largest batch maxTimestamp seen in the
// segment *before* that batch, so every batch before the entry's offset has maxTimestamp <=
// the entry's timestamp. Entries go to disk only once the batches they point at are durable
// (they are never fsynced themselves: recovery validates them and rebuilds when in doubt).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/flash_accounting.h"
#include "common/result.h"

namespace ferry::platform {
class File;
}

namespace ferry::storage {

inline constexpr size_t kOffsetEntrySize = 8;
inline constexpr size_t kTimeEntrySize = 12;

struct IndexEntry {
  uint32_t relative_offset = 0;
  uint32_t position = 0;
  int64_t max_timestamp_before = -1;  // the .timeindex half
};

class SparseIndex {
 public:
  const std::vector<IndexEntry>& entries() const noexcept { return entries_; }
  size_t persisted() const noexcept { return persisted_; }
  bool empty() const noexcept { return entries_.empty(); }

  void add(const IndexEntry& e) { entries_.push_back(e); }
  // Drops entries at or after `position` (a truncated segment).
  void truncate_at_position(uint64_t position);
  void clear() {
    entries_.clear();
    persisted_ = 0;
  }

  // The entry with the largest relative offset <= `relative`, or nullptr (start of segment).
  const IndexEntry* floor_offset(uint32_t relative) const noexcept;
  // The last entry whose max_timestamp_before < `timestamp`, or nullptr (start of segment).
  const IndexEntry* floor_timestamp(int64_t timestamp) const noexcept;

  // Loads both files. Entries must be strictly increasing in offset and position, with position
  // < `log_size` and non-decreasing timestamps, and the two files must agree; otherwise the
  // result is corrupt and the caller rebuilds. A trailing partial entry is ignored.
  static Result<SparseIndex> load(const platform::File& index, const platform::File& timeindex,
                                  uint64_t log_size);
  // Appends the entries not yet on disk whose batches start below `durable_position`.
  // `kind`: what the bytes count as in flash accounting (common/flash_accounting.h).
  Status persist(platform::File& index, platform::File& timeindex, uint64_t durable_position,
                 flash::WriteKind kind = flash::WriteKind::index);
  // Rewrites both files from scratch with every entry below `durable_position`.
  Status rewrite(platform::File& index, platform::File& timeindex, uint64_t durable_position);

 private:
  std::vector<IndexEntry> entries_;
  size_t persisted_ = 0;  // entries_[0, persisted_) are in the files
};

}  // namespace ferry::storage
