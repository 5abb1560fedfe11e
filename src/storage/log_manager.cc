// LogManager: the partition logs of one data directory (see log_manager.h).
#include "storage/log_manager.h"

#include <charconv>

#include "common/log.h"
#include "platform/file.h"

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
    : logs_dir_(std::move(logs_dir)), options_(options), pool_(max_open_files) {
  options_.pool = &pool_;
}

LogManager::~LogManager() {
  logs_.clear();  // logs unregister their files from pool_, which outlives them
}

Status LogManager::open_all(const std::function<LogConfig(const TopicPartition&)>& config_for) {
  FERRY_TRY(platform::create_dirs(logs_dir_));
  auto names = platform::list_dir(logs_dir_);
  if (!names) return std::move(names).error();
  for (const auto& name : *names) {
    auto tp = parse_partition_dir_name(name);
    if (!tp) {
      FERRY_LOG(warn, "storage", "%s/%s: not a partition directory, ignored", logs_dir_.c_str(),
                name.c_str());
      continue;
    }
    auto log = Log::open(logs_dir_ + "/" + name, config_for(*tp), options_);
    if (!log) return std::move(log).error();
    logs_[*tp] = std::move(log).value();
  }
  return {};
}

std::shared_ptr<Log> LogManager::get(const TopicPartition& tp) const {
  auto it = logs_.find(tp);
  return it == logs_.end() ? nullptr : it->second;
}

Result<std::shared_ptr<Log>> LogManager::get_or_create(const TopicPartition& tp,
                                                       const LogConfig& config) {
  if (auto existing = get(tp)) return existing;
  auto log = Log::open(logs_dir_ + "/" + partition_dir_name(tp), config, options_);
  if (!log) return std::move(log).error();
  logs_[tp] = *log;
  return log;
}

Status LogManager::remove(const TopicPartition& tp) {
  auto it = logs_.find(tp);
  std::string dir = logs_dir_ + "/" + partition_dir_name(tp);
  if (it != logs_.end()) {
    it->second->close();
    logs_.erase(it);
  }
  FERRY_TRY(platform::remove_tree(dir));
  return platform::sync_dir(logs_dir_);
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
  one_done(Status{});
}

}  // namespace ferry::storage
