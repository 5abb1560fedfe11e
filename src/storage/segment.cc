// Segment: appends, scans, tail recovery, reads and index upkeep for one .log file.
#include "storage/segment.h"

#include <algorithm>
#include <cinttypes>

#include "common/flash_accounting.h"
#include "common/log.h"
#include "platform/file.h"
#include "storage/segment_name.h"

namespace ferry::storage {
namespace {

namespace bl = protocol::batch_layout;

constexpr size_t kScanChunk = 1 << 20;
// Locating a read's first batch starts at an index entry, a few index intervals before it, so a
// small window covers the walk; a scan-sized one would read (and zero) a megabyte per fetch of
// each partition only to decode one header.
constexpr size_t kLocateChunk = 16 << 10;

// Header fields of a batch at the start of `p` (at least 61 bytes available).
ScannedBatch decode_header(const std::byte* p, uint64_t position) {
  protocol::BatchView v(std::span<const std::byte>(p, bl::kHeaderSize));
  ScannedBatch b;
  b.position = position;
  b.size = static_cast<uint32_t>(bl::kLogOverhead + static_cast<uint32_t>(v.batch_length()));
  b.base_offset = v.base_offset();
  b.last_offset = v.last_offset();
  b.max_timestamp = v.max_timestamp();
  return b;
}

// Reads the file sequentially through a window, so scans and reads issue few large preads.
class Window {
 public:
  Window(const platform::File& file, uint64_t file_size, size_t chunk = kScanChunk)
      : file_(file), file_size_(file_size), chunk_(chunk) {}

  // Makes [pos, pos+len) available (clamped to the file size); returns the bytes available.
  Result<std::span<const std::byte>> at(uint64_t pos, size_t len) {
    if (pos < start_ || pos + len > start_ + buf_.size()) {
      uint64_t remaining = file_size_ > pos ? file_size_ - pos : 0;
      size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(len, chunk_), remaining));
      buf_.resize(want);
      auto n = file_.pread_some(buf_, pos);
      if (!n) return std::move(n).error();
      buf_.resize(*n);
      start_ = pos;
    }
    size_t off = static_cast<size_t>(pos - start_);
    return std::span<const std::byte>(buf_).subspan(off, std::min(len, buf_.size() - off));
  }

 private:
  const platform::File& file_;
  uint64_t file_size_;
  size_t chunk_;
  uint64_t start_ = 0;
  std::vector<std::byte> buf_;
};

}  // namespace

Segment::Segment(const std::string& dir, Offset base, uint64_t size, FilePool& pool,
                 uint32_t index_interval_bytes)
    : dir_(dir),
      base_(base),
      size_(size),
      durable_size_(size),
      next_offset_(base),
      pool_(pool),
      index_interval_(index_interval_bytes) {
  log_id_ = pool_.add(dir + "/" + segment_file_name(base, SegmentFile::log),
                      platform::File::Mode::read_write);
  index_id_ = pool_.add(dir + "/" + segment_file_name(base, SegmentFile::index),
                        platform::File::Mode::create);
  time_id_ = pool_.add(dir + "/" + segment_file_name(base, SegmentFile::timeindex),
                       platform::File::Mode::create);
}

Segment::~Segment() {
  pool_.forget(log_id_);
  pool_.forget(index_id_);
  pool_.forget(time_id_);
}

std::string Segment::log_path() const { return pool_.path(log_id_); }

Result<std::shared_ptr<platform::File>> Segment::log_file() { return pool_.acquire(log_id_); }
Result<std::shared_ptr<platform::File>> Segment::index_file(FileId id) { return pool_.acquire(id); }

Result<platform::File> Segment::create_files(platform::FileSystem& fs, const std::string& log_path,
                                             const std::string (&index_paths)[2],
                                             uint64_t preallocate) {
  auto f = fs.open(log_path, platform::File::Mode::create_new);
  if (!f) return std::move(f).error();
  if (preallocate > 0) FERRY_TRY(f->allocate(0, preallocate));
  // Stale index files from an earlier segment with the same base would confuse recovery.
  for (const auto& p : index_paths) (void)fs.remove_file_durable(p);
  return f;
}

Result<std::pair<platform::File, platform::File>> Segment::create_index_files(
    platform::FileSystem& fs, const std::string (&index_paths)[2]) {
  auto idx = fs.open(index_paths[0], platform::File::Mode::create);
  if (!idx) return std::move(idx).error();
  auto tix = fs.open(index_paths[1], platform::File::Mode::create);
  if (!tix) return std::move(tix).error();
  return std::pair<platform::File, platform::File>(std::move(idx).value(), std::move(tix).value());
}

