// The log's leader-epoch cache: loading and rebuilding it at open, taking the epochs of write
// jobs, and writing the file off the loop. See log.h, "Leader epochs", and epoch_cache.h.
#include <uv.h>

#include <cinttypes>

#include "common/bytes.h"
#include "common/log.h"
#include "platform/file.h"
#include "protocol/record_batch.h"
#include "storage/log.h"
#include "storage/segment.h"

namespace ferry::storage {
namespace {

namespace bl = protocol::batch_layout;

// As in log.cc: larger than any batch a topic may have stored.
constexpr uint32_t kScanLimit = 256u << 20;

// The fields of one batch header the epoch scan needs.
struct Header {
  Offset base_offset;
  LeaderEpoch epoch;
  uint64_t size = 0;  // 12 + batchLength
};

// Reads the header of the batch at `position` (header bytes only, not its records); nullopt
// when fewer than a header's bytes remain or the length is impossible.
Result<std::optional<Header>> read_header(const platform::File& file, uint64_t position,
                                          uint64_t file_size) {
  if (position + bl::kHeaderSize > file_size) return std::optional<Header>();
  std::byte buf[bl::kHeaderSize];
  FERRY_TRY(file.pread_exact(buf, position));
  const int32_t length = load_i32(buf + bl::kBatchLength);
  if (length < static_cast<int32_t>(bl::kHeaderSize - bl::kLogOverhead) ||
      static_cast<uint32_t>(length) > kScanLimit) {
    return std::optional<Header>();
  }
  Header h;
  h.base_offset = Offset(load_i64(buf + bl::kBaseOffset));
  h.epoch = LeaderEpoch(load_i32(buf + bl::kPartitionLeaderEpoch));
  h.size = bl::kLogOverhead + static_cast<uint64_t>(length);
  if (position + h.size > file_size) return std::optional<Header>();
  return std::optional<Header>(h);
}

// The segment's .log opened for this scan only: the shared pool is left alone, so opening
// thousands of partitions does not fill it with files nobody reads next.
Result<platform::File> open_for_scan(platform::FileSystem& fs, const Segment& seg) {
  return fs.open(seg.log_path(), platform::File::Mode::read_only);
}

// Walks the headers of `seg` from `position` to its end, calling `f` with each.
template <class F>
Status walk_headers(platform::FileSystem& fs, Segment& seg, uint64_t position, F&& f) {
  auto file = open_for_scan(fs, seg);
  if (!file) return std::move(file).error();
  for (uint64_t pos = position; pos < seg.size();) {
    auto h = read_header(*file, pos, seg.size());
    if (!h) return std::move(h).error();
    if (!*h) break;
    f(**h);
    pos += (*h)->size;
  }
  return {};
}

// A persist job: one snapshot of the cache written on the thread pool.
struct PersistJob {
  uv_work_t req{};
  std::shared_ptr<Log> log;  // kept alive until the job is back on the loop
  std::shared_ptr<EpochCacheFile> file;
  std::string text;
  uint64_t sequence = 0;
  Status result;
};

}  // namespace

Result<std::optional<LeaderEpoch>> Log::last_batch_epoch() {
  for (size_t i = segments_.size(); i-- > 0;) {
    Segment& seg = *segments_[i];
    if (seg.empty()) continue;
    // Header reads from the index entry nearest the segment's end.
    FERRY_TRY(seg.ensure_index(kScanLimit));
    std::optional<LeaderEpoch> last;
    FERRY_TRY(walk_headers(*fs_, seg, seg.index_position_for(segment_end(i) - 1),
                           [&](const Header& h) { last = h.epoch; }));
    if (last) return last;
  }
  return std::optional<LeaderEpoch>();
}

// Header reads only. Epochs never go down along a log, so a sealed segment whose first batch
// has the epoch of the next segment's first batch holds only that epoch and need not be walked:
// a log written by one leader costs one header read per segment.
Result<LeaderEpochCache> Log::scan_epochs() {
  std::vector<std::optional<LeaderEpoch>> first(segments_.size());
  for (size_t i = 0; i < segments_.size(); ++i) {
    Segment& seg = *segments_[i];
    if (seg.empty()) continue;
    auto file = open_for_scan(*fs_, seg);
    if (!file) return std::move(file).error();
    auto h = read_header(*file, 0, seg.size());
    if (!h) return std::move(h).error();
    if (*h) first[i] = (*h)->epoch;
  }
  auto last = last_batch_epoch();
  if (!last) return std::move(last).error();
  LeaderEpochCache cache;
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (!first[i]) continue;
    const std::optional<LeaderEpoch> next = i + 1 < segments_.size() ? first[i + 1] : *last;
    if (next && *next == *first[i]) {
      (void)cache.assign(*first[i], segments_[i]->base());
      continue;
    }
    FERRY_TRY(walk_headers(*fs_, *segments_[i], 0,
                           [&](const Header& h) { (void)cache.assign(h.epoch, h.base_offset); }));
  }
  return cache;
}

