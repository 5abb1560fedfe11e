// TopicManager: topic lifecycle over the metadata store and the log manager.
#include "broker/topic_manager.h"

#include "common/clock.h"
#include "common/log.h"
#include "config/keys.h"

namespace ferry::broker {
namespace {

constexpr int32_t kMaxPartitions = 10000;

KafkaError config_error(const Error& e) { return {ErrorCode::invalid_config, e.message()}; }

}  // namespace

KafkaError validate_topic_name(std::string_view name) {
  if (name.empty()) return {ErrorCode::invalid_topic_exception, "Topic name is empty"};
  if (name == "." || name == "..")
    return {ErrorCode::invalid_topic_exception, "Topic name cannot be \".\" or \"..\""};
  if (name.size() > 249)
    return {ErrorCode::invalid_topic_exception, "Topic name is longer than 249 characters"};
  for (char c : name) {
    const bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '_' || c == '-';
    if (!legal) {
      return {ErrorCode::invalid_topic_exception,
              "Topic name \"" + std::string(name) +
                  "\" is illegal: only ASCII letters, digits, '.', '_' and '-' are allowed"};
    }
  }
  return {};
}

TopicManager::TopicManager(const config::BrokerConfig& config, meta::MetaStore& meta,
                           storage::LogManager& logs)
    : config_(config), meta_(meta), logs_(logs) {}

Status TopicManager::load() {
  auto records = meta_.list_topics();
  if (!records) return std::move(records).error();
  std::map<std::string, config::TopicSettings> settings;
  for (auto& r : *records) {
    auto s = config::topic_settings(r.configs, config_);
    if (!s) {
      return Error(Errc::invalid_argument,
                   "topic " + r.name + " has an invalid stored config: " + s.error().message());
    }
    settings.emplace(r.name, *s);
  }
  // Open every partition directory present, with its topic's settings where the topic exists.
  FERRY_TRY(logs_.open_all([&](const storage::TopicPartition& tp) {
    auto it = settings.find(tp.topic);
    return it != settings.end() ? it->second.log : storage::LogConfig{};
  }));
  // Directories of deleted topics or partitions: finish the deletion.
  std::vector<storage::TopicPartition> orphans;
  for (const auto& [tp, log] : logs_.logs()) {
    bool known = false;
    for (const auto& r : *records) {
      if (r.name == tp.topic && tp.partition.value() < r.partitions) known = true;
    }
    if (!known) orphans.push_back(tp);
  }
  for (const auto& tp : orphans) {
    FERRY_LOG(info, "broker", "removing %s: its topic no longer exists",
              storage::partition_dir_name(tp).c_str());
    FERRY_TRY(logs_.remove(tp));
  }
  for (auto& r : *records) {
    Topic t;
    t.settings = settings.at(r.name);
    for (int32_t p = 0; p < r.partitions; ++p) {
      auto log = open_partition(r.name, p, t.settings);
      if (!log) return std::move(log).error();
      t.partitions.push_back(std::move(*log));
    }
    t.record = std::move(r);
    std::string name = t.record.name;
    topics_.emplace(std::move(name), std::move(t));
  }
  FERRY_LOG(info, "broker", "loaded %zu topics", topics_.size());
  return ok_status();
}

Result<std::shared_ptr<storage::Log>> TopicManager::open_partition(
    const std::string& topic, int32_t p, const config::TopicSettings& settings) {
  storage::TopicPartition tp{topic, PartitionId(p)};
  auto log = logs_.get_or_create(tp, settings.log);
  if (log) (*log)->set_config(settings.log);
  return log;
}

Topic* TopicManager::find(std::string_view name) {
  auto it = topics_.find(name);
  if (it == topics_.end() || it->second.deleting) return nullptr;
  return &it->second;
}

std::shared_ptr<storage::Log> TopicManager::partition(std::string_view topic, int32_t partition) {
  Topic* t = find(topic);
  if (t == nullptr || partition < 0 || static_cast<size_t>(partition) >= t->partitions.size())
    return nullptr;
  return t->partitions[static_cast<size_t>(partition)];
}

KafkaError TopicManager::validate_create(const CreateSpec& spec, int32_t& partitions) const {
  if (auto e = validate_topic_name(spec.name); !e.ok()) return e;
  if (topics_.count(spec.name) != 0 || pending_.count(spec.name) != 0)
    return {ErrorCode::topic_already_exists, "Topic '" + spec.name + "' already exists."};
  partitions = spec.partitions == -1 ? config_.num_partitions : spec.partitions;
  if (partitions < 1 || partitions > kMaxPartitions) {
    return {ErrorCode::invalid_partitions,
            "Number of partitions must be between 1 and " + std::to_string(kMaxPartitions)};
  }
  const int16_t rf =
      spec.replication_factor == -1 ? config_.default_replication_factor : spec.replication_factor;
  if (rf != 1) {
    return {ErrorCode::invalid_replication_factor,
            "Replication factor " + std::to_string(rf) +
                " is larger than the number of available brokers (1)"};
  }
  for (const auto& [k, v] : spec.configs) {
    if (auto st = config::validate_topic_config(k, v); !st) return config_error(st.error());
  }
  if (auto s = config::topic_settings(spec.configs, config_); !s) return config_error(s.error());
  return {};
}

void TopicManager::create(CreateSpec spec, bool validate_only, Done done) {
  int32_t partitions = 0;
  if (auto e = validate_create(spec, partitions); !e.ok() || validate_only) {
    done(std::move(e));
    return;
  }
  meta::TopicRecord record;
  record.name = spec.name;
  record.partitions = partitions;
  record.created_ms = Clock::system().now_ms();
  record.configs = std::move(spec.configs);
  pending_.insert(record.name);
  meta_.submit({meta::Mutation::create_topic(record)},
               [this, record, done = std::move(done)](Status st) mutable {
                 pending_.erase(record.name);
                 if (!st) {
                   FERRY_LOG(error, "broker", "creating topic %s failed: %s", record.name.c_str(),
                             st.error().to_string().c_str());
                   if (done) done(to_kafka_error(st.error()));
                   return;
                 }
                 Topic t;
                 t.settings = *config::topic_settings(record.configs, config_);
                 for (int32_t p = 0; p < record.partitions; ++p) {
                   auto log = open_partition(record.name, p, t.settings);
                   if (!log) {
                     // The topic is committed; its missing partitions are created at the next
                     // start. Report the failure now.
                     FERRY_LOG(error, "broker", "creating partition %s-%d failed: %s",
                               record.name.c_str(), p, log.error().to_string().c_str());
                     if (done) done(to_kafka_error(log.error()));
                     return;
                   }
                   t.partitions.push_back(std::move(*log));
                 }
                 FERRY_LOG(info, "broker", "created topic %s with %d partitions",
                           record.name.c_str(), record.partitions);
                 t.record = std::move(record);
                 std::string name = t.record.name;
                 topics_.emplace(std::move(name), std::move(t));
                 if (done) done({});
               });
}

bool TopicManager::auto_create(const std::string& name) {
  if (!config_.auto_create_topics || !validate_topic_name(name).ok()) return false;
  if (topics_.count(name) != 0) return false;
  if (pending_.count(name) != 0) return true;
  FERRY_LOG(info, "broker", "auto-creating topic %s", name.c_str());
  create(CreateSpec{name, -1, -1, {}}, false, [name](const KafkaError& e) {
    if (!e.ok())
      FERRY_LOG(warn, "broker", "auto-creating %s failed: %s", name.c_str(), e.message.c_str());
  });
  return true;
}

void TopicManager::remove(const std::string& name, Done done) {
  auto it = topics_.find(name);
  if (it == topics_.end() || it->second.deleting) {
    done({ErrorCode::unknown_topic_or_partition, "This server does not host this topic."});
    return;
  }
  it->second.deleting = true;
  meta_.submit(
      {meta::Mutation::delete_topic(name)}, [this, name, done = std::move(done)](Status st) {
        auto t = topics_.find(name);
        if (!st) {
          if (t != topics_.end()) t->second.deleting = false;
          done(to_kafka_error(st.error()));
          return;
        }
        if (t != topics_.end()) {
          const size_t n = t->second.partitions.size();
          topics_.erase(t);
          for (size_t p = 0; p < n; ++p) {
            storage::TopicPartition tp{name, PartitionId(static_cast<int32_t>(p))};
            if (auto rs = logs_.remove(tp); !rs) {
              FERRY_LOG(warn, "broker", "removing %s failed (retried at next start): %s",
                        storage::partition_dir_name(tp).c_str(), rs.error().to_string().c_str());
            }
          }
        }
        FERRY_LOG(info, "broker", "deleted topic %s", name.c_str());
        done({});
      });
}

void TopicManager::add_partitions(const std::string& name, int32_t total, bool validate_only,
                                  Done done) {
  Topic* t = find(name);
  if (t == nullptr) {
    done({ErrorCode::unknown_topic_or_partition, "The topic '" + name + "' does not exist."});
    return;
  }
  const auto current = static_cast<int32_t>(t->partitions.size());
  if (total <= current) {
    done({ErrorCode::invalid_partitions, "Topic currently has " + std::to_string(current) +
                                             " partitions, which is higher than or equal to the "
                                             "requested " +
                                             std::to_string(total) + "."});
    return;
  }
  if (total > kMaxPartitions) {
    done({ErrorCode::invalid_partitions,
          "Number of partitions must be at most " + std::to_string(kMaxPartitions)});
    return;
  }
  if (validate_only) {
    done({});
    return;
  }
  meta_.submit({meta::Mutation::set_partitions(name, total)},
               [this, name, total, done = std::move(done)](Status st) {
                 if (!st) {
                   done(to_kafka_error(st.error()));
                   return;
                 }
                 Topic* topic = find(name);
                 if (topic == nullptr) {
                   done({ErrorCode::unknown_topic_or_partition, "The topic was deleted."});
                   return;
                 }
                 for (auto p = static_cast<int32_t>(topic->partitions.size()); p < total; ++p) {
                   auto log = open_partition(name, p, topic->settings);
                   if (!log) {
                     done(to_kafka_error(log.error()));
                     return;
                   }
                   topic->partitions.push_back(std::move(*log));
                 }
                 topic->record.partitions = total;
                 FERRY_LOG(info, "broker", "topic %s now has %d partitions", name.c_str(), total);
                 done({});
               });
}

void TopicManager::alter_configs(const std::string& name, std::map<std::string, std::string> set,
                                 std::vector<std::string> remove, bool replace_all,
                                 bool validate_only, Done done) {
  Topic* t = find(name);
  if (t == nullptr) {
    done({ErrorCode::unknown_topic_or_partition, "The topic '" + name + "' does not exist."});
    return;
  }
  for (const auto& [k, v] : set) {
    if (auto st = config::validate_topic_config(k, v); !st) {
      done(config_error(st.error()));
      return;
    }
  }
  for (const auto& k : remove) {
    if (config::find_key(config::Section::topic, k) == nullptr) {
      done({ErrorCode::invalid_config, "Unknown topic config name: " + k});
      return;
    }
  }
  std::map<std::string, std::string> next =
      replace_all ? std::map<std::string, std::string>{} : t->record.configs;
  if (replace_all) {
    for (const auto& [k, v] : t->record.configs) {
      if (set.count(k) == 0) remove.push_back(k);
    }
  }
  for (const auto& k : remove) next.erase(k);
  for (const auto& [k, v] : set) next[k] = v;
  auto settings = config::topic_settings(next, config_);
  if (!settings) {
    done(config_error(settings.error()));
    return;
  }
  if (validate_only) {
    done({});
    return;
  }
  meta_.submit({meta::Mutation::alter_configs(name, std::move(set), std::move(remove))},
               [this, name, next, s = *settings, done = std::move(done)](Status st) {
                 if (!st) {
                   done(to_kafka_error(st.error()));
                   return;
                 }
                 Topic* topic = find(name);
                 if (topic != nullptr) {
                   topic->record.configs = next;
                   topic->settings = s;
                   for (auto& log : topic->partitions) log->set_config(s.log);
                 }
                 done({});
               });
}

}  // namespace ferry::broker
