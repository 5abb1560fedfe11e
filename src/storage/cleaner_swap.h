// Crash-safe replacement of sealed segments by their cleaned copies, the recovery of a swap a
// crash interrupted, and the `cleaner.point` file. The protocol (docs/storage-format.md,
// "Compaction: cleaned segments and the swap"):
//
//   1. thread pool: each cleaned segment is written as `<base>.log.cleaned`, fdatasync'ed; then
//      the directory is fsynced. A crash here leaves only `.cleaned` files: recovery deletes
//      them (the old segments are whole).
//   2. loop (commit_cleaned): every `.cleaned` is renamed to `<base>.log.swap`. The first rename
//      is the commit point: from then on recovery completes the swap of every `.cleaned` and
//      `.swap` file of the directory, which are all complete and durable (step 1).
//   3. loop: for each segment, its `.index` and `.timeindex` are removed, `.swap` is renamed over
//      `.log` (atomic replacement) and the in-memory Segment is replaced, so no reader on the
//      loop sees a half-swapped log; reads in flight elsewhere keep their open handles on the
//      old inode, which stays valid until they close it.
//   4. thread pool: the directory is fsynced and `cleaner.point` written (atomically).
//
// Recovery (finish_cleaner_swaps, at Log::open before the segments are listed) therefore finds
// either no `.swap` (discard every `.cleaned`: old segments) or at least one (finish all: new
// segments), never a mix of a committed and an uncommitted pass, and logs what it did.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/strong_types.h"
#include "platform/file_system.h"

namespace ferry::storage {

class Log;

inline constexpr const char* kCleanedSuffix = ".cleaned";
inline constexpr const char* kSwapSuffix = ".swap";
inline constexpr const char* kCleanerPointFile = "cleaner.point";

// `<dir>/<base>.log.cleaned` and `<dir>/<base>.log.swap`.
std::string cleaned_path(const std::string& dir, Offset base);
std::string swap_path(const std::string& dir, Offset base);

// What recovery did with the leftovers of a pass.
struct SwapRecovery {
  size_t finished = 0;   // segments replaced by their cleaned copy
  size_t discarded = 0;  // `.cleaned` files of an uncommitted pass removed
};
// Completes or discards an interrupted swap in `dir` (see above) and logs it at WARN. Called by
// Log::recover before it lists the segments; any thread, touches only the directory.
Result<SwapRecovery> finish_cleaner_swaps(platform::FileSystem& fs, const std::string& dir);

// `cleaner.point`: ASCII decimal offset + LF, the offset below which the log has been cleaned
// (Kafka's cleaner checkpoint). nullopt when absent or unreadable (the whole log counts as dirty).
std::optional<Offset> read_cleaner_point(platform::FileSystem& fs, const std::string& dir);
Status write_cleaner_point(platform::FileSystem& fs, const std::string& dir, Offset point);

// One segment of a pass: the cleaned copy of sealed segment `base`, which had `old_size` bytes
// when the pass planned it.
struct CleanedSegment {
  Offset base;
  uint64_t old_size = 0;
  uint64_t new_size = 0;
};

// The loop's part of the protocol (steps 2-3) for `log`. Segments the log no longer has (deleted
// by retention meanwhile) are skipped and their `.cleaned` removed; if any other has changed
// (another size, now the active segment), or the log is closed or failed, nothing is swapped and
// every `.cleaned` is removed (error invalid_argument: the pass is simply lost). Returns the
// number of segments swapped. Loop thread.
Result<size_t> commit_cleaned(Log& log, const std::vector<CleanedSegment>& cleaned);
// Removes the `.cleaned` files of `cleaned` (an abandoned pass), durably.
void discard_cleaned(platform::FileSystem& fs, const std::string& dir,
                     const std::vector<CleanedSegment>& cleaned);

}  // namespace ferry::storage
