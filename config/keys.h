// The configuration key table: every key of ferry.toml's [broker], [topic_defaults], [[mirror]]
// and [cluster] tables with its type, default, range or allowed values and one-line description.
// The TOML loader, topic config validation, DescribeConfigs, config/ferry.toml and the reference
// in docs/CONFIG.md are all derived from it; a new key is one new row in keys.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "config/broker_config.h"

namespace ferry::config {

enum class Section : uint8_t {
  broker,   // [broker]: static broker settings
  topic,    // [topic_defaults] in the file; Kafka topic configs on the wire
  mirror,   // each [[mirror]] section (mirror_config.h)
  cluster,  // [cluster]: quorum replication among nodes (cluster_config.h)
};

enum class Type : uint8_t {
  boolean,    // TOML boolean; "true"/"false" on the wire
  int16,      // integer within [min, max] (max <= INT16_MAX)
  int32,      // integer within [min, max] (max <= INT32_MAX)
  int64,      // integer within [min, max]
  string,     // non-empty string
  host_port,  // string "host:port" or "[v6]:port"
  choice,     // one string out of `allowed`
  list,       // comma-separated list of strings out of `allowed` (TOML: string or array)
  patterns,   // regular expressions (TOML: string or array); wire text: '\n'-separated
  fraction,   // decimal number between 0 and 1 (TOML: float or integer)
};

// Where a [broker] key lands in BrokerConfig.
using BrokerField =
    std::variant<std::monostate, int16_t BrokerConfig::*, int32_t BrokerConfig::*,
                 int64_t BrokerConfig::*, bool BrokerConfig::*, std::string BrokerConfig::*,
                 HostPort BrokerConfig::*, ferry::log::Level BrokerConfig::*>;

struct KeySpec {
  Section section = Section::broker;
  std::string_view name;  // Kafka's dotted name where Kafka has the key
  Type type = Type::string;
  // The default as wire text ("604800000", "delete"); empty when the default is derived
  // (advertised: the listen address), in which case `default_doc` says what it is.
  std::string_view default_value;
  std::string_view default_doc;
  int64_t min = 0;  // integer types
  int64_t max = 0;
  // choice/list: accepted values, "|"-separated. `unsupported`: values Kafka accepts that ferry
  // rejects, with `unsupported_why` as the message.
  std::string_view allowed;
  std::string_view unsupported;
  std::string_view unsupported_why;
  std::string_view doc;  // one line: what the key does
  // string keys holding a list: a TOML array is accepted too, its items joined with this.
  char list_separator = 0;
  // string keys with a default: whether the empty string is accepted too (it turns off what
  // the key configures).
  bool may_be_empty = false;
  BrokerField field;  // broker keys only
};

// All keys, [broker] first, in the order the file and the docs list them.
std::span<const KeySpec> all_keys();
const KeySpec* find_key(Section section, std::string_view name);

// Kafka's DescribeConfigs type number for a key type.
int8_t kafka_type(Type type);

// Checks a value given as wire text against a key. Returns nullopt when valid, else what is
// wrong ("must be between 1 and 7", "log compaction is not supported ...").
std::optional<std::string> check_value(const KeySpec& key, std::string_view text);

// The value text with surrounding ASCII whitespace removed (Kafka trims config values).
std::string_view trim(std::string_view text);

// A Type::fraction value: a decimal number in [0, 1]; nullopt when the text is not one.
std::optional<double> parse_fraction(std::string_view text);

// The accepted values in words: "at least -1", "between 1 and 7", "one of: CreateTime,
// LogAppendTime", "host:port or [ipv6]:port".
std::string describe_range(const KeySpec& key);

// Stores a checked value (wire text) into the BrokerConfig field of a [broker] key.
void assign_broker_field(const KeySpec& key, std::string_view text, BrokerConfig& out);
// The wire text of a [broker] key's field.
std::string broker_field_text(const KeySpec& key, const BrokerConfig& config);

}  // namespace ferry::config
