// Process-wide counters of bytes written to the data directory. See flash_accounting.h.
#include "common/flash_accounting.h"

#include <atomic>

namespace ferry::flash {
namespace {

std::array<std::atomic<uint64_t>, kWriteKinds> g_written{};

size_t index_of(WriteKind kind) noexcept { return static_cast<size_t>(kind); }

}  // namespace

std::string_view kind_name(WriteKind kind) noexcept {
  switch (kind) {
    case WriteKind::log_append: return "log_append";
    case WriteKind::index: return "index";
    case WriteKind::recovery: return "recovery";
    case WriteKind::meta_db: return "meta_db";
    case WriteKind::meta_wal: return "meta_wal";
    case WriteKind::checkpoint: return "checkpoint";
    case WriteKind::compaction: return "compaction";
  }
  return "unknown";
}

void count_written(WriteKind kind, uint64_t bytes) noexcept {
  g_written[index_of(kind)].fetch_add(bytes, std::memory_order_relaxed);
}

uint64_t written(WriteKind kind) noexcept {
  return g_written[index_of(kind)].load(std::memory_order_relaxed);
}

std::array<uint64_t, kWriteKinds> written_by_kind() noexcept {
  std::array<uint64_t, kWriteKinds> out{};
  for (size_t i = 0; i < kWriteKinds; ++i) out[i] = g_written[i].load(std::memory_order_relaxed);
  return out;
}

}  // namespace ferry::flash
