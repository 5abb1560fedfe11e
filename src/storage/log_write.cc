// Log write jobs: offsets assigned on the loop, the segment writes (and rolls) on the thread
// pool, the log updated back on the loop. See log.h, "Write jobs", and write_job.h.
#include <algorithm>
#include <cinttypes>

#include "common/bytes.h"
#include "common/flash_accounting.h"
#include "common/log.h"
#include "platform/file.h"
#include "protocol/record_batch.h"
#include "storage/log.h"
#include "storage/segment.h"

namespace ferry::storage {
namespace {

// File::pwritev_all takes this many parts in one system call (more go one by one).
constexpr size_t kPartsPerCall = 8;

// Writes `batches` back to back from `position`, a few per system call.
Status write_batches(platform::File& file, std::span<const WriteJob::Batch> batches,
                     uint64_t position) {
  std::span<const std::byte> parts[kPartsPerCall];
  size_t n = 0;
  uint64_t at = position;
  uint64_t pending = 0;
  for (const auto& b : batches) {
    parts[n++] = b.prefix;
    parts[n++] = b.bytes.subspan(b.prefix.size());
    pending += b.bytes.size();
    if (n + 2 > kPartsPerCall) {
      FERRY_TRY(file.pwritev_all(std::span(parts, n), at));
      flash::count_written(flash::WriteKind::log_append, pending);
      at += pending;
      pending = 0;
      n = 0;
    }
  }
  if (n > 0) {
    FERRY_TRY(file.pwritev_all(std::span(parts, n), at));
    flash::count_written(flash::WriteKind::log_append, pending);
  }
  return {};
}

}  // namespace

WriteJob::WriteJob() = default;
WriteJob::~WriteJob() = default;

AppendInfo WriteJob::info(size_t i) const {
  const Batch& b = batches[i];
  AppendInfo out;
  out.base_offset = b.base_offset;
  out.last_offset = b.last_offset;
  out.max_timestamp = b.max_timestamp;
  out.stored_bytes = b.bytes.size();
  return out;
}

// Thread pool: touches only this job (see write_job.h).
void WriteJob::run() {
  // The cache file first: on disk it must cover every batch the segments hold.
  if (epoch_file) {
    if (auto st = epoch_file->write(epoch_sequence, epoch_text); !st) {
      result = std::move(st);
      return;  // nothing else touched: rolled back
    }
  }
  size_t done_targets = 0;
  for (Target& t : targets) {
    if (t.created) {
      auto f = Segment::create_files(*fs, t.path, t.index_paths, preallocate);
      if (!f) {
        // A file created before the reservation failed (a full disk) must not block the next
        // try.
        if (f.error().code() != Errc::already_exists) (void)fs->remove_file_durable(t.path);
        result = std::move(f).error();
        break;
      }
      t.file = std::make_shared<platform::File>(std::move(f).value());
      t.opened_here = true;
      ++done_targets;  // from here on, a failure removes the file
      auto idx = Segment::create_index_files(*fs, t.index_paths);
      if (!idx) {
        result = std::move(idx).error();
        break;
      }
      t.index_files[0] = std::make_shared<platform::File>(std::move(idx->first));
      t.index_files[1] = std::make_shared<platform::File>(std::move(idx->second));
    } else if (!t.file) {
      auto f = fs->open(t.path, platform::File::Mode::read_write);
      if (!f) {
        result = std::move(f).error();
        break;
      }
      t.file = std::make_shared<platform::File>(std::move(f).value());
      t.opened_here = true;
      ++done_targets;
    } else {
      ++done_targets;
    }
    auto written =
        write_batches(*t.file, std::span(batches).subspan(t.first_batch, t.batch_count), t.start);
    if (!written) {
      result = std::move(written);
      break;
    }
  }
  if (result) return;
  // Undo: every file the job touched goes back to what it was, so the log end stays true and
  // the next job writes at the same place.
  for (size_t i = 0; i < done_targets; ++i) {
    Target& t = targets[i];
    if (t.created) {
      t.file.reset();
      t.index_files[0].reset();
      t.index_files[1].reset();
      for (const auto& p : t.index_paths) {
        if (auto st = fs->remove_file_durable(p); !st) rolled_back = false;
      }
      if (auto st = fs->remove_file_durable(t.path); !st) rolled_back = false;
    } else if (auto st = t.file->truncate(t.start); !st) {
      rolled_back = false;
    }
  }
}

Status Log::check_writable() {
  if (closed_) return Error(Errc::closed, dir_ + ": log is closed");
  if (failure_) return Error(Errc::failed_state, dir_ + ": log failed: " + failure_->message());
  if (write_in_flight_) return Error(Errc::invalid_argument, dir_ + ": a write is in flight");
  if (full_ && clock_->now_ms() < full_probe_ms_) {
    return Error(Errc::no_space, dir_ + ": disk full, appends paused until space is freed");
  }
  return {};
}

Result<std::unique_ptr<WriteJob>> Log::begin_write() {
  FERRY_TRY(check_writable());
  auto job = std::make_unique<WriteJob>();
  job->next_offset = end_offset_;
  job->preallocate = config_.preallocate_bytes;
  job->fs = fs_;
  return job;
}

Result<AppendInfo> Log::add(WriteJob& job, std::vector<std::byte> batch) {
  job.owned.push_back(std::move(batch));  // moving a vector keeps its bytes where they are
  auto info = add(job, std::span<const std::byte>(job.owned.back()));
  if (!info) job.owned.pop_back();
  return info;
}

Result<AppendInfo> Log::add(WriteJob& job, std::span<const std::byte> batch) {
  if (batch.size() > config_.max_batch_bytes) {
    return Error(Errc::too_large, "batch of " + std::to_string(batch.size()) +
                                      " bytes exceeds max.message.bytes " +
                                      std::to_string(config_.max_batch_bytes));
  }
  FERRY_TRY(protocol::validate_batch(batch));
  const protocol::BatchView view(batch);

  // The segment the batch goes to: the last one the job writes, the active one, or a new one.
  bool roll_now = false;
  if (job.targets.empty()) {
    const Segment& seg = active();
    roll_now =
        should_roll_at(seg.size(), seg.base(), seg.created_ms(), job.next_offset, batch.size());
  } else {
    const WriteJob::Target& t = job.targets.back();
    roll_now =
        should_roll_at(t.end, t.segment->base(), t.created_ms, job.next_offset, batch.size());
  }
  if (roll_now) {
    WriteJob::Target t;
    t.created =
        std::make_unique<Segment>(dir_, job.next_offset, 0, *pool_, config_.index_interval_bytes);
    t.created_ms = clock_->now_ms();
    t.created->start_new(t.created_ms);
    t.segment = t.created.get();
    t.path = t.created->log_path();
    t.created->index_paths(t.index_paths);
    t.first_batch = job.batches.size();
    job.targets.push_back(std::move(t));
  } else if (job.targets.empty()) {
    Segment& seg = active();
    WriteJob::Target t;
    t.segment = &seg;
    t.file = seg.open_log_file();
    if (!t.file) t.path = seg.log_path();  // opened on the thread pool
    t.start = seg.size();
    t.end = seg.size();
    t.created_ms = seg.created_ms();
    t.first_batch = job.batches.size();
    job.targets.push_back(std::move(t));
  }
  WriteJob::Target& t = job.targets.back();

  WriteJob::Batch b;
  b.bytes = batch;
  store_i64(b.prefix.data(), job.next_offset.value());
  b.position = t.end;
  b.base_offset = job.next_offset;
  b.last_offset = job.next_offset + view.last_offset_delta();
  b.max_timestamp = view.max_timestamp();
  b.records = std::max(1, view.record_count());
  const LeaderEpoch pending =
      job.new_epochs.empty() ? epochs_.last_epoch() : job.new_epochs.back().epoch;
  if (view.leader_epoch() >= LeaderEpoch(0) && view.leader_epoch() > pending) {
    job.new_epochs.push_back({view.leader_epoch(), b.base_offset});
  }
  job.batches.push_back(b);
  ++t.batch_count;
  t.end += batch.size();
  job.next_offset = b.last_offset + 1;
  return job.info(job.batches.size() - 1);
}

void Log::submit(std::unique_ptr<WriteJob> job, std::function<void(Status)> done) {
  if (job->empty()) {
    done(Status{});
    return;
  }
  write_in_flight_ = true;
  prepare_epochs(*job);
  job->done = std::move(done);
  if (loop_ != nullptr) {
    job->log = shared_from_this();
    job->req.data = job.get();
    const int rc = uv_queue_work(
        loop_, &job->req, [](uv_work_t* req) { static_cast<WriteJob*>(req->data)->run(); },
        [](uv_work_t* req, int status) {
          std::unique_ptr<WriteJob> j(static_cast<WriteJob*>(req->data));
          if (status != 0 && j->result) {
            j->result = Error(Errc::io, "write job cancelled");
            j->rolled_back = true;  // it never ran
          }
          auto cb = std::move(j->done);
          Status st = j->log->complete_write(*j);
          cb(std::move(st));
        });
    if (rc == 0) {
      (void)job.release();  // owned by the completion callback
      return;
    }
    FERRY_LOG(warn, "storage", "%s: writing on the loop, the thread pool refused: %s", dir_.c_str(),
              uv_strerror(rc));
  }
  job->run();
  auto cb = std::move(job->done);
  Status st = complete_write(*job);
  cb(std::move(st));
}

Status Log::complete_write(WriteJob& job) {
  write_in_flight_ = false;
  Status outcome;
  if (!job.result) {
    if (job.epoch_file) epochs_dirty_ = true;  // its snapshot may not have been written
    Error error = job.result.error();
    if (error.code() == Errc::no_space && job.rolled_back) {
      if (!full_) {
        FERRY_LOG(warn, "storage", "%s: disk full, appends paused until space is freed: %s",
                  dir_.c_str(), error.to_string().c_str());
      }
      full_ = true;
      full_probe_ms_ = clock_->now_ms() + kFullProbeIntervalMs;
    } else {
      // The file may hold a partial batch if the undo failed too; what reached the disk is not
      // known for an I/O error either. Refuse further appends until reopened (recovery
      // truncates a partial tail).
      fail(error);
    }
    outcome = std::move(error);
  } else {
    bool rolled = false;
    for (WriteJob::Target& t : job.targets) {
      if (t.created) {
        segments_.push_back(std::move(t.created));
        dir_dirty_ = true;
        rolled = true;
        FERRY_LOG(debug, "storage", "%s: rolled to segment %" PRId64, dir_.c_str(),
                  t.segment->base().value());
      }
      if (t.opened_here) t.segment->adopt_log_file(std::move(t.file));
      if (t.index_files[0]) {
        t.segment->adopt_index_files(std::move(t.index_files[0]), std::move(t.index_files[1]));
      }
      for (size_t i = t.first_batch; i < t.first_batch + t.batch_count; ++i) {
        const WriteJob::Batch& b = job.batches[i];
        t.segment->written(b.position, static_cast<uint32_t>(b.bytes.size()), b.base_offset,
                           b.last_offset, b.max_timestamp);
        unflushed_records_ += b.records;
      }
    }
    end_offset_ = job.next_offset;
    for (const EpochEntry& e : job.new_epochs) (void)epochs_.assign(e.epoch, e.start_offset);
    if (full_) {
      full_ = false;
      FERRY_LOG(info, "storage", "%s: appends resumed, the disk has space again", dir_.c_str());
    }
    // A roll seals the previous segment: flush it promptly.
    schedule_flush(rolled || unflushed_records_ >= config_.flush_messages);
  }
  persist_epochs();  // what changed while the job ran (retention)
  if (close_after_write_) {
    auto done = std::move(*close_after_write_);
    close_after_write_.reset();
    flush([done = std::move(done)](Status st) {
      if (done) done(std::move(st));
    });
  }
  return outcome;
}

}  // namespace ferry::storage
