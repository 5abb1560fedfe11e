// Kafka topic configs (retention.ms, segment.bytes, cleanup.policy, ...): validation of the
// string values CreateTopics / AlterConfigs / IncrementalAlterConfigs carry, the effective
// per-topic settings the storage applies, and the entries DescribeConfigs returns.
// The keys, defaults and ranges come from the key table (config/keys.h); docs/CONFIG.md lists them.
//
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/broker_config.h"
#include "protocol/record_batch.h"
#include "storage/log_config.h"

namespace ferry::config {

// Checks one topic config as Kafka's wire carries it (a string). Unknown names fail with
// "Unknown topic config name: X"; bad values with "Invalid value V for configuration K: <why>".
// Errc::invalid_argument either way.
Status validate_topic_config(std::string_view name, std::string_view value);

// What a partition's log and the produce path need from a topic's configs.
struct TopicSettings {
  storage::LogConfig log;
  bool log_append_time = false;  // message.timestamp.type=LogAppendTime
  // compression.type naming a codec (uncompressed, gzip, snappy, lz4, zstd): the leader stores
  // batches in it (broker/recompress.h); nullopt for producer (stored as sent).
  std::optional<protocol::Compression> store_codec;
  int32_t max_message_bytes = 1048588;  // max.message.bytes
  // min.insync.replicas: acks=all produce needs this many replicas in sync (replication only).
  int32_t min_insync_replicas = 1;
  // disk.full.policy=drop_oldest: when the data directory is about to fill, the oldest segments
  // go (unforwarded ones too); otherwise (refuse) produce requests are refused.
  bool drop_oldest_when_full = false;
};

// The effective settings of a topic: for each key the topic's own value (meta::TopicRecord::
// configs), else [topic_defaults], else the built-in default. Fails if any value is invalid or a
// name unknown.
Result<TopicSettings> topic_settings(const std::map<std::string, std::string>& topic_configs,
                                     const BrokerConfig& broker);

// Kafka's DescribeConfigs config types (v3+ `config_type`).
namespace config_type {
inline constexpr int8_t boolean = 1;
inline constexpr int8_t string = 2;
inline constexpr int8_t int_ = 3;
inline constexpr int8_t short_ = 4;
inline constexpr int8_t long_ = 5;
inline constexpr int8_t double_ = 6;
inline constexpr int8_t list = 7;
inline constexpr int8_t class_ = 8;
inline constexpr int8_t password = 9;
}  // namespace config_type

// One DescribeConfigs result entry. Source and type numbers are Kafka's (DescribeConfigs v1+).
struct ConfigEntry {
  std::string name;
  std::optional<std::string> value;  // nullopt only for sensitive values (*.password)
  enum class Source : int8_t {
    topic = 1,           // TOPIC_CONFIG: set on the topic
    dynamic_broker = 2,  // DYNAMIC_BROKER_CONFIG (ferry has none)
    static_broker = 4,   // STATIC_BROKER_CONFIG: set in ferry.toml
    default_config = 5,  // DEFAULT_CONFIG: built-in default
  } source = Source::default_config;
  bool read_only = false;
  bool sensitive = false;
  int8_t type = config_type::string;
  std::string documentation;
  bool operator==(const ConfigEntry&) const = default;
};

// Every topic config key, in table order, with its effective value and where it came from:
// topic (in topic_configs), static_broker (in [topic_defaults]) or default_config.
std::vector<ConfigEntry> describe_topic_configs(
    const std::map<std::string, std::string>& topic_configs, const BrokerConfig& broker);

// The [broker] keys, read-only, with their values; static_broker when the value differs from
// the built-in default, else default_config.
std::vector<ConfigEntry> describe_broker_configs(const BrokerConfig& broker);

}  // namespace ferry::config
