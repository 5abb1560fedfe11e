// Partition log: open/recovery, append with group-committed durability, reads, retention, roll.
#include "storage/log.h"

#include <algorithm>
#include <charconv>
#include <cinttypes>

#include "common/flash_accounting.h"
#include "common/log.h"
#include "common/uv_timer.h"
#include "platform/file.h"
#include "protocol/record_batch.h"
#include "storage/cleaner_swap.h"
#include "storage/segment.h"
#include "storage/segment_name.h"

namespace ferry::storage {
namespace {

// Upper bound on a stored batch's size when scanning: larger than any max.message.bytes a topic
// may have had, so lowering the setting never makes old batches look corrupt.
constexpr uint32_t kScanLimit = 256u << 20;
// Positions and relative offsets in the index are 32-bit.
constexpr uint64_t kMaxSegmentBytes = uint64_t{1} << 31;
// The recovery point file: the base offset (decimal ASCII, then LF) of the oldest segment that
// may hold bytes not yet durable. See docs/storage-format.md.
constexpr const char* kRecoveryPointFile = "recovery.point";

Status write_recovery_point_file(platform::FileSystem& fs, const std::string& dir, Offset base) {
  const std::string text = std::to_string(base.value()) + "\n";
  FERRY_TRY(fs.write_file_atomic(dir + "/" + kRecoveryPointFile, platform::as_bytes(text)));
  flash::count_written(flash::WriteKind::checkpoint, text.size());
  return {};
}

}  // namespace

// Thread pool (or inline without a loop): touches nothing but this LogFlush.
void LogFlush::run() {
  if (!result) return;  // preparing the job already failed
  if (sync_dir) {
    if (auto st = fs->sync_dir(dir); !st) {
      result = st;
      return;
    }
  }
  for (auto& f : files) {
    ++datasyncs;
    if (auto st = f->datasync(); !st) {
      result = st;
      return;
    }
  }
  if (recovery_point) recovery_point_result = write_recovery_point_file(*fs, dir, *recovery_point);
}

Log::Log(std::string dir, const LogConfig& config, const LogOptions& options)
    : dir_(std::move(dir)),
      config_(config),
      loop_(options.loop),
      clock_(options.clock),
      pool_(options.pool) {
  if (pool_ == nullptr) {
    pool_ = std::make_shared<FilePool>(16, *options.fs);
  }
  fs_ = &pool_->fs();
  if (loop_ != nullptr) {
    timer_ = std::make_unique<UvTimer>(loop_);
    flusher_ = options.flusher ? options.flusher : std::make_shared<Flusher>(loop_);
  }
  end_offset_ = options.initial_offset;
  durable_offset_ = options.initial_offset;
}

Log::~Log() {
  segments_.clear();  // segments unregister their files from the pool, which must still exist
}

Result<std::shared_ptr<Log>> Log::open(const std::string& dir, const LogConfig& config,
                                       const LogOptions& options) {
  std::shared_ptr<Log> log(new Log(dir, config, options));
  FERRY_TRY(log->recover(options.caller_syncs_tail));
  FERRY_TRY(log->load_epochs());
  return log;
}

Status Log::recover(bool caller_syncs_tail) {
  FERRY_TRY(fs_->create_dirs(dir_));
  // A compaction swap a crash interrupted is finished or discarded before the segments are
  // listed (storage/cleaner_swap.h).
  auto swaps = finish_cleaner_swaps(*fs_, dir_);
  if (!swaps) return std::move(swaps).error();
  cleaner_point_ = read_cleaner_point(*fs_, dir_);
  auto names = fs_->list_dir(dir_);
  if (!names) return std::move(names).error();
  std::vector<Offset> bases;
  for (const auto& name : *names) {
    auto parsed = parse_segment_file_name(name);
    if (parsed && parsed->kind == SegmentFile::log) {
      bases.push_back(parsed->base);
    } else if (name.size() > 4 && name.ends_with(".tmp")) {
      FERRY_TRY(fs_->remove_file_durable(dir_ + "/" + name));
    }
  }
  std::sort(bases.begin(), bases.end());
  // Index files whose .log is gone (a crash during segment deletion) are removed.
  for (const auto& name : *names) {
    auto parsed = parse_segment_file_name(name);
    if (parsed && parsed->kind != SegmentFile::log &&
        !std::binary_search(bases.begin(), bases.end(), parsed->base)) {
      FERRY_TRY(fs_->remove_file_durable(dir_ + "/" + name));
    }
  }
  if (bases.empty()) {
    FERRY_TRY(roll(end_offset_));
    FERRY_TRY(write_recovery_point(end_offset_));  // fsyncs the directory too
    dir_dirty_ = false;
    return {};
  }
  for (Offset base : bases) {
    auto size = fs_->file_size(dir_ + "/" + segment_file_name(base, SegmentFile::log));
    if (!size) return std::move(size).error();
    segments_.push_back(
        std::make_unique<Segment>(dir_, base, *size, *pool_, config_.index_interval_bytes));
  }
  // Segments below the recovery point were durable in full; from it on, any may have lost an
  // unsynced tail at a crash (rolls do not wait for syncs). Without the file (a log written
  // before it existed, when a roll waited for older segments to be synced) and in any case,
  // the last two segments are scanned.
  size_t first_tail = segments_.size() >= 2 ? segments_.size() - 2 : 0;
  const std::optional<Offset> point = read_recovery_point();
  if (point) {
    size_t at = segment_index_for(*point);
    first_tail = std::min(first_tail, at);
  }
  std::optional<Offset> first_unsynced;  // the oldest kept segment not known to be durable
  for (size_t i = first_tail; i < segments_.size(); ++i) {
    Segment& seg = *segments_[i];
    auto cut = seg.recover_tail(kScanLimit);
    if (!cut) return std::move(cut).error();
    if (i + 1 < segments_.size() && (*cut || seg.next_offset() != segments_[i + 1]->base())) {
      // The newer segments follow a hole (this one lost its unsynced tail): none of them was
      // acknowledged as durable, and they cannot be kept without a gap. Drop them.
      while (segments_.size() > i + 1) {
        FERRY_LOG(warn, "storage", "%s: removing segment that follows a truncated one",
                  segments_.back()->log_path().c_str());
        FERRY_TRY(segments_.back()->remove());
        segments_.pop_back();
      }
    }
    // What recovery kept must be durable before it counts as such: a kill -9 leaves written
    // bytes in the page cache that a later power cut could still take. A segment below the
    // recovery point was durable in full already. With a loop the others are synced on the
    // thread pool — by the caller (caller_syncs_tail: LogManager::open_all batches them) or by
    // a flush of this log — so start-up does not wait for one fdatasync per partition; until
    // then durable_offset() stays at the first of them and the recovery point is not advanced.
    // A cut tail and logs without a loop are synced here.
    const bool known_durable = point && *point != Offset(INT64_MIN) && seg.base() < *point;
    if (known_durable && !*cut) continue;
    if (loop_ != nullptr && !*cut) {
      seg.set_durable_size(0);
      if (!first_unsynced) first_unsynced = seg.base();
      continue;
    }
    auto f = seg.log_file();
    if (!f) return std::move(f).error();
    FERRY_TRY((*f)->datasync());
  }
  recovery_point_ = point.value_or(Offset(-1));
  Segment& last = active();
  end_offset_ = last.next_offset();
  if (first_unsynced && *first_unsynced < end_offset_) {
    durable_offset_ = *first_unsynced;
    // Syncs them and then moves recovery.point to the active segment.
    if (!caller_syncs_tail) schedule_flush(true);
  } else if (recovery_point_ != active().base()) {
    // Everything kept is durable now: only the active segment can take unsynced bytes.
    // Best effort (a full disk must not keep the log from opening): an older value on disk
    // only makes the next recovery scan more.
    if (auto st = write_recovery_point(active().base()); !st) {
      FERRY_LOG(warn, "storage", "%s: writing %s: %s", dir_.c_str(), kRecoveryPointFile,
                st.error().to_string().c_str());
    }
  }
  if (!first_unsynced || *first_unsynced >= end_offset_) durable_offset_ = end_offset_;
  auto first = last.first_batch();
  if (!first) return std::move(first).error();
  int64_t now = clock_->now_ms();
  last.set_created_ms(*first && (*first)->max_timestamp > 0 ? std::min(now, (*first)->max_timestamp)
                                                            : now);
  FERRY_LOG(debug, "storage", "%s: opened, %zu segments, offsets [%" PRId64 ", %" PRId64 ")",
            dir_.c_str(), segments_.size(), log_start_offset().value(), end_offset_.value());
  return {};
}

TailSync Log::tail_sync() {
  TailSync sync;
  sync.dir = dir_;
  for (const auto& seg : segments_) {
    if (seg->durable_size() >= seg->size()) continue;
    sync.files.emplace_back(seg->log_path(), seg->size());
    sync.bases.push_back(seg->base());
  }
  sync.synced_to = end_offset_;
  if (segments_.back()->base() > recovery_point_) sync.recovery_point = segments_.back()->base();
  sync.truncations = truncations_;
  tail_sync_pending_ = true;
  return sync;
}

void Log::run_tail_sync(TailSync& sync, platform::FileSystem& fs) {
  for (const auto& [path, size] : sync.files) {
    auto f = fs.open(path, platform::File::Mode::read_only);
    if (!f) {
      sync.result = std::move(f).error();
      return;
    }
    if (auto st = f->datasync(); !st) {
      sync.result = st;
      return;
    }
  }
  if (sync.recovery_point) {
    if (auto st = write_recovery_point_file(fs, sync.dir, *sync.recovery_point); !st) {
      // The data is durable; only the hint is stale (the next flush writes it again).
      FERRY_LOG(warn, "storage", "%s: writing %s: %s", sync.dir.c_str(), kRecoveryPointFile,
                st.error().to_string().c_str());
      sync.recovery_point.reset();
    }
  }
}

void Log::tail_synced(const TailSync& sync) {
  tail_sync_pending_ = false;
  // Closed or cut meanwhile: its own flush covers what is left (and a removed file is no error).
  if (failure_ || closed_ || sync.truncations != truncations_) return;
  if (!sync.result) {
    fail(sync.result.error());
    return;
  }
  for (size_t i = 0; i < sync.files.size(); ++i) {
    auto it = std::find_if(segments_.begin(), segments_.end(),
                           [b = sync.bases[i]](const auto& s) { return s->base() == b; });
    if (it == segments_.end()) continue;
    (*it)->set_durable_size(std::max((*it)->durable_size(), sync.files[i].second));
    if (auto st = (*it)->persist_index(); !st) {
      fail(st.error());
      return;
    }
  }
  durable_offset_ = std::max(durable_offset_, sync.synced_to);
  if (sync.recovery_point) recovery_point_ = std::max(recovery_point_, *sync.recovery_point);
  fire_waiters();
}

Offset Log::active_segment_base() const noexcept { return segments_.back()->base(); }

Offset Log::log_start_offset() const noexcept { return segments_.front()->base(); }

uint64_t Log::size_bytes() const noexcept {
  uint64_t total = 0;
  for (const auto& s : segments_) total += s->size();
  return total;
}

uint64_t Log::bytes_from(Offset from) const {
  if (segments_.empty() || from >= end_offset_) return 0;
  const size_t first = segment_index_for(from);
  uint64_t total = 0;
  for (size_t i = first; i < segments_.size(); ++i) total += segments_[i]->size();
  const uint64_t skip = segments_[first]->index_position_for(from);
  return skip <= total ? total - skip : 0;
}

std::optional<Offset> Log::read_recovery_point() const {
  const std::string path = dir_ + "/" + kRecoveryPointFile;
  if (!fs_->exists(path)) return std::nullopt;
  auto f = fs_->open(path, platform::File::Mode::read_only);
  if (!f) return std::nullopt;
  char buf[32] = {};
  auto n = f->pread_some({reinterpret_cast<std::byte*>(buf), sizeof buf - 1}, 0);
  if (!n || *n < 2 || buf[*n - 1] != '\n') {
    FERRY_LOG(warn, "storage", "%s: unreadable, scanning every segment's tail", path.c_str());
    return Offset(INT64_MIN);
  }
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(buf, buf + *n - 1, value);
  if (ec != std::errc() || ptr != buf + *n - 1) {
    FERRY_LOG(warn, "storage", "%s: unreadable, scanning every segment's tail", path.c_str());
    return Offset(INT64_MIN);
  }
  return Offset(value);
}

Status Log::write_recovery_point(Offset base) {
  FERRY_TRY(write_recovery_point_file(*fs_, dir_, base));
  recovery_point_ = base;
  return {};
}

bool Log::should_roll(size_t next_batch_bytes) const {
  const Segment& seg = *segments_.back();
  return should_roll_at(seg.size(), seg.base(), seg.created_ms(), end_offset_, next_batch_bytes);
}

bool Log::should_roll_at(uint64_t size, Offset base, int64_t created_ms, Offset next,
                         size_t next_batch_bytes) const {
  if (size == 0) return false;
  uint64_t limit = std::min<uint64_t>(config_.segment_bytes, kMaxSegmentBytes);
  bool full = size + next_batch_bytes > limit;
  bool old = clock_->now_ms() - created_ms >= config_.segment_ms;
  bool offsets_exhausted = next - base > int64_t{INT32_MAX} / 2;
  // A roll does not wait for older segments to be durable: the recovery point (advanced by
  // the flush that syncs them) tells recovery where unsynced bytes can start.
  return full || old || offsets_exhausted;
}

Status Log::roll(Offset new_base) {
  auto seg = std::make_unique<Segment>(dir_, new_base, 0, *pool_, config_.index_interval_bytes);
  if (auto st = seg->create(config_.preallocate_bytes); !st) {
    // A file created before the reservation failed (a full disk) must not block the next try.
    if (st.error().code() != Errc::already_exists) (void)fs_->remove_file_durable(seg->log_path());
    return st;
  }
  seg->set_created_ms(clock_->now_ms());
  seg->set_next_offset(new_base);
  bool had_segments = !segments_.empty();
  segments_.push_back(std::move(seg));
  dir_dirty_ = true;
  if (had_segments) {
    FERRY_LOG(debug, "storage", "%s: rolled to segment %" PRId64, dir_.c_str(), new_base.value());
    schedule_flush(true);  // seal the previous segment promptly
  }
  return {};
}

Status Log::maybe_roll() {
  if (failure_) return Error(Errc::failed_state, failure_->message());
  // A write job in flight writes the active segment; its batches roll it when they must.
  if (write_in_flight_ || !should_roll(0)) return {};
  return roll(end_offset_);
}

Result<AppendInfo> Log::append(std::span<const std::byte> batch, AppendOptions options) {
  auto job = begin_write();
  if (!job) return std::move(job).error();
  auto info = add(**job, batch);
  if (!info) return info;
  prepare_epochs(**job);
  (*job)->run();
  if (auto st = complete_write(**job); !st) return std::move(st).error();
  if (options.on_durable) {
    waiters_.push_back(Waiter{end_offset_, std::move(options.on_durable)});
    if (durable_offset_ >= end_offset_) fire_waiters();  // flushed inline already
  }
  if (options.flush_now) schedule_flush(true);
  return info;
}

void Log::flush(DurableCallback done) {
  if (done) {
    if (failure_) {
      done(Error(Errc::failed_state, failure_->message()));
      return;
    }
    waiters_.push_back(Waiter{end_offset_, std::move(done)});
  }
  schedule_flush(true);
}

void Log::schedule_flush(bool now) {
  if (failure_) return;
  if (!now) {
    if (timer_ && !timer_->active() && !flush_in_flight_ && end_offset_ > durable_offset_) {
      timer_->start(static_cast<uint64_t>(std::max<int64_t>(config_.flush_ms, 0)),
                    [this] { schedule_flush(true); });
    }
    if (!timer_ && config_.flush_ms <= 0) now = true;
    if (!now) return;
  }
  if (flush_in_flight_) {
    flush_wanted_ = true;
    return;
  }
  if (timer_) timer_->stop();
  if (durable_offset_ >= end_offset_ && !dir_dirty_) {  // nothing to sync
    fire_waiters();
    return;
  }
  flush_in_flight_ = true;
  if (loop_ != nullptr) {
    flusher_->request(shared_from_this());  // the Flusher prepares this log's part
    return;
  }
  std::unique_ptr<LogFlush> job = prepare_flush();
  if (!job) {
    flush_in_flight_ = false;
    fire_waiters();
    return;
  }
  job->run();
  complete_flush(*job);
}

std::unique_ptr<LogFlush> Log::prepare_flush() {
  if (durable_offset_ >= end_offset_ && !dir_dirty_) return nullptr;
  auto job = std::make_unique<LogFlush>();
  for (auto& seg : segments_) {
    if (seg->durable_size() >= seg->size()) continue;
    auto f = seg->log_file();
    if (!f) {
      job->result = std::move(f).error();
      break;
    }
    job->files.push_back(std::move(f).value());
    job->targets.emplace_back(seg->base(), seg->size());
  }
  job->fs = fs_;
  job->dir = dir_;
  job->sync_dir = dir_dirty_;
  job->synced_to = end_offset_;
  job->truncations = truncations_;
  // Every segment before the active one is synced in full by this job (no other flush runs).
  // While a start-up sync may still write recovery.point, it is left to that one; the next
  // flush after it moves the point on.
  if (!tail_sync_pending_ && active().base() > recovery_point_) {
    job->recovery_point = active().base();
  }
  dir_dirty_ = false;
  unflushed_records_ = 0;
  return job;
}

void Log::complete_flush(LogFlush& job) {
  flush_in_flight_ = false;
  if (!job.result) {
    fail(job.result.error());
    return;
  }
  if (job.truncations != truncations_) {
    // The log was cut while the job ran: its sizes describe bytes that may be gone or replaced.
    schedule_flush(true);
    return;
  }
  for (const auto& [base, size] : job.targets) {
    auto it = std::find_if(segments_.begin(), segments_.end(),
                           [b = base](const auto& s) { return s->base() == b; });
    if (it == segments_.end()) continue;
    (*it)->set_durable_size(std::max((*it)->durable_size(), size));
    if (auto st = (*it)->persist_index(); !st) {
      fail(st.error());
      return;
    }
  }
  durable_offset_ = std::max(durable_offset_, job.synced_to);
  if (job.recovery_point) {
    if (job.recovery_point_result) {
      recovery_point_ = std::max(recovery_point_, *job.recovery_point);
    } else {
      // The data is durable; only the hint is stale (recovery scans more). Tried again later.
      FERRY_LOG(warn, "storage", "%s: writing %s: %s", dir_.c_str(), kRecoveryPointFile,
                job.recovery_point_result.error().to_string().c_str());
    }
  }
  ++flush_count_;
  fire_waiters();
  if (flush_wanted_) {
    flush_wanted_ = false;
    schedule_flush(true);
  } else if (end_offset_ > durable_offset_) {
    schedule_flush(false);
  }
}

void Log::fire_waiters() {
  size_t ready = 0;
  while (ready < waiters_.size() && waiters_[ready].until <= durable_offset_) ++ready;
  if (ready == 0) return;
  std::vector<Waiter> done(std::make_move_iterator(waiters_.begin()),
                           std::make_move_iterator(waiters_.begin() + static_cast<long>(ready)));
  waiters_.erase(waiters_.begin(), waiters_.begin() + static_cast<long>(ready));
  if (flusher_) flusher_->note_durable_waits(done.size());
  for (auto& w : done) w.cb(Status{});  // callbacks may append or flush again
}

void Log::fail(Error error) {
  if (!failure_) {
    FERRY_LOG(error, "storage", "%s: log failed, refusing appends: %s", dir_.c_str(),
              error.to_string().c_str());
    failure_ = error;
  }
  if (timer_) timer_->stop();
  std::vector<Waiter> pending;
  pending.swap(waiters_);
  for (auto& w : pending) w.cb(Error(Errc::failed_state, failure_->message()));
}

Result<Offset> Log::truncate_to(Offset offset) {
  if (closed_) return Error(Errc::closed, dir_ + ": log is closed");
  if (failure_) return Error(Errc::failed_state, dir_ + ": log failed: " + failure_->message());
  if (write_in_flight_) return Error(Errc::invalid_argument, dir_ + ": a write is in flight");
  if (offset >= end_offset_) return end_offset_;
  if (offset < log_start_offset()) {
    return Error(Errc::out_of_range, dir_ + ": cannot truncate to " +
                                         std::to_string(offset.value()) + ", below the log start " +
                                         std::to_string(log_start_offset().value()));
  }
  const size_t i = segment_index_for(offset);
  Segment& seg = *segments_[i];
  // The position of the first batch that ends at or above `offset`.
  FERRY_TRY(seg.ensure_index(kScanLimit));
  std::vector<ScannedBatch> found;
  auto scanned = seg.scan(seg.index_position_for(offset), seg.base(), kScanLimit, &found);
  if (!scanned) return std::move(scanned).error();
  uint64_t cut = scanned->valid_end;
  Offset new_end = scanned->next_offset;
  for (const auto& b : found) {
    if (b.last_offset >= offset) {
      cut = b.position;
      new_end = b.base_offset;
      break;
    }
  }
  while (segments_.size() > i + 1) {
    if (auto st = segments_.back()->remove(); !st) {
      fail(st.error());
      return std::move(st).error();
    }
    segments_.pop_back();
  }
  if (auto st = seg.truncate(cut); !st) {
    fail(st.error());
    return std::move(st).error();
  }
  FERRY_LOG(info, "storage", "%s: truncated to offset %" PRId64 " (asked for %" PRId64 ")",
            dir_.c_str(), new_end.value(), offset.value());
  seg.set_next_offset(new_end);
  seg.set_durable_size(0);  // the next flush syncs the cut
  end_offset_ = new_end;
  durable_offset_ = std::min(durable_offset_, new_end);
  recovery_point_ = std::min(recovery_point_, seg.base());
  dir_dirty_ = true;
  ++truncations_;
  if (epochs_.truncate_from_end(new_end)) epochs_changed();
  std::vector<Waiter> cut_waiters;
  while (!waiters_.empty() && waiters_.back().until > new_end) {
    cut_waiters.push_back(std::move(waiters_.back()));
    waiters_.pop_back();
  }
  schedule_flush(true);
  for (auto& w : cut_waiters) {
    w.cb(Error(Errc::out_of_range, dir_ + ": the batch was truncated before it was durable"));
  }
  return new_end;
}

size_t Log::segment_index_for(Offset offset) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](Offset o, const auto& s) { return o < s->base(); });
  return it == segments_.begin() ? 0 : static_cast<size_t>(it - segments_.begin() - 1);
}

