// The topics this broker holds: their metadata (SQLite), settings and partitions (partition.h),
// each over its storage::Log.
//
// Every change goes to the metadata store first and takes effect in memory and on disk once
// the store has committed it, so a crash at any point leaves either the old or the new topic:
//   create:  commit topic row -> create partition logs -> visible
//   delete:  hidden at once -> commit removal -> rename each partition directory to its
//            tombstone (fsync of DATA/logs) -> remove the tombstone off the loop (tombstones
//            left by a crash are removed at start-up)
// Data is never deleted because meta.db does not mention it: at start-up, partition
// directories of topics meta.db does not know are adopted (see reconcile()), and directories
// of another incarnation of a topic (a different topic id) are quarantined, not merged.
//   add partitions / alter configs: commit -> create logs / apply settings to open logs
// While a creation is being committed the topic is "pending": Metadata answers
// LEADER_NOT_AVAILABLE for it and a second create gets TOPIC_ALREADY_EXISTS.
//
// Threading: loop thread only; completion callbacks fire on the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/kafka_error.h"
#include "broker/partition.h"
#include "broker/topic_quorum.h"
#include "config/broker_config.h"
#include "config/topic_config.h"
#include "meta/store.h"
#include "storage/log_manager.h"

namespace ferry::broker {

struct Topic {
  meta::TopicRecord record;
  config::TopicSettings settings;
  std::vector<std::shared_ptr<Partition>> partitions;  // index = partition id
  bool deleting = false;
};

// Kafka's rule: 1..249 characters from [a-zA-Z0-9._-], not "." or "..".
KafkaError validate_topic_name(std::string_view name);

class TopicManager {
 public:
  using Done = std::function<void(KafkaError)>;

  // `waiters` are woken by the partitions' high watermarks. All references outlive this object.
  TopicManager(const config::BrokerConfig& config, meta::MetaStore& meta, storage::LogManager& logs,
               FetchWaiters& waiters);

  // Loads topics from the store and opens their logs, adopting partition directories the store
  // does not know (WARN per topic, default configs) and quarantining directories whose
  // identity names another topic id. Start-up only (commits with submit_sync).
  Status load();

  // A live topic (not pending, not being deleted), or nullptr.
  Topic* find(std::string_view name);
  std::shared_ptr<Partition> partition(std::string_view topic, int32_t partition);
  // The keep-until-mirrored floor of a partition's log, for storage::LogManager retention.
  std::optional<Offset> retention_floor(const storage::TopicPartition& tp);
  bool pending(std::string_view name) const { return pending_.count(std::string(name)) != 0; }
  const std::map<std::string, Topic, std::less<>>& topics() const { return topics_; }

  struct CreateSpec {
    std::string name;
    int32_t partitions = -1;          // -1: num.partitions
    int16_t replication_factor = -1;  // -1: default.replication.factor
    std::map<std::string, std::string> configs;
  };
  // Validates; unless `validate_only`, commits and opens the logs. `done` gets the outcome.
  void create(CreateSpec spec, bool validate_only, Done done);
  // Creates `name` with the broker defaults if auto-creation is enabled and the name is legal.
  // Returns false when it will not be created.
  bool auto_create(const std::string& name);
  void remove(const std::string& name, Done done);
  void add_partitions(const std::string& name, int32_t total, bool validate_only, Done done);
  // Replaces (`replace_all`, AlterConfigs) or patches (IncrementalAlterConfigs) topic configs.
  void alter_configs(const std::string& name, std::map<std::string, std::string> set,
                     std::vector<std::string> remove, bool replace_all, bool validate_only,
                     Done done);

  // Cluster mode, set before load(): the changes above are validated here, then proposed to the
  // metadata quorum, which applies them on every node with the apply_* calls below; only the
  // partitions this node holds are opened (the others stay null in Topic::partitions), with
  // Commit::by_replication. Null: a single node.
  void set_quorum(TopicQuorum* quorum) { quorum_ = quorum; }
  TopicQuorum* quorum() const noexcept { return quorum_; }
  // Applies a committed change on this node (the metadata quorum's applier). `extra` mutations
  // commit in the same transaction (the partition assignment).
  void apply_create(meta::TopicRecord record, std::vector<meta::Mutation> extra, Done done);
  void apply_remove(const std::string& name, std::vector<meta::Mutation> extra, Done done);
  void apply_partitions(const std::string& name, int32_t total, std::vector<meta::Mutation> extra,
                        Done done);
  void apply_configs(const std::string& name, std::map<std::string, std::string> set,
                     std::vector<std::string> remove, bool replace_all, Done done);

 private:
  // Validation of alter_configs: the full config map after the change, and its settings.
  KafkaError validate_configs(const Topic& t, const std::map<std::string, std::string>& set,
                              std::vector<std::string>& remove, bool replace_all,
                              std::map<std::string, std::string>& next,
                              config::TopicSettings& settings) const;
  KafkaError validate_create(const CreateSpec& spec, int32_t& partitions) const;
  Status reconcile(std::vector<meta::TopicRecord>& records);
  Result<std::shared_ptr<Partition>> open_partition(const meta::TopicRecord& topic, int32_t p,
                                                    const config::TopicSettings& settings);

  const config::BrokerConfig& config_;
  meta::MetaStore& meta_;
  storage::LogManager& logs_;
  FetchWaiters& waiters_;
  std::map<std::string, Topic, std::less<>> topics_;
  std::set<std::string> pending_;
  TopicQuorum* quorum_ = nullptr;
};

}  // namespace ferry::broker