Status Segment::create(uint64_t preallocate) {
  std::string stale[2];
  index_paths(stale);
  auto f = create_files(pool_.fs(), log_path(), stale, preallocate);
  if (!f) return std::move(f).error();
  index_.emplace();  // a new segment starts with an empty, loaded index
  max_timestamp_known_ = true;
  return {};
}

void Segment::start_new(int64_t created_ms) {
  index_.emplace();
  max_timestamp_known_ = true;
  created_ms_ = created_ms;
}

void Segment::written(uint64_t position, uint32_t size, Offset base_offset, Offset last_offset,
                      int64_t max_timestamp) {
  note_batch(position, size, base_offset, max_timestamp);
  size_ = position + size;
  next_offset_ = last_offset + 1;
}

void Segment::index_paths(std::string (&out)[2]) const {
  out[0] = pool_.path(index_id_);
  out[1] = pool_.path(time_id_);
}

std::shared_ptr<platform::File> Segment::open_log_file() { return pool_.peek(log_id_); }

void Segment::adopt_log_file(std::shared_ptr<platform::File> file) {
  pool_.adopt(log_id_, std::move(file));
}

void Segment::adopt_index_files(std::shared_ptr<platform::File> index,
                                std::shared_ptr<platform::File> time) {
  pool_.adopt(index_id_, std::move(index));
  pool_.adopt(time_id_, std::move(time));
}

void Segment::note_batch(uint64_t position, uint32_t size, Offset base_offset,
                         int64_t max_timestamp) {
  if (index_ && position > 0 && bytes_since_entry_ >= index_interval_) {
    index_->add(IndexEntry{static_cast<uint32_t>(base_offset - base_),
                           static_cast<uint32_t>(position), max_timestamp_});
    bytes_since_entry_ = 0;
  }
  bytes_since_entry_ += size;
  max_timestamp_ = std::max(max_timestamp_, max_timestamp);
}

Status Segment::append(const protocol::BatchView& batch, Offset base) {
  auto f = log_file();
  if (!f) return std::move(f).error();
  std::byte prefix[8];
  store_i64(prefix, base.value());
  std::span<const std::byte> parts[] = {prefix, batch.bytes().subspan(sizeof prefix)};
  FERRY_TRY((*f)->pwritev_all(parts, size_));
  flash::count_written(flash::WriteKind::log_append, batch.size());
  note_batch(size_, static_cast<uint32_t>(batch.size()), base, batch.max_timestamp());
  size_ += batch.size();
  next_offset_ = base + batch.last_offset_delta() + 1;
  return {};
}

Result<ScanResult> Segment::scan(uint64_t position, Offset expected, uint32_t max_batch_bytes,
                                 std::vector<ScannedBatch>* found) {
  auto f = log_file();
  if (!f) return std::move(f).error();
  Window w(**f, size_);
  ScanResult r;
  r.valid_end = position;
  r.next_offset = expected;
  uint64_t pos = position;
  while (pos < size_) {
    auto head = w.at(pos, bl::kLogOverhead);
    if (!head) return std::move(head).error();
    if (head->size() < bl::kLogOverhead) {
      r.stop_reason = "incomplete batch header (torn write)";
      break;
    }
    auto declared = protocol::declared_batch_size(*head);
    if (!declared || *declared < bl::kHeaderSize || *declared > max_batch_bytes) {
      r.stop_reason = "invalid batch length";
      break;
    }
    if (pos + *declared > size_) {
      r.stop_reason = "incomplete batch (torn write)";
      break;
    }
    auto bytes = w.at(pos, *declared);
    if (!bytes) return std::move(bytes).error();
    if (auto st = protocol::validate_batch(*bytes); !st) {
      r.stop_reason = st.error().message();
      break;
    }
    ScannedBatch b = decode_header(bytes->data(), pos);
    if (b.base_offset < r.next_offset) {
      r.stop_reason = "offset " + std::to_string(b.base_offset.value()) + " goes backwards";
      break;
    }
    if (found != nullptr) found->push_back(b);
    r.max_timestamp = std::max(r.max_timestamp, b.max_timestamp);
    r.next_offset = b.last_offset + 1;
    pos += b.size;
    r.valid_end = pos;
  }
  return r;
}

Status Segment::rebuild_index(uint32_t max_batch_bytes) {
  index_.emplace();
  bytes_since_entry_ = 0;
  max_timestamp_ = -1;
  std::vector<ScannedBatch> batches;
  auto r = scan(0, base_, max_batch_bytes, &batches);
  if (!r) return std::move(r).error();
  for (const auto& b : batches) note_batch(b.position, b.size, b.base_offset, b.max_timestamp);
  max_timestamp_known_ = true;
  if (!batches.empty()) next_offset_ = r->next_offset;
  auto idx = index_file(index_id_);
  if (!idx) return std::move(idx).error();
  auto tix = index_file(time_id_);
  if (!tix) return std::move(tix).error();
  // Only entries below the valid end are written; a tail the caller truncates is not indexed.
  return index_->rewrite(**idx, **tix, r->valid_end);
}