Offset Log::segment_end(size_t i) const {
  return i + 1 < segments_.size() ? segments_[i + 1]->base() : end_offset_;
}

Result<ReadResult> Log::read(Offset from, size_t max_bytes, std::optional<Offset> upper_bound) {
  if (from < log_start_offset() || from > end_offset_) {
    return Error(Errc::out_of_range, "offset " + std::to_string(from.value()) + " outside [" +
                                         std::to_string(log_start_offset().value()) + ", " +
                                         std::to_string(end_offset_.value()) + "]");
  }
  Offset upper = std::min(upper_bound.value_or(end_offset_), end_offset_);
  ReadResult r;
  r.next_offset = from;
  for (size_t i = segment_index_for(from); i < segments_.size() && r.next_offset < upper; ++i) {
    Offset seg_end = segment_end(i);
    if (r.next_offset >= seg_end) continue;
    size_t budget = max_bytes > r.data.size() ? max_bytes - r.data.size() : 0;
    if (!r.data.empty() && budget == 0) break;
    const size_t at = r.data.size();
    uint64_t position = 0;
    auto next = segments_[i]->read(r.next_offset, budget, upper, r.data, &r.batch_count, kScanLimit,
                                   &position);
    if (!next) return std::move(next).error();
    if (r.data.empty() && *next < seg_end && upper >= seg_end) {
      // Every batch of this segment is below `upper` and the first is returned whole whatever
      // the budget, so nothing read means the file ends before its offsets do: a sealed
      // segment damaged after start-up checked only its size.
      return Error(Errc::corrupt, segments_[i]->log_path() + ": ends before offset " +
                                      std::to_string(seg_end.value()) + " (reading offset " +
                                      std::to_string(r.next_offset.value()) + ")");
    }
    if (r.data.size() > at) r.sources.push_back({segments_[i]->base(), position, at});
    bool whole_segment = *next >= seg_end;
    r.next_offset = std::max(r.next_offset, *next);
    if (!whole_segment) break;  // budget or upper bound reached inside this segment
  }
  return r;
}

