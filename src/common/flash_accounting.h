// Flash accounting: bytes ferry writes to its data directory, counted by kind at the places
// that write them, so the write amplification of each path can be watched on a gateway whose
// SD card or eMMC wears with every byte (exported as ferry_data_written_bytes_total{kind} and in
// /v1/status; docs/storage-format.md, "Flash writes", lists what each kind covers).
//
// Counts are bytes handed to successful write calls (pwrite/pwritev), not what the device
// finally programs (file system journal, page rounding): /proc/self/io write_bytes measures
// that. Truncation and fallocate count nothing.
//
// Process-wide counters: every Log, MetaStore and cleaner of the process adds to the same totals.
// Thread-safe and cheap: one relaxed atomic add per write call, from the loop or the thread pool
// (64-bit atomics are lock-free on armhf's ARMv7 too).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ferry::flash {

enum class WriteKind : uint8_t {
  log_append,  // record batches appended to segment files
  index,       // offset and time index entries written as segments grow
  recovery,    // rewrites at start-up recovery (indexes rebuilt from a scanned segment)
  meta_db,     // meta.db (SQLite main database file, checkpoints from its WAL included)
  meta_wal,    // meta.db-wal (SQLite write-ahead log)
  checkpoint,  // small state files: recovery.point, partition identity files, the disk reserve
  compaction,  // cleaned segments and their indexes written by the log cleaner
};
inline constexpr size_t kWriteKinds = 7;

// The label of a kind in /metrics and /v1/status ("log_append", "meta_wal", ...).
std::string_view kind_name(WriteKind kind) noexcept;

// Adds `bytes` written for `kind`. Any thread.
void count_written(WriteKind kind, uint64_t bytes) noexcept;

// The bytes written for `kind` since the process started. Any thread.
uint64_t written(WriteKind kind) noexcept;

// Every kind's count, indexed by WriteKind, read one after another (not one atomic snapshot).
std::array<uint64_t, kWriteKinds> written_by_kind() noexcept;

}  // namespace ferry::flash
