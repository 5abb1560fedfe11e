// Kafka topic configs: validation, effective settings and DescribeConfigs entries, all driven by
// the key table.
#include "config/topic_config.h"

#include <cassert>
#include <charconv>

#include "config/keys.h"

namespace ferry::config {
namespace {

int64_t to_int(std::string_view text) {
  text = trim(text);
  int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// The codec a compression.type value stores batches in; nullopt for producer.
std::optional<protocol::Compression> storage_codec(std::string_view value) {
  using protocol::Compression;
  if (value == "uncompressed") return Compression::none;
  if (value == "gzip") return Compression::gzip;
  if (value == "snappy") return Compression::snappy;
  if (value == "lz4") return Compression::lz4;
  if (value == "zstd") return Compression::zstd;
  return std::nullopt;
}

}  // namespace

Status validate_topic_config(std::string_view name, std::string_view value) {
  const KeySpec* key = find_key(Section::topic, name);
  if (!key) {
    return Error(Errc::invalid_argument, "Unknown topic config name: " + std::string(name));
  }
  if (std::optional<std::string> what = check_value(*key, value)) {
    return Error(Errc::invalid_argument, "Invalid value " + std::string(value) +
                                             " for configuration " + std::string(name) + ": " +
                                             *what);
  }
  return ok_status();
}

Result<TopicSettings> topic_settings(const std::map<std::string, std::string>& topic_configs,
                                     const BrokerConfig& broker) {
  for (const auto& [name, value] : topic_configs) FERRY_TRY(validate_topic_config(name, value));
  for (const auto& [name, value] : broker.topic_defaults) {
    FERRY_TRY(validate_topic_config(name, value));
  }
  auto get = [&](std::string_view name) -> std::string_view {
    if (auto it = topic_configs.find(std::string(name)); it != topic_configs.end()) {
      return trim(it->second);
    }
    if (auto it = broker.topic_defaults.find(std::string(name));
        it != broker.topic_defaults.end()) {
      return trim(it->second);
    }
    const KeySpec* key = find_key(Section::topic, name);
    assert(key);
    return key->default_value;
  };

  TopicSettings s;
  s.log.segment_bytes = static_cast<uint64_t>(to_int(get("segment.bytes")));
  s.log.segment_ms = to_int(get("segment.ms"));
  s.log.retention_ms = to_int(get("retention.ms"));
  s.log.retention_bytes = to_int(get("retention.bytes"));
  s.log.index_interval_bytes = static_cast<uint32_t>(to_int(get("index.interval.bytes")));
  s.log.flush_messages = to_int(get("flush.messages"));
  s.log.flush_ms = to_int(get("flush.ms"));
  s.max_message_bytes = static_cast<int32_t>(to_int(get("max.message.bytes")));
  s.min_insync_replicas = static_cast<int32_t>(to_int(get("min.insync.replicas")));
  s.log.max_batch_bytes = static_cast<uint32_t>(s.max_message_bytes);
  s.store_codec = storage_codec(get("compression.type"));
  s.log_append_time = get("message.timestamp.type") == "LogAppendTime";
  s.drop_oldest_when_full = get("disk.full.policy") == "drop_oldest";
  const std::string_view policy = get("cleanup.policy");
  s.log.cleanup_compact = policy.find("compact") != std::string_view::npos;
  s.log.cleanup_delete = policy.find("delete") != std::string_view::npos;
  s.log.min_cleanable_dirty_ratio = parse_fraction(get("min.cleanable.dirty.ratio")).value_or(0.5);
  s.log.min_compaction_lag_ms = to_int(get("min.compaction.lag.ms"));
  s.log.max_compaction_lag_ms = to_int(get("max.compaction.lag.ms"));
  s.log.delete_retention_ms = to_int(get("delete.retention.ms"));
  return s;
}

std::vector<ConfigEntry> describe_topic_configs(
    const std::map<std::string, std::string>& topic_configs, const BrokerConfig& broker) {
  std::vector<ConfigEntry> out;
  for (const KeySpec& key : all_keys()) {
    if (key.section != Section::topic) continue;
    ConfigEntry e;
    e.name = std::string(key.name);
    e.type = kafka_type(key.type);
    e.documentation = std::string(key.doc);
    const std::string name(key.name);
    if (auto it = topic_configs.find(name); it != topic_configs.end()) {
      e.value = it->second;
      e.source = ConfigEntry::Source::topic;
    } else if (auto jt = broker.topic_defaults.find(name); jt != broker.topic_defaults.end()) {
      e.value = jt->second;
      e.source = ConfigEntry::Source::static_broker;
    } else {
      e.value = std::string(key.default_value);
      e.source = ConfigEntry::Source::default_config;
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ConfigEntry> describe_broker_configs(const BrokerConfig& broker) {
  const BrokerConfig defaults;
  std::vector<ConfigEntry> out;
  for (const KeySpec& key : all_keys()) {
    if (key.section != Section::broker) continue;
    ConfigEntry e;
    e.name = std::string(key.name);
    e.value = broker_field_text(key, broker);
    e.source = *e.value == broker_field_text(key, defaults) ? ConfigEntry::Source::default_config
                                                            : ConfigEntry::Source::static_broker;
    e.read_only = true;
    e.type = kafka_type(key.type);
    e.documentation = std::string(key.doc);
    if (key.name.ends_with(".password")) {
      // Kafka's PASSWORD keys: described as sensitive, their value withheld.
      e.sensitive = true;
      e.value = std::nullopt;
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace ferry::config
