// TopicManager: topic lifecycle over the metadata store and the log manager.
#include "broker/topic_manager.h"

#include <algorithm>

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
                           storage::LogManager& logs, FetchWaiters& waiters)
    : config_(config), meta_(meta), logs_(logs), waiters_(waiters) {}

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
  FERRY_TRY(reconcile(*records));
  for (auto& r : *records) {
    Topic t;
    t.settings = settings.count(r.name) != 0 ? settings.at(r.name)
                                             : *config::topic_settings(r.configs, config_);
    t.record = std::move(r);
    for (int32_t p = 0; p < t.record.partitions; ++p) {
      auto log = open_partition(t.record, p, t.settings);
      if (!log) return std::move(log).error();
      t.partitions.push_back(std::move(*log));
    }
    std::string name = t.record.name;
    topics_.emplace(std::move(name), std::move(t));
  }
  FERRY_LOG(info, "broker", "loaded %zu topics", topics_.size());
  return ok_status();
}

// Start-up: brings meta.db and the partition directories into agreement without deleting data.
// Every topic gets its id (meta.db's, else the one its directories carry, else a new one); a
// directory whose identity names another topic id or another partition is quarantined; a
// directory meta.db does not know is adopted (its topic created with default configs, or its
// topic's partition count raised); directories without an identity file get one.
Status TopicManager::reconcile(std::vector<meta::TopicRecord>& records) {
  struct Found {
    storage::TopicPartition tp;
    std::optional<storage::PartitionIdentity> identity;
  };
  std::map<std::string, std::vector<Found>> dirs;  // by topic name, partitions ascending
  std::vector<storage::TopicPartition> present;
  for (const auto& [tp, log] : logs_.logs()) present.push_back(tp);
  for (const auto& tp : present) {
    const std::string dir = logs_.dir_of(tp);
    auto identity = storage::read_partition_identity(dir, logs_.fs());
    if (!identity) {
      FERRY_LOG(warn, "broker", "%s: unreadable identity file, rewriting it: %s", dir.c_str(),
                identity.error().to_string().c_str());
      dirs[tp.topic].push_back({tp, std::nullopt});
      continue;
    }
    if (*identity && ((*identity)->topic != tp.topic || (*identity)->partition != tp.partition)) {
      FERRY_LOG(warn, "broker",
                "%s: its identity file names partition %d of topic %s; moving it aside "
                "(quarantine, see `ferry data prune`)",
                dir.c_str(), (*identity)->partition.value(), (*identity)->topic.c_str());
      FERRY_TRY(logs_.quarantine(tp, (*identity)->topic_id));
      continue;
    }
    dirs[tp.topic].push_back({tp, *identity});
  }

  std::vector<meta::Mutation> mutations;
  std::vector<meta::TopicRecord> adopted;
  std::map<std::string, meta::TopicRecord*> known;
  for (auto& r : records) known[r.name] = &r;
  std::set<std::string> names;
  for (const auto& [name, found] : dirs) names.insert(name);
  for (const auto& [name, r] : known) names.insert(name);

  for (const std::string& name : names) {
    meta::TopicRecord* record = known.count(name) != 0 ? known[name] : nullptr;
    std::vector<Found>& found = dirs[name];
    if (record == nullptr && !validate_topic_name(name).ok()) {
      FERRY_LOG(warn, "broker", "%s: directories of \"%s\" are not a legal topic; left as they are",
                logs_.logs_dir().c_str(), name.c_str());
      continue;
    }
    std::string id = record != nullptr ? record->topic_id : std::string();
    if (id.empty()) {
      for (const auto& f : found) {
        if (f.identity) {
          id = f.identity->topic_id;
          break;
        }
      }
    }
    if (id.empty()) id = storage::new_topic_id();
    int32_t partitions = 0;
    for (const auto& f : found) {
      if (f.identity && f.identity->topic_id != id) {
        // The topic was deleted and re-created under the same name while meta.db (or this
        // directory) came from another time: these files belong to the other incarnation.
        FERRY_LOG(warn, "broker",
                  "%s holds topic %s with id %s, but the topic %s has id %s; moving it aside as "
                  "%s (its data is kept; delete it with `ferry data prune --execute`)",
                  logs_.dir_of(f.tp).c_str(), name.c_str(), f.identity->topic_id.c_str(),
                  name.c_str(), id.c_str(),
                  storage::set_aside_dir_name(storage::partition_dir_name(f.tp),
                                              f.identity->topic_id, storage::SetAside::stray)
                      .c_str());
        FERRY_TRY(logs_.quarantine(f.tp, f.identity->topic_id));
        continue;
      }
      if (!f.identity) {
        FERRY_TRY(storage::write_partition_identity(
            logs_.dir_of(f.tp), storage::PartitionIdentity{id, name, f.tp.partition}, logs_.fs()));
      }
      partitions = std::max(partitions, f.tp.partition.value() + 1);
    }
    if (record == nullptr) {
      if (partitions == 0) continue;  // everything found was quarantined
      meta::TopicRecord r;
      r.name = name;
      r.topic_id = id;
      r.partitions = partitions;
      r.created_ms = Clock::system().now_ms();
      FERRY_LOG(warn, "broker",
                "adopting topic %s (id %s, %d partitions) found in %s but not in meta.db: its "
                "records are kept, its configs are back to the defaults",
                name.c_str(), id.c_str(), partitions, logs_.logs_dir().c_str());
      mutations.push_back(meta::Mutation::create_topic(r));
      adopted.push_back(std::move(r));
      continue;
    }
    if (record->topic_id.empty()) {
      record->topic_id = id;
      mutations.push_back(meta::Mutation::set_topic_id(name, id));
    }
    if (partitions > record->partitions) {
      FERRY_LOG(warn, "broker",
                "topic %s: adopting partitions %d..%d found in %s but not in meta.db", name.c_str(),
                record->partitions, partitions - 1, logs_.logs_dir().c_str());
      record->partitions = partitions;
      mutations.push_back(meta::Mutation::set_partitions(name, partitions));
    }
  }
  if (!mutations.empty()) {
    if (auto st = meta_.submit_sync(std::move(mutations)); !st) {
      return Error(st.error().code(),
                   "recording adopted topics and topic ids in meta.db: " + st.error().message());
    }
  }
  for (auto& r : adopted) records.push_back(std::move(r));
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return ok_status();
}

