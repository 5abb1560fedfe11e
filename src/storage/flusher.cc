// Flusher: one fdatasync job at a time on the thread pool for all logs. See flusher.h.
#include "storage/flusher.h"

#include <algorithm>

#include "common/log.h"
#include "common/uv_timer.h"
#include "storage/log.h"

namespace ferry::storage {

// One round on the thread pool: every log that asked since the previous round started.
struct Flusher::Job {
  uv_work_t req{};
  std::shared_ptr<Flusher> owner;  // keeps the Flusher alive until the job is back on the loop
  std::vector<std::unique_ptr<LogFlush>> parts;
};

Flusher::Flusher(uv_loop_t* loop)
    : loop_(loop), quiet_timer_(std::make_unique<UvTimer>(loop)), start_idle_(new uv_idle_t) {
  quiet_timer_->unref();  // the summary never keeps the loop running
  uv_idle_init(loop_, start_idle_);
  start_idle_->data = this;
}

Flusher::~Flusher() {
  if (period_open_) log_summary();
  start_idle_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(start_idle_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
}

void Flusher::request(std::shared_ptr<Log> log) {
  waiting_.push_back(std::move(log));
  if (!running_) arm_start();
}

// Starts the next job once the loop has run every callback of this iteration (an idle handle
// runs at the start of the next one, and keeps it from blocking in poll): the appends of the
// requests read now join it.
void Flusher::arm_start() {
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(start_idle_)) != 0) return;
  uv_idle_start(start_idle_, [](uv_idle_t* h) {
    uv_idle_stop(h);
    if (auto* self = static_cast<Flusher*>(h->data)) self->start_job();
  });
}

void Flusher::start_job() {
  while (!running_ && !waiting_.empty()) {
    std::vector<std::shared_ptr<Log>> logs;
    logs.swap(waiting_);
    auto job = std::make_unique<Job>();
    for (auto& log : logs) {
      if (log->failure_) {
        // Failed while it waited: its waiters were failed with it, and a sync now would prove
        // nothing about what it wrote before the failure.
        log->flush_in_flight_ = false;
        continue;
      }
      std::unique_ptr<LogFlush> part = log->prepare_flush();
      if (!part) {
        // Nothing to sync (already durable): release its waiters now. They may append and ask
        // again; such a log waits in waiting_ for the next pass of this loop.
        log->flush_in_flight_ = false;
        log->fire_waiters();
        continue;
      }
      part->log = log;
      job->parts.push_back(std::move(part));
    }
    if (job->parts.empty()) continue;
    note_busy();
    job->owner = shared_from_this();
    job->req.data = job.get();
    job_start_ns_ = uv_hrtime();
    const int rc = uv_queue_work(
        loop_, &job->req,
        [](uv_work_t* req) {
          for (auto& part : static_cast<Job*>(req->data)->parts) part->run();
        },
        [](uv_work_t* req, int status) {
          std::unique_ptr<Job> j(static_cast<Job*>(req->data));
          if (status != 0) {
            for (auto& part : j->parts) part->result = Error(Errc::closed, "flush cancelled");
          }
          std::shared_ptr<Flusher> self = j->owner;
          self->complete_job(*j);
        });
    if (rc != 0) {
      for (auto& part : job->parts) {
        part->result = Error(Errc::io, std::string("uv_queue_work: ") + uv_strerror(rc));
      }
      running_ = true;
      complete_job(*job);
      return;
    }
    running_ = true;
    (void)job.release();  // owned by the completion callback
  }
}

void Flusher::complete_job(Job& job) {
  ++stats_.jobs;
  stats_.log_flushes += job.parts.size();
  uint32_t datasyncs = 0;
  for (const auto& part : job.parts) datasyncs += part->datasyncs;
  stats_.datasyncs += datasyncs;
  if (observer_) observer_(uv_hrtime() - job_start_ns_, datasyncs);
  // Logs that ask again while the parts complete wait in waiting_ for the next job, which starts
  // once every part of this one is done.
  for (auto& part : job.parts) part->log->complete_flush(*part);
  running_ = false;
  last_job_end_ms_ = uv_now(loop_);
  if (!quiet_timer_->active()) arm_quiet_check(static_cast<uint64_t>(kQuietMs));
  start_job();
}

void Flusher::arm_quiet_check(uint64_t delay_ms) {
  quiet_timer_->start(delay_ms, [this] { check_quiet(); });
}

void Flusher::check_quiet() {
  const uint64_t due = last_job_end_ms_ + static_cast<uint64_t>(kQuietMs);
  const uint64_t now = uv_now(loop_);
  if (running_ || now < due) {
    arm_quiet_check(running_ ? static_cast<uint64_t>(kQuietMs) : due - now);
    return;
  }
  log_summary();
  period_open_ = false;
}

void Flusher::note_busy() {
  if (period_open_) return;
  period_open_ = true;
  period_start_ = stats_;
  period_start_ms_ = uv_now(loop_);
}

void Flusher::log_summary() {
  const uint64_t jobs = stats_.jobs - period_start_.jobs;
  if (jobs == 0) return;
  const uint64_t syncs = stats_.datasyncs - period_start_.datasyncs;
  const uint64_t waits = stats_.durable_waits - period_start_.durable_waits;
  const uint64_t flushes = stats_.log_flushes - period_start_.log_flushes;
  const uint64_t ms = std::max<uint64_t>(last_job_end_ms_ - period_start_ms_, 1);
  const double secs = static_cast<double>(ms) / 1000.0;
  FERRY_LOG(info, "storage",
            "group commit: %llu fdatasync in %.2f s (%.0f/s), %llu durable waits released "
            "(%.1f per fdatasync), %llu flush jobs covering %llu log flushes",
            static_cast<unsigned long long>(syncs), secs, static_cast<double>(syncs) / secs,
            static_cast<unsigned long long>(waits),
            syncs > 0 ? static_cast<double>(waits) / static_cast<double>(syncs) : 0.0,
            static_cast<unsigned long long>(jobs), static_cast<unsigned long long>(flushes));
}

}  // namespace ferry::storage
