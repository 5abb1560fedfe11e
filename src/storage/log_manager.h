// All partition logs of one data directory: DATA/logs/<topic>-<partition>/.
//
// Opens every partition directory found at start-up (recovering each tail), creates and deletes
// partition logs, and runs retention across them. Owns the FilePool the logs share.
// Threading: loop thread only, like Log.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "storage/log.h"

namespace ferry::storage {

struct TopicPartition {
  std::string topic;
  PartitionId partition{0};
  auto operator<=>(const TopicPartition&) const = default;
};

// "<topic>-<partition>", the directory name Kafka uses too. Topic names may contain '-', so
// parsing splits at the last '-'.
std::string partition_dir_name(const TopicPartition& tp);
std::optional<TopicPartition> parse_partition_dir_name(const std::string& name);

class LogManager {
 public:
  // `logs_dir` is DATA/logs. `max_open_files` bounds the descriptors all logs share.
  LogManager(std::string logs_dir, LogOptions options, size_t max_open_files = 256);
  ~LogManager();
  LogManager(const LogManager&) = delete;
  LogManager& operator=(const LogManager&) = delete;

  // Opens every partition directory under logs_dir with `config_for(tp)`.
  Status open_all(const std::function<LogConfig(const TopicPartition&)>& config_for);

  // The log of `tp`, or nullptr.
  std::shared_ptr<Log> get(const TopicPartition& tp) const;
  // Opens or creates the log of `tp`.
  Result<std::shared_ptr<Log>> get_or_create(const TopicPartition& tp, const LogConfig& config);
  // Closes the log and removes its directory.
  Status remove(const TopicPartition& tp);

  // Retention over all logs; `floor_for` gives each partition's keep-until-mirrored floor.
  Result<RetentionResult> apply_retention(
      const std::function<std::optional<Offset>(const TopicPartition&)>& floor_for = {},
      bool disk_nearly_full = false);

  // Flushes and closes every log; `done` fires once all are durable.
  void close_all(std::function<void(Status)> done);

  const std::map<TopicPartition, std::shared_ptr<Log>>& logs() const { return logs_; }
  FilePool& pool() { return pool_; }

 private:
  std::string logs_dir_;
  LogOptions options_;
  FilePool pool_;
  std::map<TopicPartition, std::shared_ptr<Log>> logs_;
};

}  // namespace ferry::storage