Result<std::shared_ptr<Partition>> TopicManager::open_partition(
    const meta::TopicRecord& topic, int32_t p, const config::TopicSettings& settings) {
  storage::TopicPartition tp{topic.name, PartitionId(p)};
  std::vector<NodeId> replicas{NodeId(config_.node_id)};
  if (quorum_ != nullptr) {
    replicas = quorum_->replicas(topic.name, p);
    if (std::find(replicas.begin(), replicas.end(), quorum_->self()) == replicas.end()) {
      return std::shared_ptr<Partition>();  // held by other nodes
    }
  }
  auto log = logs_.get_or_create(tp, settings.log, topic.topic_id);
  if (!log) return std::move(log).error();
  (*log)->set_config(settings.log);
  if (quorum_ == nullptr) {
    auto part = std::make_shared<Partition>(topic.name, tp.partition, std::move(*log), &waiters_);
    part->set_replicas({replicas.front(), replicas, replicas, {}}, true);
    return part;
  }
  auto part = std::make_shared<Partition>(topic.name, tp.partition, std::move(*log), &waiters_,
                                          Partition::Commit::by_replication);
  part->set_replicas({NodeId(-1), replicas, {}, {}}, false);
  quorum_->opened(part);
  return part;
}

Topic* TopicManager::find(std::string_view name) {
  auto it = topics_.find(name);
  if (it == topics_.end() || it->second.deleting) return nullptr;
  return &it->second;
}

std::optional<Offset> TopicManager::retention_floor(const storage::TopicPartition& tp) {
  auto p = partition(tp.topic, tp.partition.value());
  return p ? p->retention_floor() : std::nullopt;
}