Status Log::load_epochs() {
  epoch_file_ = std::make_shared<EpochCacheFile>(*fs_, dir_);
  const std::string& path = epoch_file_->path();
  std::optional<LeaderEpochCache> loaded;
  bool write = false;
  auto bytes = epoch_file_->read();
  if (!bytes) {
    FERRY_LOG(warn, "storage", "%s: unreadable (%s), rebuilding it from the batch headers",
              path.c_str(), bytes.error().to_string().c_str());
  } else if (!*bytes) {
    // A log written before the cache existed, or a crash before its first write.
    if (end_offset_ > log_start_offset()) {
      FERRY_LOG(info, "storage", "%s: missing, building it from the batch headers", path.c_str());
    }
  } else if (auto decoded = LeaderEpochCache::decode(**bytes); !decoded) {
    FERRY_LOG(warn, "storage", "%s: %s, rebuilding it from the batch headers", path.c_str(),
              decoded.error().message().c_str());
  } else {
    loaded = std::move(decoded).value();
    // Entries past a tail recovery cut, or below segments deleted before the file was
    // rewritten, go.
    // An empty log (retention took every batch) keeps its last epoch at the log start.
    const bool empty = end_offset_ <= log_start_offset();
    write |= loaded->truncate_from_end(empty ? end_offset_ + 1 : end_offset_);
    write |= loaded->truncate_from_start(log_start_offset());
    auto last = last_batch_epoch();
    if (!last) return std::move(last).error();
    if (*last && **last >= LeaderEpoch(0) && **last != loaded->last_epoch()) {
      FERRY_LOG(warn, "storage",
                "%s: last epoch %" PRId32 " but the last batch has epoch %" PRId32
                ", rebuilding it from the batch headers",
                path.c_str(), loaded->last_epoch().value(), (*last)->value());
      loaded.reset();
    }
  }
  if (!loaded) {
    auto scanned = scan_epochs();
    if (!scanned) return std::move(scanned).error();
    loaded = std::move(scanned).value();
    write = !(bytes.ok() && !*bytes && loaded->empty());
  }
  epochs_ = std::move(*loaded);
  if (write) {
    // Open does its file work inline (as tail recovery does); a failure is retried later.
    if (auto st = epoch_file_->write(++epoch_sequence_, epochs_.encode()); !st) {
      FERRY_LOG(warn, "storage", "%s: writing: %s", path.c_str(), st.error().to_string().c_str());
      epochs_dirty_ = true;
    }
  }
  return {};
}

void Log::prepare_epochs(WriteJob& job) {
  // A persist job still running may write after this job's batches: carry the state too, so
  // the file is right before any batch lands.
  if (job.new_epochs.empty() && !epochs_dirty_ && epoch_persists_ == 0) return;
  LeaderEpochCache next = epochs_;
  for (const EpochEntry& e : job.new_epochs) (void)next.assign(e.epoch, e.start_offset);
  job.epoch_file = epoch_file_;
  job.epoch_text = next.encode();
  job.epoch_sequence = ++epoch_sequence_;
  epochs_dirty_ = false;
}

void Log::epochs_changed() {
  epochs_dirty_ = true;
  persist_epochs();
}

// Loop thread. While a write job is in flight, its completion calls this again.
void Log::persist_epochs() {
  if (!epochs_dirty_ || write_in_flight_ || !epoch_file_) return;
  auto job = std::make_unique<PersistJob>();
  job->file = epoch_file_;
  job->text = epochs_.encode();
  job->sequence = ++epoch_sequence_;
  epochs_dirty_ = false;
  if (loop_ != nullptr) {
    job->log = shared_from_this();
    job->req.data = job.get();
    ++epoch_persists_;
    const int rc = uv_queue_work(
        loop_, &job->req,
        [](uv_work_t* req) {
          auto* j = static_cast<PersistJob*>(req->data);
          j->result = j->file->write(j->sequence, j->text);
        },
        [](uv_work_t* req, int status) {
          std::unique_ptr<PersistJob> j(static_cast<PersistJob*>(req->data));
          Log& log = *j->log;
          --log.epoch_persists_;
          if (status != 0 && j->result) j->result = Error(Errc::io, "cancelled");
          if (!j->result) {
            // The file stays behind; the next change or write job writes it again.
            FERRY_LOG(warn, "storage", "%s: writing: %s", j->file->path().c_str(),
                      j->result.error().to_string().c_str());
            log.epochs_dirty_ = true;
          }
        });
    if (rc == 0) {
      (void)job.release();  // owned by the completion callback
      return;
    }
    --epoch_persists_;
  }
  if (auto st = job->file->write(job->sequence, job->text); !st) {
    FERRY_LOG(warn, "storage", "%s: writing: %s", job->file->path().c_str(),
              st.error().to_string().c_str());
    epochs_dirty_ = true;
  }
}

}  // namespace ferry::storage