std::string Log::segment_path(Offset segment) const {
  return dir_ + "/" + segment_file_name(segment, SegmentFile::log);
}

Result<std::optional<Offset>> Log::offset_for_timestamp(int64_t timestamp_ms) {
  for (auto& seg : segments_) {
    auto max_ts = seg->compute_max_timestamp(kScanLimit);
    if (!max_ts) return std::move(max_ts).error();
    if (*max_ts < timestamp_ms) continue;
    FERRY_TRY(seg->ensure_index(kScanLimit));
    std::vector<ScannedBatch> found;
    auto scanned =
        seg->scan(seg->index_position_for_timestamp(timestamp_ms), seg->base(), kScanLimit, &found);
    if (!scanned) return std::move(scanned).error();
    for (const auto& b : found) {
      if (b.max_timestamp < timestamp_ms) continue;
      // The first record at or after the timestamp inside this batch.
      auto data = read(b.base_offset, 0);  // exactly this one batch
      if (!data || data->data.empty()) return std::optional<Offset>(b.base_offset);
      protocol::BatchView view(data->data);
      std::vector<std::byte> scratch;
      auto records = protocol::decode_records(view, scratch);
      if (!records) return std::optional<Offset>(b.base_offset);  // codec not decodable here
      if (records->empty()) continue;  // a leader's epoch-start batch: no record to find
      bool append_time = (view.attributes() & protocol::batch_attr::kTimestampTypeLogAppend) != 0;
      for (const auto& rec : *records) {
        // Wrapping add: a hostile delta must not be undefined behaviour.
        int64_t ts = append_time
                         ? view.max_timestamp()
                         : static_cast<int64_t>(static_cast<uint64_t>(view.base_timestamp()) +
                                                static_cast<uint64_t>(rec.timestamp_delta));
        if (ts >= timestamp_ms) return std::optional<Offset>(b.base_offset + rec.offset_delta);
      }
      return std::optional<Offset>(b.base_offset);
    }
  }
  return std::optional<Offset>();
}