std::shared_ptr<Partition> TopicManager::partition(std::string_view topic, int32_t partition) {
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
  const size_t nodes = quorum_ != nullptr ? quorum_->node_count() : 1;
  if (rf < 1 || static_cast<size_t>(rf) > nodes) {
    return {ErrorCode::invalid_replication_factor,
            "Replication factor " + std::to_string(rf) +
                " is larger than the number of available brokers (" + std::to_string(nodes) + ")"};
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
  record.topic_id = storage::new_topic_id();
  record.configs = std::move(spec.configs);
  pending_.insert(record.name);
  if (quorum_ != nullptr) {
    const int16_t rf = spec.replication_factor == -1 ? config_.default_replication_factor
                                                     : spec.replication_factor;
    quorum_->propose_create(record, rf, [this, name = record.name, done](KafkaError e) {
      pending_.erase(name);
      if (done) done(std::move(e));
    });
    return;
  }
  pending_.erase(record.name);
  apply_create(std::move(record), {}, std::move(done));
}

void TopicManager::apply_create(meta::TopicRecord record, std::vector<meta::Mutation> extra,
                                Done done) {
  if (topics_.count(record.name) != 0) {
    // Applied already (the metadata log is replayed from the last applied offset).
    if (done) done({});
    return;
  }
  pending_.insert(record.name);
  std::vector<meta::Mutation> mutations{meta::Mutation::create_topic(record)};
  for (auto& m : extra) mutations.push_back(std::move(m));
  meta_.submit(std::move(mutations), [this, record, done = std::move(done)](Status st) mutable {
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
      auto log = open_partition(record, p, t.settings);
      if (!log) {
        // The topic is committed; its missing partitions are created at the next
        // start. Report the failure now.
        FERRY_LOG(error, "broker", "creating partition %s-%d failed: %s", record.name.c_str(), p,
                  log.error().to_string().c_str());
        if (done) done(to_kafka_error(log.error()));
        return;
      }
      t.partitions.push_back(std::move(*log));
    }
    FERRY_LOG(info, "broker", "created topic %s with %d partitions", record.name.c_str(),
              record.partitions);
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
  if (quorum_ != nullptr && quorum_->controller() != quorum_->self()) {
    quorum_->request_auto_create(name);
    return true;
  }
  FERRY_LOG(info, "broker", "auto-creating topic %s", name.c_str());
  create(CreateSpec{name, -1, -1, {}}, false, [name](const KafkaError& e) {
    if (!e.ok())
      FERRY_LOG(warn, "broker", "auto-creating %s failed: %s", name.c_str(), e.message().c_str());
  });
  return true;
}

void TopicManager::remove(const std::string& name, Done done) {
  auto it = topics_.find(name);
  if (it == topics_.end() || it->second.deleting) {
    done({ErrorCode::unknown_topic_or_partition, "This server does not host this topic."});
    return;
  }
  if (quorum_ != nullptr) {
    quorum_->propose_delete(name, std::move(done));
    return;
  }
  apply_remove(name, {}, std::move(done));
}

void TopicManager::apply_remove(const std::string& name, std::vector<meta::Mutation> extra,
                                Done done) {
  auto it = topics_.find(name);
  if (it == topics_.end() || it->second.deleting) {
    if (done) done({});  // applied already
    return;
  }
  it->second.deleting = true;
  std::vector<meta::Mutation> mutations{meta::Mutation::delete_topic(name)};
  for (auto& m : extra) mutations.push_back(std::move(m));
  meta_.submit(std::move(mutations), [this, name, done = std::move(done)](Status st) {
    auto t = topics_.find(name);
    if (!st) {
      if (t != topics_.end()) t->second.deleting = false;
      if (done) done(to_kafka_error(st.error()));
      return;
    }
    if (t != topics_.end()) {
      const size_t n = t->second.partitions.size();
      const std::string id = t->second.record.topic_id;
      std::vector<bool> local;
      for (const auto& part : t->second.partitions) local.push_back(part != nullptr);
      topics_.erase(t);
      for (size_t p = 0; p < n; ++p) {
        if (!local[p]) continue;
        if (quorum_ != nullptr) quorum_->closing(name, static_cast<int32_t>(p));
        storage::TopicPartition tp{name, PartitionId(static_cast<int32_t>(p))};
        if (auto rs = logs_.remove(tp, id); !rs) {
          // Still under its live name: the next start adopts it again (never deletes it).
          FERRY_LOG(warn, "broker", "removing %s failed: %s",
                    storage::partition_dir_name(tp).c_str(), rs.error().to_string().c_str());
        }
      }
    }
    FERRY_LOG(info, "broker", "deleted topic %s", name.c_str());
    if (done) done({});
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
  if (quorum_ != nullptr) {
    quorum_->propose_partitions(name, total, std::move(done));
    return;
  }
  apply_partitions(name, total, {}, std::move(done));
}

void TopicManager::apply_partitions(const std::string& name, int32_t total,
                                    std::vector<meta::Mutation> extra, Done done) {
  Topic* t = find(name);
  if (t == nullptr || static_cast<int32_t>(t->partitions.size()) >= total) {
    if (done) done({});  // deleted since, or applied already
    return;
  }
  std::vector<meta::Mutation> mutations{meta::Mutation::set_partitions(name, total)};
  for (auto& m : extra) mutations.push_back(std::move(m));
  meta_.submit(std::move(mutations), [this, name, total, done = std::move(done)](Status st) {
    if (!st) {
      if (done) done(to_kafka_error(st.error()));
      return;
    }
    Topic* topic = find(name);
    if (topic == nullptr) {
      if (done) done({ErrorCode::unknown_topic_or_partition, "The topic was deleted."});
      return;
    }
    for (auto p = static_cast<int32_t>(topic->partitions.size()); p < total; ++p) {
      auto log = open_partition(topic->record, p, topic->settings);
      if (!log) {
        if (done) done(to_kafka_error(log.error()));
        return;
      }
      topic->partitions.push_back(std::move(*log));
    }
    topic->record.partitions = total;
    FERRY_LOG(info, "broker", "topic %s now has %d partitions", name.c_str(), total);
    if (done) done({});
  });
}

KafkaError TopicManager::validate_configs(const Topic& t,
                                          const std::map<std::string, std::string>& set,
                                          std::vector<std::string>& remove, bool replace_all,
                                          std::map<std::string, std::string>& next,
                                          config::TopicSettings& settings) const {
  for (const auto& [k, v] : set) {
    if (auto st = config::validate_topic_config(k, v); !st) return config_error(st.error());
  }
  for (const auto& k : remove) {
    if (config::find_key(config::Section::topic, k) == nullptr) {
      return {ErrorCode::invalid_config, "Unknown topic config name: " + k};
    }
  }
  next = replace_all ? std::map<std::string, std::string>{} : t.record.configs;
  if (replace_all) {
    for (const auto& [k, v] : t.record.configs) {
      if (set.count(k) == 0) remove.push_back(k);
    }
  }
  for (const auto& k : remove) next.erase(k);
  for (const auto& [k, v] : set) next[k] = v;
  auto s = config::topic_settings(next, config_);
  if (!s) return config_error(s.error());
  settings = *s;
  return {};
}

void TopicManager::alter_configs(const std::string& name, std::map<std::string, std::string> set,
                                 std::vector<std::string> remove, bool replace_all,
                                 bool validate_only, Done done) {
  Topic* t = find(name);
  if (t == nullptr) {
    done({ErrorCode::unknown_topic_or_partition, "The topic '" + name + "' does not exist."});
    return;
  }
  std::vector<std::string> removed = remove;
  std::map<std::string, std::string> next;
  config::TopicSettings settings;
  if (auto e = validate_configs(*t, set, removed, replace_all, next, settings); !e.ok()) {
    done(std::move(e));
    return;
  }
  if (validate_only) {
    done({});
    return;
  }
  if (quorum_ != nullptr) {
    quorum_->propose_configs(name, std::move(set), std::move(remove), replace_all, std::move(done));
    return;
  }
  apply_configs(name, std::move(set), std::move(remove), replace_all, std::move(done));
}

void TopicManager::apply_configs(const std::string& name, std::map<std::string, std::string> set,
                                 std::vector<std::string> remove, bool replace_all, Done done) {
  Topic* t = find(name);
  std::map<std::string, std::string> next;
  config::TopicSettings settings;
  if (t == nullptr) {
    if (done) done({});  // deleted since
    return;
  }
  if (auto e = validate_configs(*t, set, remove, replace_all, next, settings); !e.ok()) {
    if (done) done(std::move(e));
    return;
  }
  meta_.submit({meta::Mutation::alter_configs(name, std::move(set), std::move(remove))},
               [this, name, next, s = settings, done = std::move(done)](Status st) {
                 if (!st) {
                   if (done) done(to_kafka_error(st.error()));
                   return;
                 }
                 Topic* topic = find(name);
                 if (topic != nullptr) {
                   topic->record.configs = next;
                   topic->settings = s;
                   for (auto& p : topic->partitions) {
                     if (p) p->log().set_config(s.log);
                   }
                 }
                 if (done) done({});
               });
}

}  // namespace ferry::broker
