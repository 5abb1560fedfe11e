// LogManager: the partition logs of one data directory (see log_manager.h).
#include "storage/log_manager.h"

#include <algorithm>
#include <charconv>

#include "common/log.h"
#include "platform/file.h"
#include "storage/open_progress.h"

namespace ferry::storage {

std::string partition_dir_name(const TopicPartition& tp) {
  return tp.topic + "-" + std::to_string(tp.partition.value());
}

std::optional<TopicPartition> parse_partition_dir_name(const std::string& name) {
  auto dash = name.find_last_of('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == name.size()) return std::nullopt;
  int32_t p = 0;
  const char* first = name.data() + dash + 1;
  const char* last = name.data() + name.size();
  auto [ptr, ec] = std::from_chars(first, last, p);
  if (ec != std::errc() || ptr != last || p < 0) return std::nullopt;
  return TopicPartition{name.substr(0, dash), PartitionId(p)};
}

LogManager::LogManager(std::string logs_dir, LogOptions options, size_t max_open_files)
    : logs_dir_(std::move(logs_dir)),
      options_(options),
      pool_(std::make_shared<FilePool>(max_open_files, *options.fs)) {
  options_.pool = pool_;
  if (options_.loop != nullptr && !options_.flusher) {
    options_.flusher = std::make_shared<Flusher>(options_.loop);
  }
}

LogManager::~LogManager() {
  logs_.clear();  // a log still held elsewhere keeps the pool alive itself
}

Status LogManager::open_all(const std::function<LogConfig(const TopicPartition&)>& config_for) {
  platform::FileSystem& fs = *options_.fs;
  LogOptions open_options = options_;
  open_options.caller_syncs_tail = true;  // batched below
  FERRY_TRY(fs.create_dirs(logs_dir_));
  auto names = fs.list_dir(logs_dir_);
  if (!names) return std::move(names).error();
  size_t opened = 0;
  for (const auto& name : *names) {
    if (auto kind = parse_set_aside_dir_name(name)) {
      if (*kind == SetAside::deleted) {
        FERRY_LOG(info, "storage", "%s/%s: finishing the deletion of a deleted topic's partition",
                  logs_dir_.c_str(), name.c_str());
        FERRY_TRY(fs.remove_tree(logs_dir_ + "/" + name));
        FERRY_TRY(fs.sync_dir(logs_dir_));
      } else {
        FERRY_LOG(warn, "storage",
                  "%s/%s: quarantined partition data is kept; remove it with `ferry data prune`",
                  logs_dir_.c_str(), name.c_str());
      }
      continue;
    }
    auto tp = parse_partition_dir_name(name);
    if (!tp) {
      FERRY_LOG(warn, "storage", "%s/%s: not a partition directory, ignored", logs_dir_.c_str(),
                name.c_str());
      continue;
    }
    auto log = Log::open(logs_dir_ + "/" + name, config_for(*tp), open_options);
    if (!log) return std::move(log).error();
    logs_[*tp] = std::move(log).value();
    report_open_progress(++opened, names->size());
  }
  if (options_.loop != nullptr) sync_tails_in_background();
  return {};
}

namespace {

// Start-up: the recovered tails of many logs, synced on the thread pool one file at a time.
struct TailSyncJob {
  uv_work_t req{};
  platform::FileSystem* fs = nullptr;
  std::vector<std::pair<std::weak_ptr<Log>, TailSync>> logs;
  std::shared_ptr<LogManager::Removals> background;  // counts this job while it runs
};

}  // namespace

void LogManager::sync_tails_in_background() {
  std::vector<std::pair<std::weak_ptr<Log>, TailSync>> pending;
  for (const auto& [tp, log] : logs_) {
    TailSync sync = log->tail_sync();
    if (!sync.files.empty() || sync.recovery_point) pending.emplace_back(log, std::move(sync));
  }
  if (pending.empty()) return;
  // A few jobs, so the syncs overlap without taking every thread of the pool (or descriptor).
  const size_t jobs = std::min<size_t>(kTailSyncJobs, pending.size());
  for (size_t n = 0; n < jobs; ++n) {
    auto job = std::make_unique<TailSyncJob>();
    job->fs = options_.fs;
    job->background = removals_;
    for (size_t i = n; i < pending.size(); i += jobs) job->logs.push_back(std::move(pending[i]));
    job->req.data = job.get();
    int rc = uv_queue_work(
        options_.loop, &job->req,
        [](uv_work_t* req) {  // thread pool: touches only the job
          auto* j = static_cast<TailSyncJob*>(req->data);
          for (auto& [log, sync] : j->logs) Log::run_tail_sync(sync, *j->fs);
        },
        [](uv_work_t* req, int status) {  // loop
          std::unique_ptr<TailSyncJob> j(static_cast<TailSyncJob*>(req->data));
          for (auto& [weak, sync] : j->logs) {
            if (status != 0) sync.result = Error(Errc::closed, "start-up sync cancelled");
            if (auto log = weak.lock()) log->tail_synced(sync);
          }
          if (--j->background->in_flight == 0 && j->background->idle) {
            auto idle = std::move(j->background->idle);
            j->background->idle = nullptr;
            idle();
          }
        });
    if (rc != 0) {
      // Each log's next flush syncs its tail instead.
      FERRY_LOG(warn, "storage", "syncing recovered tails is left to the next flushes: %s",
                uv_strerror(rc));
      return;
    }
    ++removals_->in_flight;
    (void)job.release();  // owned by the completion callback
  }
}

std::shared_ptr<Log> LogManager::get(const TopicPartition& tp) const {
  auto it = logs_.find(tp);
  return it == logs_.end() ? nullptr : it->second;
}

std::string LogManager::dir_of(const TopicPartition& tp) const {
  return logs_dir_ + "/" + partition_dir_name(tp);
}

Result<std::shared_ptr<Log>> LogManager::get_or_create(const TopicPartition& tp,
                                                       const LogConfig& config,
                                                       const std::string& topic_id) {
  if (auto existing = get(tp)) return existing;
  const std::string dir = dir_of(tp);
  // The identity goes in before the first segment, so a directory with data always says
  // whose data it is (a crash in between leaves an empty directory, adopted at the next start).
  FERRY_TRY(fs().create_dirs(dir));
  if (!fs().exists(dir + "/" + kPartitionIdentityFile)) {
    FERRY_TRY(
        write_partition_identity(dir, PartitionIdentity{topic_id, tp.topic, tp.partition}, fs()));
  }
  auto log = Log::open(dir, config, options_);
  if (!log) return std::move(log).error();
  logs_[tp] = *log;
  return log;
}

Status LogManager::set_aside(const TopicPartition& tp, const std::string& topic_id, SetAside kind,
                             std::string* path) {
  auto it = logs_.find(tp);
  if (it != logs_.end()) {
    it->second->close();
    logs_.erase(it);
  }
  const std::string dir = dir_of(tp);
  *path = logs_dir_ + "/" + set_aside_dir_name(partition_dir_name(tp), topic_id, kind);
  if (!fs().exists(dir)) return {};
  if (fs().exists(*path)) FERRY_TRY(fs().remove_tree(*path));  // an earlier attempt
  return fs().rename_durable(dir, *path);
}

namespace {

// Removes a tombstone on the thread pool; errors are logged (open_all retries at next start).
struct RemoveTreeJob {
  uv_work_t req{};
  std::string path;
  platform::FileSystem* fs = nullptr;
  std::string logs_dir;
  Status result;
  std::shared_ptr<LogManager::Removals> removals;  // counts this job while it runs
};

void remove_tree_in_background(uv_loop_t* loop, platform::FileSystem& fs, std::string path,
                               std::string logs_dir,
                               std::shared_ptr<LogManager::Removals> removals) {
  auto job = std::make_unique<RemoveTreeJob>();
  job->fs = &fs;
  job->path = std::move(path);
  job->logs_dir = std::move(logs_dir);
  job->removals = std::move(removals);
  job->req.data = job.get();
  int rc = uv_queue_work(
      loop, &job->req,
      [](uv_work_t* req) {  // thread pool: touches only the job's path strings and result
        auto* j = static_cast<RemoveTreeJob*>(req->data);
        j->result = j->fs->remove_tree(j->path);
        if (j->result) j->result = j->fs->sync_dir(j->logs_dir);
      },
      [](uv_work_t* req, int) {  // loop
        std::unique_ptr<RemoveTreeJob> j(static_cast<RemoveTreeJob*>(req->data));
        if (!j->result) {
          FERRY_LOG(warn, "storage", "removing %s failed (retried at next start): %s",
                    j->path.c_str(), j->result.error().to_string().c_str());
        }
        if (--j->removals->in_flight == 0 && j->removals->idle) {
          auto idle = std::move(j->removals->idle);
          j->removals->idle = nullptr;
          idle();
        }
      });
  if (rc != 0) {
    FERRY_LOG(warn, "storage", "removing %s is left to the next start: %s", job->path.c_str(),
              uv_strerror(rc));
    return;
  }
  ++job->removals->in_flight;
  (void)job.release();  // owned by the completion callback
}

}  // namespace

Status LogManager::remove(const TopicPartition& tp, const std::string& topic_id) {
  std::string tombstone;
  FERRY_TRY(set_aside(tp, topic_id, SetAside::deleted, &tombstone));
  if (!fs().exists(tombstone)) return {};
  if (options_.loop != nullptr) {
    remove_tree_in_background(options_.loop, fs(), tombstone, logs_dir_, removals_);
    return {};
  }
  FERRY_TRY(fs().remove_tree(tombstone));
  return fs().sync_dir(logs_dir_);
}

Status LogManager::quarantine(const TopicPartition& tp, const std::string& topic_id) {
  std::string path;
  return set_aside(tp, topic_id, SetAside::stray, &path);
}

Result<RetentionResult> LogManager::apply_retention(
    const std::function<std::optional<Offset>(const TopicPartition&)>& floor_for,
    bool disk_nearly_full) {
  RetentionResult total;
  for (auto& [tp, log] : logs_) {
    auto r = log->apply_retention(floor_for ? floor_for(tp) : std::nullopt, disk_nearly_full);
    if (!r) {
      FERRY_LOG(warn, "storage", "%s: retention failed: %s", log->dir().c_str(),
                r.error().to_string().c_str());
      continue;
    }
    total.segments_deleted += r->segments_deleted;
    total.bytes_deleted += r->bytes_deleted;
  }
  return total;
}

void LogManager::close_all(std::function<void(Status)> done) {
  struct Pending {
    size_t left;
    Status first_error;
    std::function<void(Status)> done;
  };
  auto pending = std::make_shared<Pending>(Pending{logs_.size() + 1, Status{}, std::move(done)});
  auto one_done = [pending](Status st) {
    if (!st && pending->first_error.ok()) pending->first_error = st;
    if (--pending->left == 0 && pending->done) pending->done(pending->first_error);
  };
  for (auto& [tp, log] : logs_) log->close(one_done);
  if (removals_->in_flight > 0) {  // deleted topics' files or start-up syncs still running
    ++pending->left;
    removals_->idle = [one_done] { one_done(Status{}); };
  }
  one_done(Status{});
}

namespace {
OpenProgress& open_progress_hook() {
  static OpenProgress hook;
  return hook;
}
}  // namespace

void set_open_progress(OpenProgress progress) { open_progress_hook() = std::move(progress); }

void report_open_progress(size_t opened, size_t entries) {
  if (open_progress_hook()) open_progress_hook()(opened, entries);
}

}  // namespace ferry::storage
