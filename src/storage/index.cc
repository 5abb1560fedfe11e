// Sparse offset/time index: lookups, loading with validation, and append-only persistence.
#include "storage/index.h"

#include <algorithm>

#include "common/bytes.h"
#include "platform/file.h"

namespace ferry::storage {

void SparseIndex::truncate_at_position(uint64_t position) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const IndexEntry& e) { return e.position >= position; });
  entries_.erase(it, entries_.end());
  persisted_ = std::min(persisted_, entries_.size());
}

const IndexEntry* SparseIndex::floor_offset(uint32_t relative) const noexcept {
  auto it =
      std::upper_bound(entries_.begin(), entries_.end(), relative,
                       [](uint32_t rel, const IndexEntry& e) { return rel < e.relative_offset; });
  return it == entries_.begin() ? nullptr : &*(it - 1);
}

const IndexEntry* SparseIndex::floor_timestamp(int64_t timestamp) const noexcept {
  // max_timestamp_before is non-decreasing, so the entries below `timestamp` form a prefix.
  auto it = std::partition_point(entries_.begin(), entries_.end(), [&](const IndexEntry& e) {
    return e.max_timestamp_before < timestamp;
  });
  return it == entries_.begin() ? nullptr : &*(it - 1);
}

Result<SparseIndex> SparseIndex::load(const platform::File& index, const platform::File& timeindex,
                                      uint64_t log_size) {
  auto isize = index.size();
  if (!isize) return std::move(isize).error();
  auto tsize = timeindex.size();
  if (!tsize) return std::move(tsize).error();
  uint64_t count = std::min(*isize / kOffsetEntrySize, *tsize / kTimeEntrySize);
  if (*isize / kOffsetEntrySize != *tsize / kTimeEntrySize) {
    return Error(Errc::corrupt, index.path() + ": index and time index lengths differ");
  }
  std::vector<std::byte> ibuf(static_cast<size_t>(count * kOffsetEntrySize));
  std::vector<std::byte> tbuf(static_cast<size_t>(count * kTimeEntrySize));
  FERRY_TRY(index.pread_exact(ibuf, 0));
  FERRY_TRY(timeindex.pread_exact(tbuf, 0));

  SparseIndex out;
  out.entries_.reserve(static_cast<size_t>(count));
  for (size_t i = 0; i < count; ++i) {
    IndexEntry e;
    e.relative_offset = load_be32(ibuf.data() + i * kOffsetEntrySize);
    e.position = load_be32(ibuf.data() + i * kOffsetEntrySize + 4);
    e.max_timestamp_before = load_i64(tbuf.data() + i * kTimeEntrySize);
    uint32_t trel = load_be32(tbuf.data() + i * kTimeEntrySize + 8);
    bool ordered = out.entries_.empty() ||
                   (e.relative_offset > out.entries_.back().relative_offset &&
                    e.position > out.entries_.back().position &&
                    e.max_timestamp_before >= out.entries_.back().max_timestamp_before);
    if (trel != e.relative_offset || !ordered || e.position == 0 || e.position >= log_size) {
      return Error(Errc::corrupt, index.path() + ": inconsistent entry " + std::to_string(i));
    }
    out.entries_.push_back(e);
  }
  out.persisted_ = out.entries_.size();
  return out;
}

namespace {
void encode(const IndexEntry& e, std::byte* ib, std::byte* tb) {
  store_be32(ib, e.relative_offset);
  store_be32(ib + 4, e.position);
  store_i64(tb, e.max_timestamp_before);
  store_be32(tb + 8, e.relative_offset);
}
}  // namespace

Status SparseIndex::persist(platform::File& index, platform::File& timeindex,
                            uint64_t durable_position, flash::WriteKind kind) {
  size_t end = persisted_;
  while (end < entries_.size() && entries_[end].position < durable_position) ++end;
  if (end == persisted_) return {};
  size_t n = end - persisted_;
  std::vector<std::byte> ibuf(n * kOffsetEntrySize), tbuf(n * kTimeEntrySize);
  for (size_t i = 0; i < n; ++i) {
    encode(entries_[persisted_ + i], ibuf.data() + i * kOffsetEntrySize,
           tbuf.data() + i * kTimeEntrySize);
  }
  FERRY_TRY(index.pwrite_all(ibuf, uint64_t{persisted_} * kOffsetEntrySize));
  flash::count_written(kind, ibuf.size());
  FERRY_TRY(timeindex.pwrite_all(tbuf, uint64_t{persisted_} * kTimeEntrySize));
  flash::count_written(kind, tbuf.size());
  persisted_ = end;
  return {};
}

Status SparseIndex::rewrite(platform::File& index, platform::File& timeindex,
                            uint64_t durable_position) {
  FERRY_TRY(index.truncate(0));
  FERRY_TRY(timeindex.truncate(0));
  persisted_ = 0;
  return persist(index, timeindex, durable_position, flash::WriteKind::recovery);
}

}  // namespace ferry::storage