Result<RetentionResult> Log::apply_retention(std::optional<Offset> keep_from,
                                             bool disk_nearly_full) {
  RetentionResult result;
  if (failure_ || !config_.cleanup_delete) return result;
  int64_t now = clock_->now_ms();
  uint64_t total = size_bytes();
  auto expired_by_time = [&](Segment& seg) -> Result<bool> {
    if (config_.retention_ms < 0) return false;
    auto ts = seg.compute_max_timestamp(kScanLimit);
    if (!ts) return std::move(ts).error();
    return *ts >= 0 && now - *ts > config_.retention_ms;
  };
  for (;;) {
    if (segments_.size() == 1) {
      // Everything left is in the active segment: roll it when it has expired as a whole, so
      // the next pass can delete it (Kafka does the same).
      Segment& seg = active();
      if (write_in_flight_ || seg.empty() || seg.durable_size() < seg.size()) break;
      auto expired = expired_by_time(seg);
      if (!expired) return std::move(expired).error();
      if (!*expired || (keep_from && end_offset_ > *keep_from && !disk_nearly_full)) break;
      FERRY_TRY(roll(end_offset_));
      continue;
    }
    Segment& seg = *segments_.front();
    if (seg.durable_size() < seg.size()) break;
    bool by_size = config_.retention_bytes >= 0 &&
                   total - seg.size() >= static_cast<uint64_t>(config_.retention_bytes);
    bool by_time = false;
    if (!by_size) {
      auto expired = expired_by_time(seg);
      if (!expired) return std::move(expired).error();
      by_time = *expired;
    }
    if (!by_size && !by_time) break;
    if (keep_from && segments_[1]->base() > *keep_from && !disk_nearly_full) break;
    FERRY_LOG(info, "storage", "%s: deleting segment %" PRId64 " (%s retention)", dir_.c_str(),
              seg.base().value(), by_size ? "size" : "time");
    total -= seg.size();
    result.bytes_deleted += seg.size();
    ++result.segments_deleted;
    FERRY_TRY(seg.remove());
    segments_.erase(segments_.begin());
    if (epochs_.truncate_from_start(log_start_offset())) epochs_changed();
  }
  return result;
}