Status Segment::ensure_index(uint32_t max_batch_bytes) {
  if (index_) return {};
  auto idx = index_file(index_id_);
  if (!idx) return std::move(idx).error();
  auto tix = index_file(time_id_);
  if (!tix) return std::move(tix).error();
  auto loaded = SparseIndex::load(**idx, **tix, size_);
  // An empty index of a segment longer than the index interval is one that was removed (a
  // compaction swap): rebuilt rather than leaving reads to scan from the start.
  if (loaded && (!loaded->empty() || size_ <= index_interval_)) {
    // The last entry must name the batch at its position: an index left from the segment a
    // compaction swap replaced (its removal lost at a power cut) would point into other bytes.
    bool stale = false;
    if (!loaded->empty()) {
      const IndexEntry& last = loaded->entries().back();
      auto f = log_file();
      if (!f) return std::move(f).error();
      std::byte head[bl::kLogOverhead];
      auto n = (*f)->pread_some(head, last.position);
      if (!n) return std::move(n).error();
      stale = *n != sizeof head || load_i64(head) != base_.value() + last.relative_offset;
    }
    if (!stale) {
      index_ = std::move(loaded).value();
      return {};
    }
    FERRY_LOG(warn, "storage", "%s: index does not match the log; rebuilding", log_path().c_str());
    return rebuild_index(max_batch_bytes);
  }
  if (loaded) {
    return rebuild_index(max_batch_bytes);
  }
  FERRY_LOG(warn, "storage", "%s: rebuilding index (%s)", log_path().c_str(),
            loaded.error().message().c_str());
  return rebuild_index(max_batch_bytes);
}

Result<bool> Segment::recover_tail(uint32_t max_batch_bytes) {
  FERRY_TRY(ensure_index(max_batch_bytes));
  // Check that the last entry really points at the batch it names; if not, rebuild.
  uint64_t start = 0;
  Offset expected = base_;
  if (!index_->empty()) {
    const IndexEntry& last = index_->entries().back();
    auto f = log_file();
    if (!f) return std::move(f).error();
    std::byte head[bl::kLogOverhead];
    auto n = (*f)->pread_some(head, last.position);
    if (!n) return std::move(n).error();
    if (*n != sizeof head || load_i64(head) != base_.value() + last.relative_offset) {
      FERRY_LOG(warn, "storage", "%s: index entry does not match the log; rebuilding",
                log_path().c_str());
      FERRY_TRY(rebuild_index(max_batch_bytes));
    }
  }
  if (!index_->empty()) {
    const IndexEntry& last = index_->entries().back();
    start = last.position;
    expected = base_ + last.relative_offset;
    max_timestamp_ = last.max_timestamp_before;
  } else {
    max_timestamp_ = -1;
  }
  bytes_since_entry_ = 0;
  std::vector<ScannedBatch> batches;
  auto r = scan(start, expected, max_batch_bytes, &batches);
  if (!r) return std::move(r).error();
  // Re-derive the in-memory entries after `start` exactly as appends would have made them.
  index_->truncate_at_position(start + 1);
  for (const auto& b : batches) {
    if (b.position != start)
      note_batch(b.position, b.size, b.base_offset, b.max_timestamp);
    else {
      bytes_since_entry_ = b.size;
      max_timestamp_ = std::max(max_timestamp_, b.max_timestamp);
    }
  }
  max_timestamp_known_ = true;
  next_offset_ = batches.empty() ? expected : r->next_offset;
  bool cut = r->valid_end < size_;
  if (cut) {
    FERRY_LOG(warn, "storage",
              "%s: truncating torn or corrupt tail at position %" PRIu64 " (%" PRIu64
              " bytes cut): %s",
              log_path().c_str(), r->valid_end, size_ - r->valid_end,
              r->stop_reason ? r->stop_reason->c_str() : "");
    FERRY_TRY(truncate(r->valid_end));
  }
  durable_size_ = size_;
  return cut;
}

uint64_t Segment::index_position_for(Offset offset) const {
  if (!index_ || offset < base_) return 0;
  const IndexEntry* e = index_->floor_offset(static_cast<uint32_t>(offset - base_));
  return e ? e->position : 0;
}

uint64_t Segment::index_position_for_timestamp(int64_t timestamp) const {
  if (!index_) return 0;
  const IndexEntry* e = index_->floor_timestamp(timestamp);
  return e ? e->position : 0;
}

