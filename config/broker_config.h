// The broker's static configuration: the [broker] table of ferry.toml, parsed and validated
// against the key table (config/keys.h), plus the [topic_defaults] table kept as Kafka topic
// config strings. Reference: docs/CONFIG.md.
//
// Everything here is pure and thread-safe (no globals); it runs once at start-up.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/result.h"
#include "config/cluster_config.h"
#include "config/mirror_config.h"

namespace ferry::config {

// A TCP endpoint as written in the config: "host:port" or "[ipv6]:port".
struct HostPort {
  std::string host;   // without brackets, e.g. "::1"
  uint16_t port = 0;  // 0 only for listen, meaning "any free port" (tests)
  // "host:port", bracketing IPv6 literals: "[::1]:9092".
  std::string to_string() const;
  bool operator==(const HostPort&) const = default;
};

// Parses "h:p" or "[v6]:p". The host must be non-empty; IPv6 literals need brackets; the port is
// a decimal 0..65535. Errors are Errc::invalid_argument with a message naming the problem.
Result<HostPort> parse_host_port(std::string_view text);

// The [broker] table, field by field (key names in comments), and [topic_defaults].
// A default-constructed BrokerConfig equals the result of parsing an empty file (a unit test
// checks the initialisers below against the key table's defaults).
struct BrokerConfig {
  int32_t node_id = 0;                     // node.id
  std::string data_dir = "ferry-data";     // data.dir
  HostPort listen{"127.0.0.1", 9092};      // listen
  HostPort advertised{"127.0.0.1", 9092};  // advertised (default: listen)
  // listeners / advertised.listeners as written ("NAME://host:port,..."), already validated;
  // empty: the single PLAINTEXT listener of listen/advertised. Use listener_configs().
  std::string listeners;                                  // listeners
  std::string advertised_listeners;                       // advertised.listeners
  ferry::log::Level log_level = ferry::log::Level::info;  // log.level
  bool auto_create_topics = true;                         // auto.create.topics.enable
  int32_t num_partitions = 1;                             // num.partitions
  int16_t default_replication_factor = 1;                 // default.replication.factor
  int32_t socket_request_max_bytes = 104857600;           // socket.request.max.bytes
  int64_t connection_max_pending_bytes = 16 << 20;        // connection.max.pending.bytes
  int32_t max_connections = 1024;                         // max.connections
  int32_t max_connections_per_ip = 256;                   // max.connections.per.ip
  std::string max_connections_per_ip_overrides;           // max.connections.per.ip.overrides
  int64_t connections_max_idle_ms = 600000;               // connections.max.idle.ms
  int32_t request_frame_timeout_ms = 30000;               // request.frame.timeout.ms
  // Per-listener connection limits (0: only max.connections applies).
  int32_t plaintext_max_connections = 0;       // listener.name.plaintext.max.connections
  int32_t ssl_max_connections = 0;             // listener.name.ssl.max.connections
  int32_t sasl_plaintext_max_connections = 0;  // listener.name.sasl_plaintext.max.connections
  int32_t sasl_ssl_max_connections = 0;        // listener.name.sasl_ssl.max.connections
  std::string sasl_enabled_mechanisms = "SCRAM-SHA-256,SCRAM-SHA-512";  // sasl.enabled.mechanisms
  int64_t sasl_authentication_timeout_ms = 10000;        // sasl.authentication.timeout.ms
  int32_t sasl_server_max_receive_size = 524288;         // sasl.server.max.receive.size
  int32_t sasl_failed_authentication_limit = 5;          // sasl.failed.authentication.limit
  int64_t sasl_failed_authentication_window_ms = 60000;  // sasl.failed.authentication.window.ms
  int64_t queued_max_request_bytes = 4 << 20;            // queued.max.request.bytes
  int64_t log_dir_min_free_bytes = 64 << 20;             // log.dir.min.free.bytes
  bool log_cleaner_enable = true;                        // log.cleaner.enable
  int64_t log_cleaner_dedupe_buffer_size = 8 << 20;      // log.cleaner.dedupe.buffer.size
  int64_t log_cleaner_io_max_bytes_per_second = 0;       // log.cleaner.io.max.bytes.per.second
  int64_t log_cleaner_backoff_ms = 15000;                // log.cleaner.backoff.ms
  int32_t fetch_max_bytes = 52428800;                    // fetch.max.bytes
  int32_t group_initial_rebalance_delay_ms = 3000;       // group.initial.rebalance.delay.ms
  int32_t offsets_retention_minutes = 10080;             // offsets.retention.minutes
  int32_t producer_id_expiration_ms = 86400000;          // producer.id.expiration.ms
  bool authorizer_enabled = false;                       // authorizer.enabled
  std::string super_users;                               // super.users ("User:a;User:b")
  std::string ssl_certificate_location;                  // ssl.certificate.location
  std::string ssl_key_location;                          // ssl.key.location
  std::string ssl_key_password;                          // ssl.key.password
  std::string ssl_ca_location;                           // ssl.ca.location
  std::string ssl_client_auth = "none";                  // ssl.client.auth
  // admin.listen (empty: off). When the default address is taken (another broker on this
  // host), the node warns and runs without the admin listener; any other address must bind.
  std::string admin_listen = "127.0.0.1:9644";
  bool admin_allow_remote = false;             // admin.allow.remote
  std::string admin_basic_auth_user;           // admin.basic.auth.user
  std::string admin_basic_auth_password_file;  // admin.basic.auth.password.file
  // [topic_defaults]: broker-wide defaults for Kafka topic configs, only the keys set in the
  // file, values as Kafka's wire carries them ("604800000", "delete"); already validated.
  std::map<std::string, std::string> topic_defaults;
  // The [[mirror]] sections, in file order, already validated (distinct names).
  std::vector<MirrorConfig> mirrors;
  // The [cluster] table, already validated; absent: a single node.
  std::optional<ClusterConfig> cluster;