Result<std::optional<DroppedSegment>> Log::drop_oldest_segment() {
  if (failure_ || closed_) return std::optional<DroppedSegment>();
  if (segments_.size() == 1) {
    Segment& seg = active();
    if (write_in_flight_ || seg.empty() || seg.durable_size() < seg.size()) {
      return std::optional<DroppedSegment>();
    }
    FERRY_TRY(roll(end_offset_));
  }
  Segment& seg = *segments_.front();
  if (seg.durable_size() < seg.size()) return std::optional<DroppedSegment>();
  DroppedSegment d{seg.base(), segments_[1]->base(), seg.size()};
  FERRY_TRY(seg.remove());
  segments_.erase(segments_.begin());
  if (epochs_.truncate_from_start(log_start_offset())) epochs_changed();
  return std::optional<DroppedSegment>(d);
}

std::vector<Log::SealedSegmentInfo> Log::sealed_segments() const {
  std::vector<SealedSegmentInfo> out;
  for (size_t i = 0; i + 1 < segments_.size(); ++i) {
    const Segment& s = *segments_[i];
    out.push_back({s.base(), segment_end(i), s.size(), s.durable_size() >= s.size()});
  }
  return out;
}

Result<int64_t> Log::segment_max_timestamp(Offset base) {
  const size_t i = segment_index_for(base);
  return segments_[i]->compute_max_timestamp(kScanLimit);
}

void Log::close(std::function<void(Status)> done) {
  closed_ = true;
  if (timer_) timer_->stop();
  if (write_in_flight_) {  // complete_write closes once the job is back
    close_after_write_ = std::move(done);
    return;
  }
  flush([done = std::move(done)](Status st) {
    if (done) done(std::move(st));
  });
}

}  // namespace ferry::storage