Result<Offset> Segment::read(Offset from, size_t budget, Offset upper, std::vector<std::byte>& out,
                             size_t* batches, uint32_t max_batch_bytes, uint64_t* start_position) {
  FERRY_TRY(ensure_index(max_batch_bytes));
  auto f = log_file();
  if (!f) return std::move(f).error();
  Window w(**f, size_, kLocateChunk);
  auto bad = [&](uint64_t pos) {
    return Error(Errc::corrupt, log_path() + ": bad batch header at " + std::to_string(pos));
  };
  // Find the batch holding `from`.
  uint64_t pos = index_position_for(from);
  ScannedBatch first;
  for (;;) {
    if (pos >= size_) return from;
    auto head = w.at(pos, bl::kHeaderSize);
    if (!head) return std::move(head).error();
    if (head->size() < bl::kHeaderSize) return bad(pos);
    first = decode_header(head->data(), pos);
    if (first.size < bl::kHeaderSize || pos + first.size > size_) return bad(pos);
    if (first.last_offset >= from) break;
    pos += first.size;
  }
  if (start_position != nullptr) *start_position = pos;
  // Copy whole batches from there in one read, then cut at the last one that fits.
  size_t limit = out.empty() ? std::max<size_t>(budget, first.size) : budget;
  size_t want = static_cast<size_t>(std::min<uint64_t>(limit, size_ - pos));
  size_t old = out.size();
  out.resize(old + want);
  auto n = (*f)->pread_some(std::span<std::byte>(out).subspan(old), pos);
  if (!n) {
    out.resize(old);
    return std::move(n).error();
  }
  size_t used = 0;
  Offset next = from;
  while (used + bl::kHeaderSize <= *n) {
    ScannedBatch b = decode_header(out.data() + old + used, pos + used);
    if (b.size < bl::kHeaderSize) {
      if (used > 0) break;  // the batches before a damaged header are still served
      out.resize(old);
      return bad(pos + used);
    }
    if (used + b.size > *n || b.last_offset + 1 > upper) break;
    used += b.size;
    next = b.last_offset + 1;
    ++*batches;
  }
  out.resize(old + used);
  return next;
}

Status Segment::truncate(uint64_t position) {
  auto f = log_file();
  if (!f) return std::move(f).error();
  FERRY_TRY((*f)->truncate(position));
  size_ = position;
  durable_size_ = std::min(durable_size_, position);
  if (index_) {
    size_t before = index_->persisted();
    index_->truncate_at_position(position);
    if (index_->persisted() < before) {
      auto idx = index_file(index_id_);
      if (!idx) return std::move(idx).error();
      auto tix = index_file(time_id_);
      if (!tix) return std::move(tix).error();
      FERRY_TRY((*idx)->truncate(uint64_t{index_->persisted()} * kOffsetEntrySize));
      FERRY_TRY((*tix)->truncate(uint64_t{index_->persisted()} * kTimeEntrySize));
    }
  }
  return {};
}

Status Segment::persist_index() {
  if (!index_ || index_->persisted() == index_->entries().size()) return {};
  auto idx = index_file(index_id_);
  if (!idx) return std::move(idx).error();
  auto tix = index_file(time_id_);
  if (!tix) return std::move(tix).error();
  return index_->persist(**idx, **tix, durable_size_);
}

Status Segment::remove() {
  std::string paths[] = {pool_.path(log_id_), pool_.path(index_id_), pool_.path(time_id_)};
  // Forgetting closes unused handles now; the destructor's forget() calls become no-ops.
  pool_.forget(log_id_);
  pool_.forget(index_id_);
  pool_.forget(time_id_);
  for (const auto& p : paths) FERRY_TRY(pool_.fs().remove_file_durable(p));
  return {};
}

Result<std::optional<ScannedBatch>> Segment::first_batch() {
  if (size_ < bl::kHeaderSize) return std::optional<ScannedBatch>();
  auto f = log_file();
  if (!f) return std::move(f).error();
  std::byte head[bl::kHeaderSize];
  FERRY_TRY((*f)->pread_exact(head, 0));
  return std::optional<ScannedBatch>(decode_header(head, 0));
}

Result<int64_t> Segment::compute_max_timestamp(uint32_t max_batch_bytes) {
  if (max_timestamp_known_) return max_timestamp_;
  FERRY_TRY(ensure_index(max_batch_bytes));
  uint64_t start = 0;
  Offset expected = base_;
  int64_t before = -1;
  if (!index_->empty()) {
    start = index_->entries().back().position;
    expected = base_ + index_->entries().back().relative_offset;
    before = index_->entries().back().max_timestamp_before;
  }
  auto r = scan(start, expected, max_batch_bytes);
  if (!r) return std::move(r).error();
  max_timestamp_ = std::max(before, r->max_timestamp);
  max_timestamp_known_ = true;
  return max_timestamp_;
}

}  // namespace ferry::storage
