// The log cleaner: choosing the dirtiest compacted partition, running its pass on the thread
// pool and swapping the result in on the loop. See cleaner.h.
#include "storage/cleaner.h"

#include <cinttypes>

#include "common/log.h"
#include "common/uv_timer.h"
#include "storage/log.h"

namespace ferry::storage {

struct Cleaner::Job {
  uv_work_t req{};
  std::shared_ptr<Cleaner*> owner;  // null inside once the Cleaner is gone
  std::shared_ptr<Log> log;
  PassPlan plan;
  Result<PassResult> result = Error(Errc::invalid_argument, "not run");
  double ratio = 0;
  std::function<void(Status)> done;
};

namespace {

// Step 4 of the swap protocol: the renames made durable, then cleaner.point.
struct PointJob {
  uv_work_t req{};
  platform::FileSystem* fs = nullptr;
  std::string dir;
  Offset point;
  Status result;
  std::function<void(Status)> done;
};

Status sync_and_write_point(platform::FileSystem& fs, const std::string& dir, Offset point) {
  FERRY_TRY(fs.sync_dir(dir));
  return write_cleaner_point(fs, dir, point);
}

}  // namespace

Cleaner::Cleaner(uv_loop_t* loop, CleanerConfig config, const Clock* clock)
    : loop_(loop),
      config_(config),
      clock_(clock),
      throttle_(config.io_max_bytes_per_second),
      self_(std::make_shared<Cleaner*>(this)) {
  if (loop_ != nullptr) timer_ = std::make_unique<UvTimer>(loop_);
}

Cleaner::~Cleaner() { *self_ = nullptr; }

void Cleaner::start(std::function<std::vector<std::shared_ptr<Log>>()> logs) {
  logs_ = std::move(logs);
  if (!timer_ || !config_.enable) return;
  timer_->start(static_cast<uint64_t>(std::min<int64_t>(config_.backoff_ms, 1000)),
                [this] { tick(); });
  timer_->unref();
}

void Cleaner::stop() {
  logs_ = nullptr;
  if (timer_) timer_->stop();
}

void Cleaner::tick() {
  if (!logs_) return;
  maybe_clean(logs_());
  timer_->start(static_cast<uint64_t>(config_.backoff_ms), [this] { tick(); });
  timer_->unref();
}

Result<std::optional<Cleanability>> Cleaner::cleanability(Log& log, bool force) {
  using None = std::optional<Cleanability>;
  const LogConfig& cfg = log.config();
  if ((!cfg.cleanup_compact && !force) || log.closed() || log.failure()) return None();
  const auto sealed = log.sealed_segments();
  const int64_t now = clock_->now_ms();
  Cleanability c;
  for (const auto& s : sealed) {
    if (!s.durable) break;
    if (!force && cfg.min_compaction_lag_ms > 0) {
      auto ts = log.segment_max_timestamp(s.base);
      if (!ts) return std::move(ts).error();
      if (*ts > now - cfg.min_compaction_lag_ms) break;  // holds records too young to clean
    }
    c.plan.segments.push_back({s.base, s.end, s.size});
  }
  if (c.plan.segments.empty()) return None();
  c.plan.first_dirty =
      std::max(log.cleaner_point().value_or(Offset(0)), c.plan.segments.front().base);
  const bool horizon_due = log.tombstone_horizon_ms() && *log.tombstone_horizon_ms() <= now;
  if (c.plan.first_dirty >= c.plan.segments.back().end) {
    // Nothing dirty: a pass over the clean part only removes tombstones past their horizon.
    if (!horizon_due) return None();
    c.plan.first_dirty = c.plan.segments.back().end;
    c.overdue = true;
    c.plan.dir = log.dir();
    return std::optional<Cleanability>(std::move(c));
  }
  uint64_t clean = 0, dirty = 0;
  std::optional<Offset> first_dirty_segment;
  for (const auto& s : c.plan.segments) {
    if (s.end <= c.plan.first_dirty) {
      clean += s.size;
    } else {
      dirty += s.size;
      if (!first_dirty_segment) first_dirty_segment = s.base;
    }
  }
  c.dirty_ratio =
      clean + dirty == 0 ? 0 : static_cast<double>(dirty) / static_cast<double>(clean + dirty);
  if (cfg.max_compaction_lag_ms < std::numeric_limits<int64_t>::max() && first_dirty_segment) {
    // The newest record of the first dirty segment: when even it is older than the lag, the
    // segment's records are overdue (Kafka uses the first record; this errs late, never early).
    auto ts = log.segment_max_timestamp(*first_dirty_segment);
    if (!ts) return std::move(ts).error();
    c.overdue = *ts >= 0 && now - *ts > cfg.max_compaction_lag_ms;
  }
  c.overdue = c.overdue || horizon_due;
  if (!force && !c.overdue && c.dirty_ratio < cfg.min_cleanable_dirty_ratio) return None();
  c.plan.dir = log.dir();
  return std::optional<Cleanability>(std::move(c));
}

PassPlan Cleaner::finish_plan(PassPlan plan, const Log& log) const {
  plan.fs = &log.file_system();
  plan.now_ms = clock_->now_ms();
  plan.delete_retention_ms = log.config().delete_retention_ms;
  plan.dedupe_buffer_bytes = config_.dedupe_buffer_bytes;
  plan.throttle = const_cast<IoThrottle*>(&throttle_);
  return plan;
}

bool Cleaner::maybe_clean(const std::vector<std::shared_ptr<Log>>& logs,
                          std::function<void(Status)> done) {
  if (in_flight_ || !config_.enable || loop_ == nullptr) return false;
  std::shared_ptr<Log> best;
  std::optional<Cleanability> best_c;
  for (const auto& log : logs) {
    if (!log || !log->config().cleanup_compact) continue;
    auto c = cleanability(*log);
    if (!c) {
      FERRY_LOG(warn, "storage", "%s: cleaner: %s", log->dir().c_str(),
                c.error().to_string().c_str());
      continue;
    }
    if (!*c) continue;
    const bool better =
        !best_c || ((*c)->overdue && !best_c->overdue) ||
        ((*c)->overdue == best_c->overdue && (*c)->dirty_ratio > best_c->dirty_ratio);
    if (better) {
      best = log;
      best_c = std::move(*c);
    }
  }
  if (!best) return false;
  auto* job = new Job;
  job->req.data = job;
  job->owner = self_;
  job->log = best;
  job->plan = finish_plan(std::move(best_c->plan), *best);
  job->ratio = best_c->dirty_ratio;
  job->done = std::move(done);
  in_flight_ = true;
  uv_queue_work(
      loop_, &job->req,
      [](uv_work_t* r) {
        auto* j = static_cast<Job*>(r->data);
        j->result = run_clean_pass(j->plan);
      },
      [](uv_work_t* r, int) {
        std::unique_ptr<Job> j(static_cast<Job*>(r->data));
        Cleaner* self = *j->owner;
        if (self == nullptr) {  // the broker is gone: nothing is swapped
          if (j->result) discard_cleaned(*j->plan.fs, j->plan.dir, j->result->cleaned);
          return;
        }
        Status st = self->complete(*j->log, j->result, j->ratio);
        if (!st || !j->result || self->loop_ == nullptr) {
          self->in_flight_ = false;
          if (j->done) j->done(st);
          return;
        }
        auto* pj = new PointJob;
        pj->req.data = pj;
        pj->fs = j->plan.fs;
        pj->dir = j->plan.dir;
        pj->point = j->result->clean_point;
        auto owner = j->owner;
        pj->done = [owner, done = std::move(j->done)](Status s) {
          if (*owner != nullptr) (*owner)->in_flight_ = false;
          if (done) done(std::move(s));
        };
        uv_queue_work(
            self->loop_, &pj->req,
            [](uv_work_t* w) {
              auto* p = static_cast<PointJob*>(w->data);
              p->result = sync_and_write_point(*p->fs, p->dir, p->point);
            },
            [](uv_work_t* w, int) {
              std::unique_ptr<PointJob> p(static_cast<PointJob*>(w->data));
              if (!p->result) {
                FERRY_LOG(warn, "storage", "%s: writing %s: %s", p->dir.c_str(), kCleanerPointFile,
                          p->result.error().to_string().c_str());
              }
              p->done(p->result);
            });
      });
  return true;
}

Result<std::optional<PassResult>> Cleaner::clean_now(Log& log, bool force) {
  auto c = cleanability(log, force);
  if (!c) return std::move(c).error();
  if (!*c) return std::optional<PassResult>();
  const double ratio = (*c)->dirty_ratio;
  PassPlan plan = finish_plan(std::move((*c)->plan), log);
  Result<PassResult> result = run_clean_pass(plan);
  FERRY_TRY(complete(log, result, ratio));
  FERRY_TRY(sync_and_write_point(*plan.fs, plan.dir, result->clean_point));
  return std::optional<PassResult>(std::move(result).value());
}

Status Cleaner::complete(Log& log, Result<PassResult>& result, double ratio) {
  if (!result) {
    ++stats_.passes_failed;
    FERRY_LOG(warn, "storage", "%s: compaction pass failed: %s", log.dir().c_str(),
              result.error().to_string().c_str());
    return result.error();
  }
  PassResult& r = *result;
  auto swapped = commit_cleaned(log, r.cleaned);
  if (!swapped) {
    ++stats_.passes_failed;
    FERRY_LOG(warn, "storage", "%s", swapped.error().to_string().c_str());
    return std::move(swapped).error();
  }
  log.set_cleaner_point(r.clean_point);
  log.set_tombstone_horizon_ms(r.earliest_horizon_ms);
  ++stats_.passes;
  stats_.bytes_read += r.bytes_read;
  stats_.bytes_written += r.bytes_written;
  stats_.records_removed += r.records_removed;
  stats_.tombstones_removed += r.tombstones_removed;
  stats_.segments_swapped += *swapped;
  stats_.map_memory_bytes = r.map_memory_bytes;
  stats_.throttle_sleep_ms = throttle_.slept_ms();
  PartitionCleanerStats& p = stats_.partitions[log.dir()];
  p.last_clean_ms = clock_->now_ms();
  ++p.passes;
  p.bytes_read += r.bytes_read;
  p.bytes_written += r.bytes_written;
  p.records_removed += r.records_removed;
  p.last_dirty_ratio = ratio;
  FERRY_LOG(info, "storage",
            "%s: compaction pass: dirty ratio %.2f, %zu segment(s) rewritten, %" PRIu64
            " record(s) removed (%" PRIu64 " tombstones), %" PRIu64 " bytes read, %" PRIu64
            " written, %" PRIu64 " keys, clean to offset %" PRId64 "%s",
            log.dir().c_str(), ratio, *swapped, r.records_removed, r.tombstones_removed,
            r.bytes_read, r.bytes_written, r.keys, r.clean_point.value(),
            r.map_full ? " (key map full: more passes follow)" : "");
  return {};
}

}  // namespace ferry::storage
