// All partition logs of one data directory: DATA/logs/<topic>-<partition>/.
//
// Opens every partition directory found at start-up (recovering each tail), creates and deletes
// partition logs, and runs retention across them. Owns the FilePool the logs share and, with a
// loop, the Flusher (flusher.h) that makes all of them durable in shared jobs.
// Deleting a partition renames its directory to a tombstone ("<dir>.<topic id>-delete", see
// partition_identity.h), fsyncs DATA/logs, then removes the tree (on the thread pool when the
// log options have a loop). Tombstones left by a crash are removed by open_all(); nothing else
// under DATA/logs is ever removed by the broker.
// Threading: loop thread only, like Log.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "storage/log.h"
#include "storage/partition_identity.h"

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
  // `logs_dir` is DATA/logs. `max_open_files` bounds the descriptors all logs share. Files
  // and directories are reached through `options.fs`.
  LogManager(std::string logs_dir, LogOptions options, size_t max_open_files = 256);
  ~LogManager();
  LogManager(const LogManager&) = delete;
  LogManager& operator=(const LogManager&) = delete;

  // Removes tombstones of deleted partitions, then opens every partition directory under
  // logs_dir with `config_for(tp)`. Quarantined directories are left alone (logged). Reads only
  // the tails recovery scans (see Log::open). With a loop, the recovered tails are synced
  // afterwards by kTailSyncJobs jobs on the thread pool, one file at a time each (so the
  // descriptors stay within the pool's bound plus kTailSyncJobs); each log's durable_offset()
  // reaches its end when its tail is synced.
  Status open_all(const std::function<LogConfig(const TopicPartition&)>& config_for);
  static constexpr size_t kTailSyncJobs = 2;

  // The log of `tp`, or nullptr.
  std::shared_ptr<Log> get(const TopicPartition& tp) const;
  // Opens or creates the log of `tp`. A new directory gets its identity file (topic id
  // `topic_id`) before its first segment.
  Result<std::shared_ptr<Log>> get_or_create(const TopicPartition& tp, const LogConfig& config,
                                             const std::string& topic_id);
  // Closes the log, renames its directory to the tombstone name (durably) and removes the
  // tombstone (asynchronously with a loop). An error means the directory is still in place.
  Status remove(const TopicPartition& tp, const std::string& topic_id);
  // Closes the log and renames its directory to the quarantine name (durably); its files are
  // kept until an operator prunes them.
  Status quarantine(const TopicPartition& tp, const std::string& topic_id);

  // DATA/logs/<topic>-<partition>.
  std::string dir_of(const TopicPartition& tp) const;
  const std::string& logs_dir() const noexcept { return logs_dir_; }

  // Retention over all logs; `floor_for` gives each partition's keep-until-mirrored floor.
  Result<RetentionResult> apply_retention(
      const std::function<std::optional<Offset>(const TopicPartition&)>& floor_for = {},
      bool disk_nearly_full = false);

  // Flushes and closes every log; `done` fires once all are durable and the files of deleted
  // topics still being removed on the thread pool are gone.
  void close_all(std::function<void(Status)> done);

  // Jobs running on the thread pool — directory removals and the start-up sync of recovered
  // tails (loop thread only; shared with their jobs so a job never reaches back into the
  // LogManager). `idle` fires when the count drops to zero.
  struct Removals {
    size_t in_flight = 0;
    std::function<void()> idle;
  };

  const std::map<TopicPartition, std::shared_ptr<Log>>& logs() const { return logs_; }
  FilePool& pool() { return *pool_; }
  // The flush coordinator of every log here (null without a loop); its counters show group commit.
  const Flusher* flusher() const noexcept { return options_.flusher.get(); }
  Flusher* flusher() noexcept { return options_.flusher.get(); }
  platform::FileSystem& fs() const noexcept { return *options_.fs; }

 private:
  void sync_tails_in_background();
  Status set_aside(const TopicPartition& tp, const std::string& topic_id, SetAside kind,
                   std::string* path);

  std::string logs_dir_;
  LogOptions options_;
  std::shared_ptr<FilePool> pool_;
  std::shared_ptr<Removals> removals_ = std::make_shared<Removals>();
  std::map<TopicPartition, std::shared_ptr<Log>> logs_;
};

}  // namespace ferry::storage