  bool operator==(const BrokerConfig&) const = default;
};

// One Kafka listener: where it binds, what clients are told, and its security protocol. The
// name is the protocol's ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"), so a broker has
// at most one listener per protocol (Kafka's listener.security.protocol.map is not offered).
struct ListenerConfig {
  std::string name;
  HostPort bind;
  HostPort advertised;
  bool operator==(const ListenerConfig&) const = default;
};

// The listeners a BrokerConfig describes, in the order written: those of `listeners` (each
// advertised as `advertised.listeners` says, else at its bind address), or, when `listeners`
// is empty, one PLAINTEXT listener on `listen` advertised as `advertised`. A listener bound to
// port 0 (tests) is advertised with port 0 until the broker knows the port it got.
std::vector<ListenerConfig> listener_configs(const BrokerConfig& config);

// Parses one "NAME://host:port" entry of listeners / advertised.listeners; the name must be a
// security protocol's. Errors are Errc::invalid_argument naming the problem.
Result<ListenerConfig> parse_listener(std::string_view text);

// Parses max.connections.per.ip.overrides, "address:count,address:count" (Kafka's format;
// IPv6 addresses as in "::1:4", the count after the last colon). Empty text: no overrides.
Result<std::map<std::string, int32_t>> parse_connection_overrides(std::string_view text);

// Parses the text of a ferry.toml. `source_name` (usually the path) prefixes error messages,
// which read "<source>:<line>: <key>: <what is wrong>" (several problems: one per line).
// Errors are Errc::invalid_argument.
Result<BrokerConfig> parse_config(std::string_view toml_text, std::string_view source_name);

// Reads and parses a file; a file that cannot be read is an Errc::io error naming the path.
Result<BrokerConfig> load_config_file(const std::filesystem::path& path);

// The text of config/ferry.toml: every key of both tables, commented out, with its description
// and default. Also what `ferry config --print-defaults` prints.
std::string render_default_config();

// The generated key reference (Markdown) embedded in docs/CONFIG.md between the markers
// `<!-- BEGIN KEY REFERENCE -->` and `<!-- END KEY REFERENCE -->`.
std::string render_config_reference();

}  // namespace ferry::config
