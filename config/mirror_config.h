// One `[[mirror]]` section of ferry.toml: a link from this gateway to one central Kafka cluster
// (docs/mirror.md). Keys, defaults and checks come from the key table (keys.cc, section
// `mirror`); this file holds the parsed form and the helpers the mirror and the loader share.
//
// Pure and thread-safe; used once at start-up and by the mirror on the loop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "common/result.h"

namespace ferry::config {

struct KeySpec;

struct MirrorConfig {
  std::string name;                                   // name (required, unique)
  bool enabled = true;                                // enabled
  std::vector<std::string> bootstrap_servers;         // bootstrap.servers (required; host:port)
  std::vector<std::string> topics;                    // topics (required; regular expressions)
  std::vector<std::string> topics_exclude;            // topics.exclude
  std::string target_topic = "{topic}";               // target.topic
  bool create_target_topics = true;                   // target.topics.create
  int16_t target_replication_factor = -1;             // target.replication.factor
  std::string start_position = "earliest";            // auto.offset.reset
  std::string security_protocol = "PLAINTEXT";        // security.protocol
  std::string sasl_mechanism = "PLAIN";               // sasl.mechanism
  std::string sasl_username;                          // sasl.username
  std::string sasl_password;                          // sasl.password
  std::string sasl_password_file;                     // sasl.password.file
  std::string ssl_ca_location;                        // ssl.ca.location
  std::string ssl_certificate_location;               // ssl.certificate.location
  std::string ssl_key_location;                       // ssl.key.location
  std::string ssl_endpoint_identification = "https";  // ssl.endpoint.identification.algorithm
  int32_t batch_size = 1048576;                       // batch.size
  int32_t linger_ms = 5;                              // linger.ms
  int32_t max_in_flight = 5;                          // max.in.flight.requests.per.connection
  int64_t bandwidth_bytes_per_second = 0;             // bandwidth.bytes.per.second (0: no cap)
  std::vector<std::string> priorities;                // priorities ("REGEX=N" items)
  int32_t reconnect_backoff_ms = 100;                 // reconnect.backoff.ms
  int32_t reconnect_backoff_max_ms = 10000;           // reconnect.backoff.max.ms
  int32_t request_timeout_ms = 30000;                 // request.timeout.ms
  double reconnect_backoff_jitter = 0.2;              // reconnect.backoff.jitter
  int32_t watchdog_timeout_ms = 15000;                // watchdog.timeout.ms (0: off)
  int32_t heartbeats_interval_ms = 5000;              // heartbeats.interval.ms (0: off)
  std::string heartbeats_topic = "ferry.heartbeats";  // heartbeats.topic
  std::string target_lost_policy = "stop";            // target.lost.policy: stop | resend
  uint32_t line = 0;                                  // where the section starts in the file

  bool operator==(const MirrorConfig& o) const {
    // `line` is where it was written, not what it says.
    auto tie = [](const MirrorConfig& m) {
      return std::tie(m.name, m.enabled, m.bootstrap_servers, m.topics, m.topics_exclude,
                      m.target_topic, m.create_target_topics, m.target_replication_factor,
                      m.start_position, m.security_protocol, m.sasl_mechanism, m.sasl_username,
                      m.sasl_password, m.sasl_password_file, m.ssl_ca_location,
                      m.ssl_certificate_location, m.ssl_key_location, m.ssl_endpoint_identification,
                      m.batch_size, m.linger_ms, m.max_in_flight, m.bandwidth_bytes_per_second,
                      m.priorities, m.reconnect_backoff_ms, m.reconnect_backoff_max_ms,
                      m.request_timeout_ms, m.reconnect_backoff_jitter, m.watchdog_timeout_ms,
                      m.heartbeats_interval_ms, m.heartbeats_topic, m.target_lost_policy);
    };
    return tie(*this) == tie(o);
  }
};

// Stores a checked value (wire text; list items separated by '\n') of a mirror key.
void assign_mirror_field(const KeySpec& key, std::string_view text, MirrorConfig& out);

// Whether `topic` is forwarded by `m`: a whole-name match of one of `topics` and of none of
// `topics.exclude`. Internal topics (names starting with "__") never are.
bool mirror_matches(const MirrorConfig& m, std::string_view topic);

// A `priorities` item "REGEX=N" split at its last '=': the pattern and N; nullopt when the
// item has no '=', an empty pattern, an invalid regular expression or an N that is not an
// integer (int32).
std::optional<std::pair<std::string, int32_t>> parse_priority_item(std::string_view item);

// The priority of `topic`: N of the first `priorities` item whose pattern matches the whole
// name, 0 when none does.
int32_t topic_priority(const MirrorConfig& m, std::string_view topic);

// The target topic for `topic`: `target.topic` with {topic}, {node} and {mirror} replaced.
std::string target_topic_name(const MirrorConfig& m, std::string_view topic, int32_t node_id);

// What is wrong with a target.topic template (unknown placeholder, no {topic}), if anything.
std::optional<std::string> check_target_template(std::string_view text);

// What is wrong with a regular expression, if anything (ECMAScript syntax).
std::optional<std::string> check_pattern(std::string_view text);

// The checks across keys of one section, once all its keys are read: required keys, host:port
// items, the target template, SASL and TLS settings. Each problem as (key, message).
std::vector<std::pair<std::string, std::string>> mirror_problems(const MirrorConfig& m);

}  // namespace ferry::config
