// The configuration key table and the value checks every consumer of it shares.
#include "config/keys.h"

#include <array>
#include <cassert>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "config/mirror_config.h"

namespace ferry::config {
namespace {

constexpr int64_t kI16 = std::numeric_limits<int16_t>::max();
constexpr int64_t kI32 = std::numeric_limits<int32_t>::max();
constexpr int64_t kI64 = std::numeric_limits<int64_t>::max();

// Rows name only the fields they set; the rest keep KeySpec's defaults (GCC would warn).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
// clang-format off
const std::array kKeys = {
  // ---- [broker] ------------------------------------------------------------------------------
  KeySpec{.section = Section::broker, .name = "node.id", .type = Type::int32,
          .default_value = "0", .min = 0, .max = kI32,
          .doc = "This broker's id, reported to clients in Metadata responses.",
          .field = &BrokerConfig::node_id},
  KeySpec{.section = Section::broker, .name = "data.dir", .type = Type::string,
          .default_value = "ferry-data",
          .doc = "Directory holding the partition logs and the metadata database (meta.db); "
                 "relative paths are relative to the working directory.",
          .field = &BrokerConfig::data_dir},
  KeySpec{.section = Section::broker, .name = "log.dir.min.free.bytes", .type = Type::int64,
          .default_value = "67108864", .min = 0, .max = kI64,
          .doc = "The data directory counts as about to fill when less than this is free "
                 "(statvfs, checked every second and after a write fails with ENOSPC); then "
                 "each topic's disk.full.policy applies. The default leaves room for the "
                 "writes in flight, meta.db and other programs on a shared file system. 0: "
                 "only a failed write triggers the policy.",
          .field = &BrokerConfig::log_dir_min_free_bytes},
  KeySpec{.section = Section::broker, .name = "log.cleaner.enable", .type = Type::boolean,
          .default_value = "true",
          .doc = "Run the log cleaner, which compacts topics with cleanup.policy=compact.",
          .field = &BrokerConfig::log_cleaner_enable},
  KeySpec{.section = Section::broker, .name = "log.cleaner.dedupe.buffer.size",
          .type = Type::int64, .default_value = "8388608", .min = 4096, .max = kI64,
          .doc = "Memory of the cleaner's key map (24 bytes per key, 90% usable): 8 MiB holds "
                 "about 314,000 keys per pass; a partition with more is cleaned in several "
                 "passes. Kafka's 128 MiB default is too much for a gateway.",
          .field = &BrokerConfig::log_cleaner_dedupe_buffer_size},
  KeySpec{.section = Section::broker, .name = "log.cleaner.io.max.bytes.per.second",
          .type = Type::int64, .default_value = "0", .min = 0, .max = kI64,
          .doc = "Bound on the cleaner's reads plus writes, in bytes per second; 0: unlimited.",
          .field = &BrokerConfig::log_cleaner_io_max_bytes_per_second},
  KeySpec{.section = Section::broker, .name = "log.cleaner.backoff.ms", .type = Type::int64,
          .default_value = "15000", .min = 1, .max = kI64,
          .doc = "How often the cleaner looks for a partition to clean.",
          .field = &BrokerConfig::log_cleaner_backoff_ms},
  KeySpec{.section = Section::broker, .name = "listen", .type = Type::host_port,
          .default_value = "127.0.0.1:9092",
          .doc = "Address the Kafka listener binds to: host:port or [ipv6]:port; 0.0.0.0 or "
                 "[::] for every interface.",
          .field = &BrokerConfig::listen},
  KeySpec{.section = Section::broker, .name = "advertised", .type = Type::host_port,
          .default_doc = "the listen address",
          .doc = "Address clients are told to connect to (Metadata responses); required when "
                 "listen is a wildcard address.",
          .field = &BrokerConfig::advertised},
  KeySpec{.section = Section::broker, .name = "listeners", .type = Type::list,
          .default_doc = "one PLAINTEXT listener on listen",
          .doc = "Kafka listeners, each NAME://host:port where NAME is the security protocol "
                 "(PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL; at most one listener each), e.g. "
                 "[\"PLAINTEXT://127.0.0.1:9092\", \"SASL_SSL://0.0.0.0:9093\"]. Replaces "
                 "listen and advertised.",
          .field = &BrokerConfig::listeners},
  KeySpec{.section = Section::broker, .name = "advertised.listeners", .type = Type::list,
          .default_doc = "each listener's bind address",
          .doc = "Addresses clients are told to connect to, NAME://host:port per listener; a "
                 "client is told the address of the listener it connected through. Required "
                 "for a listener bound to a wildcard address.",
          .field = &BrokerConfig::advertised_listeners},
  KeySpec{.section = Section::broker, .name = "log.level", .type = Type::choice,
          .default_value = "info", .allowed = "trace|debug|info|warn|error",
          .doc = "Least severe level of the log lines written to stderr.",
          .field = &BrokerConfig::log_level},
  KeySpec{.section = Section::broker, .name = "auto.create.topics.enable", .type = Type::boolean,
          .default_value = "true",
          .doc = "Create a topic when a client asks for metadata of, or produces to, a topic "
                 "that does not exist.",
          .field = &BrokerConfig::auto_create_topics},
  KeySpec{.section = Section::broker, .name = "num.partitions", .type = Type::int32,
          .default_value = "1", .min = 1, .max = 10000,
          .doc = "Partition count of automatically created topics and of CreateTopics requests "
                 "that leave it to the broker.",
          .field = &BrokerConfig::num_partitions},
  KeySpec{.section = Section::broker, .name = "default.replication.factor", .type = Type::int16,
          .default_value = "1", .min = 1, .max = 7,
          .doc = "Replication factor of automatically created topics and of CreateTopics "
                 "requests that leave it to the broker.",
          .field = &BrokerConfig::default_replication_factor},
  KeySpec{.section = Section::broker, .name = "socket.request.max.bytes", .type = Type::int32,
          .default_value = "104857600", .min = 1024, .max = kI32,
          .doc = "Largest request frame accepted; a larger frame closes the connection.",
          .field = &BrokerConfig::socket_request_max_bytes},
  KeySpec{.section = Section::broker, .name = "connection.max.pending.bytes", .type = Type::int64,
          .default_value = "16777216", .min = 1024, .max = kI64,
          .doc = "Bytes of unsent responses above which a connection stops being read until "
                 "the client catches up.",
          .field = &BrokerConfig::connection_max_pending_bytes},
  KeySpec{.section = Section::broker, .name = "max.connections", .type = Type::int32,
          .default_value = "1024", .min = 1, .max = kI32,
          .doc = "Most client connections open at once. At the limit a new client is admitted by "
                 "closing the connection idle the longest among those with no request in "
                 "progress.",
          .field = &BrokerConfig::max_connections},
  KeySpec{.section = Section::broker, .name = "max.connections.per.ip", .type = Type::int32,
          .default_value = "256", .min = 0, .max = kI32,
          .doc = "Most connections open at once from one client address; more are refused.",
          .field = &BrokerConfig::max_connections_per_ip},
  KeySpec{.section = Section::broker, .name = "max.connections.per.ip.overrides",
          .type = Type::string, .default_doc = "none",
          .doc = "Exceptions to max.connections.per.ip: \"address:count,address:count\" with "
                 "numeric IPv4 or IPv6 addresses.",
          .field = &BrokerConfig::max_connections_per_ip_overrides},
  KeySpec{.section = Section::broker, .name = "connections.max.idle.ms", .type = Type::int64,
          .default_value = "600000", .min = 100, .max = kI64,
          .doc = "A connection with no request in progress and nothing read or written for this "
                 "long is closed.",
          .field = &BrokerConfig::connections_max_idle_ms},
  KeySpec{.section = Section::broker, .name = "request.frame.timeout.ms", .type = Type::int32,
          .default_value = "30000", .min = 100, .max = kI32,
          .doc = "Time a client has to send the rest of a request once its first byte arrived; "
                 "a slower frame closes the connection (ferry's own key).",
          .field = &BrokerConfig::request_frame_timeout_ms},
  KeySpec{.section = Section::broker, .name = "listener.name.plaintext.max.connections",
          .type = Type::int32, .default_value = "0", .min = 0, .max = kI32,
          .doc = "Most connections open at once on the PLAINTEXT listener, within "
                 "max.connections; at the limit its longest-idle connection is closed for a "
                 "newcomer. 0: no limit of its own.",
          .field = &BrokerConfig::plaintext_max_connections},
  KeySpec{.section = Section::broker, .name = "listener.name.ssl.max.connections",
          .type = Type::int32, .default_value = "0", .min = 0, .max = kI32,
          .doc = "The same for the SSL listener.",
          .field = &BrokerConfig::ssl_max_connections},
  KeySpec{.section = Section::broker, .name = "listener.name.sasl_plaintext.max.connections",
          .type = Type::int32, .default_value = "0", .min = 0, .max = kI32,
          .doc = "The same for the SASL_PLAINTEXT listener.",
          .field = &BrokerConfig::sasl_plaintext_max_connections},
  KeySpec{.section = Section::broker, .name = "listener.name.sasl_ssl.max.connections",
          .type = Type::int32, .default_value = "0", .min = 0, .max = kI32,
          .doc = "The same for the SASL_SSL listener.",
          .field = &BrokerConfig::sasl_ssl_max_connections},
  KeySpec{.section = Section::broker, .name = "sasl.enabled.mechanisms", .type = Type::list,
          .default_value = "SCRAM-SHA-256,SCRAM-SHA-512",
          .allowed = "PLAIN|SCRAM-SHA-256|SCRAM-SHA-512", .unsupported = "GSSAPI|OAUTHBEARER",
          .unsupported_why = "ferry offers PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 only",
          .doc = "SASL mechanisms offered on SASL_PLAINTEXT and SASL_SSL listeners. PLAIN sends "
                 "the password itself: over SASL_PLAINTEXT anyone on the network reads it "
                 "(the broker warns at start).",
          .field = &BrokerConfig::sasl_enabled_mechanisms},
  KeySpec{.section = Section::broker, .name = "sasl.authentication.timeout.ms",
          .type = Type::int64, .default_value = "10000", .min = 100, .max = kI64,
          .doc = "Time a client on a SASL listener has from connecting to finishing "
                 "authentication; a slower one is closed (ferry's own key).",
          .field = &BrokerConfig::sasl_authentication_timeout_ms},
  KeySpec{.section = Section::broker, .name = "sasl.server.max.receive.size",
          .type = Type::int32, .default_value = "524288", .min = 1024, .max = kI32,
          .doc = "Largest request frame accepted from a client on a SASL listener before it "
                 "has authenticated; a larger one closes the connection.",
          .field = &BrokerConfig::sasl_server_max_receive_size},
  KeySpec{.section = Section::broker, .name = "sasl.failed.authentication.limit",
          .type = Type::int32, .default_value = "5", .min = 0, .max = kI32,
          .doc = "Failed SASL authentications from one address within "
                 "sasl.failed.authentication.window.ms after which its attempts are refused "
                 "unchecked until that long after its last failure (ferry's own key; 0: no "
                 "limit).",
          .field = &BrokerConfig::sasl_failed_authentication_limit},
  KeySpec{.section = Section::broker, .name = "sasl.failed.authentication.window.ms",
          .type = Type::int64, .default_value = "60000", .min = 1, .max = kI64,
          .doc = "The window of sasl.failed.authentication.limit, and how long a lockout lasts "
                 "(ferry's own key).",
          .field = &BrokerConfig::sasl_failed_authentication_window_ms},
  KeySpec{.section = Section::broker, .name = "queued.max.request.bytes", .type = Type::int64,
          .default_value = "4194304", .min = 1048576, .max = kI64,
          .doc = "Memory for request frames being read or handled and responses not yet sent, "
                 "all connections together; when it is used up the broker stops reading "
                 "requests until responses drain. Also caps socket.request.max.bytes, so it "
                 "must exceed the largest request a client sends (a batch of max.message.bytes "
                 "plus headers). Most of the broker's memory under a saturating produce.",
          .field = &BrokerConfig::queued_max_request_bytes},
  KeySpec{.section = Section::broker, .name = "fetch.max.bytes", .type = Type::int32,
          .default_value = "52428800", .min = 1024, .max = kI32,
          .doc = "Most record bytes one Fetch response carries, whatever the client asks for.",
          .field = &BrokerConfig::fetch_max_bytes},
  KeySpec{.section = Section::broker, .name = "group.initial.rebalance.delay.ms",
          .type = Type::int32, .default_value = "3000", .min = 0, .max = kI32,
          .doc = "How long a new consumer group waits for more members before its first "
                 "rebalance.",
          .field = &BrokerConfig::group_initial_rebalance_delay_ms},
  KeySpec{.section = Section::broker, .name = "offsets.retention.minutes", .type = Type::int32,
          .default_value = "10080", .min = 1, .max = kI32,
          .doc = "Committed offsets of a consumer group are deleted this long after the group "
                 "became empty.",
          .field = &BrokerConfig::offsets_retention_minutes},
  KeySpec{.section = Section::broker, .name = "producer.id.expiration.ms", .type = Type::int32,
          .default_value = "86400000", .min = 1, .max = kI32,
          .doc = "An idempotent producer's sequence state on a partition is forgotten after it "
                 "has not written there for this long; a retry after that is no longer "
                 "recognised as a duplicate.",
          .field = &BrokerConfig::producer_id_expiration_ms},
  KeySpec{.section = Section::broker, .name = "authorizer.enabled", .type = Type::boolean,
          .default_value = "false",
          .doc = "Check every request against the ACLs (deny when no ACL allows); false lets "
                 "every client do everything.",
          .field = &BrokerConfig::authorizer_enabled},
  KeySpec{.section = Section::broker, .name = "super.users", .type = Type::string,
          .default_doc = "none",
          .doc = "Principals allowed everything whatever the ACLs say: \"User:a;User:b\" or a "
                 "TOML array of principals.",
          .list_separator = ';',
          .field = &BrokerConfig::super_users},
  KeySpec{.section = Section::broker, .name = "ssl.certificate.location", .type = Type::string,
          .default_doc = "none",
          .doc = "PEM file with the certificate of the SSL and SASL_SSL listeners, followed by "
                 "any intermediate CA certificates; required when such a listener exists. "
                 "Re-read on SIGHUP.",
          .field = &BrokerConfig::ssl_certificate_location},
  KeySpec{.section = Section::broker, .name = "ssl.key.location", .type = Type::string,
          .default_doc = "none",
          .doc = "PEM file with the private key (RSA or EC) of ssl.certificate.location. "
                 "Re-read on SIGHUP.",
          .field = &BrokerConfig::ssl_key_location},
  KeySpec{.section = Section::broker, .name = "ssl.key.password", .type = Type::string,
          .default_doc = "none",
          .doc = "Password of an encrypted ssl.key.location (traditional PEM encryption, e.g. "
                 "AES-256-CBC, or PKCS#8 with DES3).",
          .field = &BrokerConfig::ssl_key_password},
  KeySpec{.section = Section::broker, .name = "ssl.ca.location", .type = Type::string,
          .default_doc = "none",
          .doc = "PEM file with the CA certificates client certificates must chain to; "
                 "required when ssl.client.auth is not none. Re-read on SIGHUP.",
          .field = &BrokerConfig::ssl_ca_location},
  KeySpec{.section = Section::broker, .name = "ssl.client.auth", .type = Type::choice,
          .default_value = "none", .allowed = "none|requested|required",
          .doc = "Whether SSL and SASL_SSL listeners ask clients for a certificate: none; "
                 "requested (a client may send none, one it sends must verify); required. On "
                 "an SSL listener a verified certificate's subject is the principal, "
                 "User:CN=...,OU=...,O=....",
          .field = &BrokerConfig::ssl_client_auth},
  KeySpec{.section = Section::broker, .name = "admin.listen", .type = Type::string,
          .default_value = "127.0.0.1:9644",
          .doc = "Address of the admin HTTP listener (/metrics, /health/live, /health/ready, "
                 "/v1/status, the status page): host:port or [ipv6]:port; empty turns it off. An "
                 "address other than loopback needs admin.allow.remote (ferry's own key).",
          .may_be_empty = true,
          .field = &BrokerConfig::admin_listen},
  KeySpec{.section = Section::broker, .name = "admin.allow.remote", .type = Type::boolean,
          .default_value = "false",
          .doc = "Allow admin.listen on an address other than loopback (the admin API has no "
                 "TLS; consider admin.basic.auth.user) (ferry's own key).",
          .field = &BrokerConfig::admin_allow_remote},
  KeySpec{.section = Section::broker, .name = "admin.basic.auth.user", .type = Type::string,
          .default_doc = "none",
          .doc = "With admin.basic.auth.password.file: every admin request must carry HTTP "
                 "basic authentication with this user name (ferry's own key).",
          .field = &BrokerConfig::admin_basic_auth_user},
  KeySpec{.section = Section::broker, .name = "admin.basic.auth.password.file",
          .type = Type::string, .default_doc = "none",
          .doc = "File whose first line is the admin listener's basic authentication password, "
                 "read at start (ferry's own key).",
          .field = &BrokerConfig::admin_basic_auth_password_file},

  // ---- Kafka topic configs ([topic_defaults]) ------------------------------------------------
  KeySpec{.section = Section::topic, .name = "cleanup.policy", .type = Type::list,
          .default_value = "delete", .allowed = "delete|compact",
          .doc = "delete: old segments are deleted by retention.ms and retention.bytes; compact: "
                 "the log cleaner keeps the latest record of every key (docs/compaction.md); "
                 "compact,delete: both."},
  KeySpec{.section = Section::topic, .name = "compression.gzip.level", .type = Type::int32,
          .default_value = "-1", .min = -1, .max = 9,
          .doc = "No effect in ferry (accepted for Kafka tools): gzip batches are written at "
                 "zlib's default level. -1 or 1 to 9."},
  KeySpec{.section = Section::topic, .name = "compression.lz4.level", .type = Type::int32,
          .default_value = "9", .min = 1, .max = 17,
          .doc = "No effect in ferry (accepted for Kafka tools): LZ4 batches are written with "
                 "LZ4's fast mode, cheaper on a gateway's CPU."},
  KeySpec{.section = Section::topic, .name = "compression.type", .type = Type::choice,
          .default_value = "lz4",
          .allowed = "producer|uncompressed|gzip|snappy|lz4|zstd",
          .doc = "The codec batches are stored in: producer keeps each batch as sent; a codec "
                 "(uncompressed, gzip, snappy, lz4, zstd) rewrites batches sent in another one "
                 "into it before they are stored (an uncompressed batch the codec would not "
                 "shrink stays uncompressed). Kafka's default is producer; ferry's is lz4, "
                 "which cuts flash writes; set [topic_defaults] compression.type = \"producer\" "
                 "for Kafka's behaviour."},
  KeySpec{.section = Section::topic, .name = "compression.zstd.level", .type = Type::int32,
          .default_value = "3", .min = -131072, .max = 22,
          .doc = "No effect in ferry (accepted for Kafka tools): zstd batches are written at "
                 "level 3."},
  KeySpec{.section = Section::topic, .name = "delete.retention.ms", .type = Type::int64,
          .default_value = "86400000", .min = 0, .max = kI64,
          .doc = "Compacted topics: how long a tombstone (null value) is kept after the cleaner "
                 "pass that first kept it, so consumers can see the delete."},
  KeySpec{.section = Section::topic, .name = "disk.full.policy", .type = Type::choice,
          .default_value = "refuse", .allowed = "refuse|drop_oldest",
          .doc = "What happens when the data directory is about to fill (log.dir.min.free.bytes): "
                 "refuse answers produce requests with the retriable KAFKA_STORAGE_ERROR and "
                 "deletes nothing; drop_oldest deletes the topic's oldest segments, also ones a "
                 "mirror has not forwarded yet, counted and logged at ERROR."},
  KeySpec{.section = Section::topic, .name = "file.delete.delay.ms", .type = Type::int64,
          .default_value = "60000", .min = 0, .max = kI64,
          .doc = "No effect in ferry (accepted for Kafka tools): segments retention removes are "
                 "unlinked at once (readers holding them open keep reading)."},
  KeySpec{.section = Section::topic, .name = "flush.messages", .type = Type::int64,
          .default_value = "9223372036854775807", .min = 1, .max = kI64,
          .doc = "fdatasync a partition's log after this many records since its last flush."},
  KeySpec{.section = Section::topic, .name = "flush.ms", .type = Type::int64,
          .default_value = "1000", .min = 0, .max = kI64,
          .doc = "fdatasync at most this long after an unflushed append; bounds what a power "
                 "cut can lose."},
  KeySpec{.section = Section::topic, .name = "follower.replication.throttled.replicas",
          .type = Type::string,
          .doc = "No effect in ferry (accepted for Kafka tools): ferry does not replicate and "
                 "has no replication throttles."},
  KeySpec{.section = Section::topic, .name = "index.interval.bytes", .type = Type::int32,
          .default_value = "4096", .min = 4, .max = kI32,
          .doc = "Bytes of log between two entries of the sparse offset index."},
  KeySpec{.section = Section::topic, .name = "leader.replication.throttled.replicas",
          .type = Type::string,
          .doc = "No effect in ferry (accepted for Kafka tools): ferry does not replicate and "
                 "has no replication throttles."},
  KeySpec{.section = Section::topic, .name = "local.retention.bytes", .type = Type::int64,
          .default_value = "-2", .min = -2, .max = kI64,
          .doc = "No effect in ferry (accepted for Kafka tools): tiered storage is not "
                 "supported; retention.bytes applies."},
  KeySpec{.section = Section::topic, .name = "local.retention.ms", .type = Type::int64,
          .default_value = "-2", .min = -2, .max = kI64,
          .doc = "No effect in ferry (accepted for Kafka tools): tiered storage is not "
                 "supported; retention.ms applies."},
  KeySpec{.section = Section::topic, .name = "max.compaction.lag.ms", .type = Type::int64,
          .default_value = "9223372036854775807", .min = 1, .max = kI64,
          .doc = "Compacted topics: records stay uncleaned at most about this long, whatever "
                 "min.cleanable.dirty.ratio says (sealed segments only: see segment.ms)."},
  KeySpec{.section = Section::topic, .name = "max.message.bytes", .type = Type::int32,
          .default_value = "1048588", .min = 0, .max = kI32,
          .doc = "Largest record batch a produce request may append to the topic."},
  KeySpec{.section = Section::topic, .name = "message.downconversion.enable",
          .type = Type::boolean, .default_value = "true",
          .doc = "No effect in ferry (accepted for Kafka tools): fetches in the old message "
                 "formats (Fetch v0-3) are always down-converted."},
  KeySpec{.section = Section::topic, .name = "message.format.version", .type = Type::string,
          .default_value = "3.0-IV1",
          .doc = "No effect in ferry, as in Kafka 3 (deprecated there): batches are stored in "
                 "the v2 format; legacy fetches are down-converted."},
  KeySpec{.section = Section::topic, .name = "message.timestamp.after.max.ms",
          .type = Type::int64, .default_value = "9223372036854775807", .min = 0, .max = kI64,
          .doc = "No effect in ferry (accepted for Kafka tools): record timestamps ahead of the "
                 "broker's clock are not refused (gateway clocks are often wrong)."},
  KeySpec{.section = Section::topic, .name = "message.timestamp.before.max.ms",
          .type = Type::int64, .default_value = "9223372036854775807", .min = 0, .max = kI64,
          .doc = "No effect in ferry (accepted for Kafka tools): old record timestamps are not "
                 "refused (buffered readings arrive late)."},
  KeySpec{.section = Section::topic, .name = "message.timestamp.difference.max.ms",
          .type = Type::int64, .default_value = "9223372036854775807", .min = 0, .max = kI64,
          .doc = "No effect in ferry (accepted for Kafka tools; deprecated in Kafka 3.6): "
                 "record timestamps are not compared with the broker's clock."},
  KeySpec{.section = Section::topic, .name = "message.timestamp.type", .type = Type::choice,
          .default_value = "CreateTime", .allowed = "CreateTime|LogAppendTime",
          .doc = "Record timestamps: the producer's (CreateTime) or the broker's clock at "
                 "append (LogAppendTime)."},
  KeySpec{.section = Section::topic, .name = "min.cleanable.dirty.ratio", .type = Type::fraction,
          .default_value = "0.5",
          .doc = "Compacted topics: clean a partition once the bytes written since its last "
                 "cleaning are at least this share of its cleanable bytes."},
  KeySpec{.section = Section::topic, .name = "min.compaction.lag.ms", .type = Type::int64,
          .default_value = "0", .min = 0, .max = kI64,
          .doc = "Compacted topics: a segment holding records younger than this is not "
                 "cleaned."},
  KeySpec{.section = Section::topic, .name = "min.insync.replicas", .type = Type::int32,
          .default_value = "1", .min = 1, .max = kI32,
          .doc = "Replicas that must hold a write before an acks=all produce succeeds."},
  KeySpec{.section = Section::topic, .name = "preallocate", .type = Type::boolean,
          .default_value = "false",
          .doc = "No effect in ferry (accepted for Kafka tools): segment files grow as they are "
                 "written; meta.db keeps ferry's reserve for a full disk."},
  KeySpec{.section = Section::topic, .name = "remote.log.copy.disable", .type = Type::boolean,
          .default_value = "false",
          .doc = "No effect in ferry (accepted for Kafka tools): tiered storage is not "
                 "supported."},
  KeySpec{.section = Section::topic, .name = "remote.log.delete.on.disable",
          .type = Type::boolean, .default_value = "false",
          .doc = "No effect in ferry (accepted for Kafka tools): tiered storage is not "
                 "supported."},
  KeySpec{.section = Section::topic, .name = "remote.storage.enable", .type = Type::boolean,
          .default_value = "false",
          .doc = "No effect in ferry (accepted for Kafka tools): tiered storage is not "
                 "supported; every segment stays in data.dir."},
  KeySpec{.section = Section::topic, .name = "retention.bytes", .type = Type::int64,
          .default_value = "-1", .min = -1, .max = kI64,
          .doc = "Delete the oldest sealed segments while a partition's log is larger than "
                 "this; -1 for no size limit."},
  KeySpec{.section = Section::topic, .name = "retention.ms", .type = Type::int64,
          .default_value = "604800000", .min = -1, .max = kI64,
          .doc = "Delete sealed segments whose newest record is older than this; -1 keeps "
                 "data forever."},
  KeySpec{.section = Section::topic, .name = "segment.bytes", .type = Type::int32,
          .default_value = "67108864", .min = 1048576, .max = kI32,
          .doc = "Roll to a new segment file when the next batch would take the active one "
                 "past this size (at least 1 MiB)."},
  KeySpec{.section = Section::topic, .name = "segment.index.bytes", .type = Type::int32,
          .default_value = "10485760", .min = 4, .max = kI32,
          .doc = "No effect in ferry (accepted for Kafka tools): index files grow with their "
                 "segment (index.interval.bytes sets their density) and are not preallocated."},
  KeySpec{.section = Section::topic, .name = "segment.jitter.ms", .type = Type::int64,
          .default_value = "0", .min = 0, .max = kI64,
          .doc = "No effect in ferry (accepted for Kafka tools): segments roll at segment.ms "
                 "exactly."},
  KeySpec{.section = Section::topic, .name = "segment.ms", .type = Type::int64,
          .default_value = "604800000", .min = 1, .max = kI64,
          .doc = "Roll to a new segment file once the active one's first batch is this old."},
  KeySpec{.section = Section::topic, .name = "unclean.leader.election.enable",
          .type = Type::boolean, .default_value = "false",
          .doc = "No effect in ferry (accepted for Kafka tools): one broker leads every "
                 "partition; there is no election."},
  // ---- [[mirror]] (mirror_config.h, docs/mirror.md) -----------------------------------------
  KeySpec{.section = Section::mirror, .name = "name", .type = Type::string,
          .default_doc = "none, required",
          .doc = "The mirror's name (letters, digits, '.', '_', '-'), unique in the file; its "
                 "checkpoints and producer ids in meta.db are kept under it."},
  KeySpec{.section = Section::mirror, .name = "enabled", .type = Type::boolean,
          .default_value = "true",
          .doc = "Whether this mirror forwards; a disabled mirror keeps no retention floor."},
  KeySpec{.section = Section::mirror, .name = "bootstrap.servers", .type = Type::list,
          .default_doc = "none, required",
          .doc = "The central cluster's brokers, host:port items; the first is the bootstrap "
                 "broker, the next one is tried whenever its connection fails."},
  KeySpec{.section = Section::mirror, .name = "topics", .type = Type::patterns,
          .default_doc = "none, required",
          .doc = "Regular expressions (whole-name match) of the local topics to forward; topics "
                 "created later are picked up. Internal topics (__*) never are."},
  KeySpec{.section = Section::mirror, .name = "topics.exclude", .type = Type::patterns,
          .default_doc = "none",
          .doc = "Regular expressions of topics not to forward, even when `topics` matches."},
  KeySpec{.section = Section::mirror, .name = "target.topic", .type = Type::string,
          .default_value = "{topic}",
          .doc = "The target topic's name: {topic} (required), {node} (node.id) and {mirror} "
                 "(name) are replaced, e.g. \"site42.{topic}\"."},
  KeySpec{.section = Section::mirror, .name = "target.topics.create", .type = Type::boolean,
          .default_value = "true",
          .doc = "Create missing target topics (CreateTopics) with the source's partition "
                 "count."},
  KeySpec{.section = Section::mirror, .name = "target.replication.factor", .type = Type::int16,
          .default_value = "-1", .min = -1, .max = kI16,
          .doc = "Replication factor of created target topics; -1: the central cluster's "
                 "default."},
  KeySpec{.section = Section::mirror, .name = "auto.offset.reset", .type = Type::choice,
          .default_value = "earliest", .allowed = "earliest|latest",
          .doc = "Where forwarding starts in a topic the mirror has not seen before: its oldest "
                 "stored record or its end."},
  KeySpec{.section = Section::mirror, .name = "security.protocol", .type = Type::choice,
          .default_value = "PLAINTEXT", .allowed = "PLAINTEXT|SASL_PLAINTEXT|SSL|SASL_SSL",
          .doc = "How to reach the central cluster. SSL and SASL_SSL are refused until ferry's "
                 "client speaks TLS."},
  KeySpec{.section = Section::mirror, .name = "sasl.mechanism", .type = Type::choice,
          .default_value = "PLAIN", .allowed = "PLAIN|SCRAM-SHA-256|SCRAM-SHA-512",
          .doc = "SASL mechanism with security.protocol SASL_*."},
  KeySpec{.section = Section::mirror, .name = "sasl.username", .type = Type::string,
          .default_doc = "none",
          .doc = "SASL user name; required with security.protocol SASL_*."},
  KeySpec{.section = Section::mirror, .name = "sasl.password", .type = Type::string,
          .default_doc = "none",
          .doc = "SASL password; set this or sasl.password.file with SASL_*."},
  KeySpec{.section = Section::mirror, .name = "sasl.password.file", .type = Type::string,
          .default_doc = "none",
          .doc = "File holding the SASL password (read at start; a final newline is dropped)."},
  KeySpec{.section = Section::mirror, .name = "ssl.ca.location", .type = Type::string,
          .default_doc = "none",
          .doc = "CA certificates (PEM) the central cluster's certificate must chain to."},
  KeySpec{.section = Section::mirror, .name = "ssl.certificate.location", .type = Type::string,
          .default_doc = "none",
          .doc = "This gateway's client certificate (PEM), for mutual TLS."},
  KeySpec{.section = Section::mirror, .name = "ssl.key.location", .type = Type::string,
          .default_doc = "none",
          .doc = "The private key (PEM) of ssl.certificate.location."},
  KeySpec{.section = Section::mirror, .name = "ssl.endpoint.identification.algorithm",
          .type = Type::choice, .default_value = "https", .allowed = "https|none",
          .doc = "https: the server certificate must name the broker's host; none: not "
                 "checked."},
  KeySpec{.section = Section::mirror, .name = "batch.size", .type = Type::int32,
          .default_value = "1048576", .min = 1024, .max = kI32,
          .doc = "Not used by forwarding: stored batches are read one at a time (so the "
                 "scheduler can choose per batch) and forwarded whole and unchanged, one per "
                 "Produce entry; their size is what the gateway's producers made."},
  KeySpec{.section = Section::mirror, .name = "linger.ms", .type = Type::int32,
          .default_value = "5", .min = 0, .max = kI32,
          .doc = "Wait this long after new records appear before reading them, to send fewer, "
                 "fuller requests."},
  KeySpec{.section = Section::mirror, .name = "max.in.flight.requests.per.connection",
          .type = Type::int32, .default_value = "5", .min = 1, .max = 5,
          .doc = "Produce requests a partition may have unanswered at once (the window Kafka "
                 "deduplicates in)."},
  KeySpec{.section = Section::mirror, .name = "bandwidth.bytes.per.second", .type = Type::int64,
          .default_value = "0", .min = 0, .max = 1000000000000,
          .doc = "Cap on the bytes of stored batches this mirror sends per second, over all its "
                 "partitions (a token bucket holding 100 ms of the rate; a larger batch still "
                 "goes, and the link then waits until the debt is paid); 0: unlimited."},
  KeySpec{.section = Section::mirror, .name = "priorities", .type = Type::patterns,
          .default_doc = "none (every topic 0)",
          .doc = "Per-topic priority, items \"REGEX=N\" (whole-name match, N an integer, the "
                 "first matching item wins, others 0): while a partition of a higher priority "
                 "has a batch it may send, lower priorities send nothing new; equal priorities "
                 "take turns batch by batch."},
  KeySpec{.section = Section::mirror, .name = "reconnect.backoff.ms", .type = Type::int32,
          .default_value = "100", .min = 1, .max = kI32,
          .doc = "First delay before reconnecting to a broker after a failed connection; "
                 "doubles up to reconnect.backoff.max.ms, spread by reconnect.backoff.jitter."},
  KeySpec{.section = Section::mirror, .name = "reconnect.backoff.max.ms", .type = Type::int32,
          .default_value = "10000", .min = 1, .max = kI32,
          .doc = "Longest delay between reconnection attempts."},
  KeySpec{.section = Section::mirror, .name = "request.timeout.ms", .type = Type::int32,
          .default_value = "30000", .min = 100, .max = kI32,
          .doc = "A request unanswered this long counts as failed (an uncertain outcome: the "
                 "partition reconciles with the target before it sends again)."},
  KeySpec{.section = Section::mirror, .name = "reconnect.backoff.jitter", .type = Type::fraction,
          .default_value = "0.2",
          .doc = "Random spread of every reconnect and retry delay, as a fraction of it: 0.2 "
                 "waits between 80% and 120% of the delay, so that many gateways cut off "
                 "together do not reconnect in step."},
  KeySpec{.section = Section::mirror, .name = "watchdog.timeout.ms", .type = Type::int32,
          .default_value = "15000", .min = 0, .max = kI32,
          .doc = "Close and reopen a connection to the central cluster that has requests "
                 "unanswered and has received no byte for this long (a TCP connection silently "
                 "dead, e.g. after a NAT rebind); counted as a reconnect. 0: off (only "
                 "request.timeout.ms then ends such a connection)."},
  KeySpec{.section = Section::mirror, .name = "heartbeats.interval.ms", .type = Type::int32,
          .default_value = "5000", .min = 0, .max = kI32,
          .doc = "Send a heartbeat record to heartbeats.topic on the central cluster this often, "
                 "so that operators there can see this gateway is alive; 0: off."},
  KeySpec{.section = Section::mirror, .name = "heartbeats.topic", .type = Type::string,
          .default_value = "ferry.heartbeats",
          .doc = "The central cluster's topic heartbeats go to (created with 1 partition when "
                 "missing and target.topics.create is on); key \"<node.id>/<name>\", value JSON."},
  KeySpec{.section = Section::mirror, .name = "target.lost.policy", .type = Type::choice,
          .default_value = "stop", .allowed = "stop|resend",
          .doc = "When a target partition lost acknowledged records (data loss, or the topic "
                 "deleted and re-created): stop forwarding that partition, or resend everything "
                 "the gateway still holds from the first source offset the target cannot be "
                 "shown to hold (logged at ERROR with the ranges, counted in the status)."},

  // ---- [cluster] (cluster_config.h) ---------------------------------------------------------
  KeySpec{.section = Section::cluster, .name = "peers", .type = Type::list,
          .default_doc = "none (required in [cluster])",
          .doc = "Every node of the cluster, this one included, as id@host:port naming the "
                 "node's internal listener (its cluster listen address as the others reach "
                 "it), e.g. [\"1@10.0.0.1:9093\", \"2@10.0.0.2:9093\", \"3@10.0.0.3:9093\"]; ids "
                 "are the nodes' node.id."},
  KeySpec{.section = Section::cluster, .name = "listen", .type = Type::host_port,
          .default_doc = "this node's address in peers",
          .doc = "Address the internal listener (replication between nodes) binds to; its port "
                 "must be that of this node's entry in peers, its host may be a wildcard "
                 "address. Not a Kafka listener's address."},
  KeySpec{.section = Section::cluster, .name = "election.timeout.ms", .type = Type::int32,
          .default_value = "1000", .min = 10, .max = kI32,
          .doc = "A follower that hears nothing from its leader for this long (plus a random "
                 "part up to as much again) starts an election."},
  KeySpec{.section = Section::cluster, .name = "heartbeat.interval.ms", .type = Type::int32,
          .default_value = "200", .min = 1, .max = kI32,
          .doc = "How long a follower's fetch waits at the leader for new data (the fetch is "
                 "the heartbeat), and the tick of the Raft groups; below half of "
                 "election.timeout.ms. A link with requests unanswered and nothing received for "
                 "3 times this long is closed and dialled again."},
  KeySpec{.section = Section::cluster, .name = "replica.lag.time.max.ms", .type = Type::int64,
          .default_value = "10000", .min = 1, .max = kI64,
          .doc = "A replica stays in sync (ISR) while it has reached the leader's log end within "
                 "this long."},
};
// clang-format on
#pragma GCC diagnostic pop

// Calls f(item) for each "|"-separated item of a list.
template <typename F>
void for_each_item(std::string_view list, char sep, F&& f) {
  while (!list.empty()) {
    size_t cut = list.find(sep);
    f(list.substr(0, cut));
    if (cut == std::string_view::npos) break;
    list.remove_prefix(cut + 1);
  }
}

bool contains_item(std::string_view list, std::string_view value) {
  bool found = false;
  for_each_item(list, '|', [&](std::string_view item) { found = found || item == value; });
  return found;
}

std::string join_items(std::string_view list) {
  std::string out;
  for_each_item(list, '|', [&](std::string_view item) {
    if (!out.empty()) out += ", ";
    out += item;
  });
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// A decimal integer; nullopt if malformed, and *overflow set when well-formed but too large.
std::optional<int64_t> parse_int(std::string_view text, bool* overflow = nullptr) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  if (overflow) *overflow = ec == std::errc::result_out_of_range;
  if (ec != std::errc()) return std::nullopt;
  return v;
}

// One choice value: nullopt when allowed, else the message.
std::optional<std::string> check_choice(const KeySpec& key, std::string_view value) {
  if (contains_item(key.allowed, value)) return std::nullopt;
  if (contains_item(key.unsupported, value)) return std::string(key.unsupported_why);
  return "must be one of: " + join_items(key.allowed);
}

}  // namespace

std::span<const KeySpec> all_keys() { return kKeys; }

const KeySpec* find_key(Section section, std::string_view name) {
  for (const KeySpec& k : kKeys) {
    if (k.section == section && k.name == name) return &k;
  }
  return nullptr;
}

int8_t kafka_type(Type type) {
  switch (type) {
    case Type::boolean: return 1;
    case Type::int16: return 4;
    case Type::int32: return 3;
    case Type::int64: return 5;
    case Type::list:
    case Type::patterns: return 7;
    case Type::fraction: return 6;  // DOUBLE
    case Type::string:
    case Type::host_port:
    case Type::choice: return 2;
  }
  return 2;
}

std::optional<double> parse_fraction(std::string_view raw) {
  const std::string text(trim(raw));
  if (text.empty() || text.size() > 32) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !(v >= 0.0 && v <= 1.0)) return std::nullopt;
  return v;
}

std::string_view trim(std::string_view text) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

std::string describe_range(const KeySpec& key) {
  switch (key.type) {
    case Type::boolean: return "true or false";
    case Type::int16:
    case Type::int32:
    case Type::int64: {
      int64_t type_max = key.type == Type::int16 ? kI16 : key.type == Type::int32 ? kI32 : kI64;
      if (key.max == type_max) return "at least " + std::to_string(key.min);
      return "between " + std::to_string(key.min) + " and " + std::to_string(key.max);
    }
    case Type::string:
      return key.default_value.empty() || key.may_be_empty ? "may be empty" : "not empty";
    case Type::host_port: return "host:port or [ipv6]:port";
    case Type::choice: return "one of: " + join_items(key.allowed);
    case Type::patterns: return "a list of regular expressions";
    case Type::fraction: return "a number between 0 and 1";
    case Type::list:
      if (key.allowed.empty()) return "a list of strings";
      return "items from: " + join_items(key.allowed);
  }
  return {};
}

std::optional<std::string> check_value(const KeySpec& key, std::string_view raw) {
  std::string_view text = trim(raw);
  switch (key.type) {
    case Type::boolean:
      if (iequals(text, "true") || iequals(text, "false")) return std::nullopt;
      return "expected true or false";
    case Type::int16:
    case Type::int32:
    case Type::int64: {
      bool overflow = false;
      std::optional<int64_t> v = parse_int(text, &overflow);
      if (!v && !overflow) return "expected an integer";
      if (!v || *v < key.min || *v > key.max) return "must be " + describe_range(key);
      return std::nullopt;
    }
    case Type::string:
      // A string key whose default is empty (a list of exceptions) may be set back to empty.
      if (text.empty() && !key.default_value.empty() && !key.may_be_empty) {
        return "must not be empty";
      }
      return std::nullopt;
    case Type::host_port: {
      Result<HostPort> hp = parse_host_port(text);
      if (!hp) return hp.error().message();
      return std::nullopt;
    }
    case Type::choice: return check_choice(key, text);
    case Type::fraction: {
      if (!parse_fraction(text)) return "must be " + describe_range(key);
      return std::nullopt;
    }
    case Type::patterns: {
      std::optional<std::string> problem;
      for_each_item(text, '\n', [&](std::string_view item) {
        if (!problem) problem = check_pattern(trim(item));
      });
      return problem;
    }
    case Type::list: {
      if (text.empty()) return "must not be empty";
      std::optional<std::string> problem;
      for_each_item(text, ',', [&](std::string_view item) {
        if (problem) return;
        // A list without `allowed` values takes any non-empty items (checked by the loader).
        if (key.allowed.empty()) {
          if (trim(item).empty()) problem = "has an empty item";
        } else {
          problem = check_choice(key, trim(item));
        }
      });
      return problem;
    }
  }
  return std::nullopt;
}

void assign_broker_field(const KeySpec& key, std::string_view raw, BrokerConfig& out) {
  std::string_view text = trim(raw);
  std::visit(
      [&](auto field) {
        using F = decltype(field);
        if constexpr (std::is_same_v<F, std::monostate>) {
          assert(false && "not a broker key");
        } else {
          using T = std::remove_reference_t<decltype(out.*field)>;
          if constexpr (std::is_same_v<T, bool>) {
            out.*field = iequals(text, "true");
          } else if constexpr (std::is_integral_v<T>) {
            out.*field = static_cast<T>(parse_int(text).value_or(0));
          } else if constexpr (std::is_same_v<T, std::string>) {
            out.*field = std::string(text);
          } else if constexpr (std::is_same_v<T, HostPort>) {
            Result<HostPort> hp = parse_host_port(text);
            assert(hp.ok());
            out.*field = std::move(hp).value();
          } else {
            static_assert(std::is_same_v<T, ferry::log::Level>);
            bool ok = ferry::log::parse_level(text, &(out.*field));
            assert(ok);
            (void)ok;
          }
        }
      },
      key.field);
}

std::string broker_field_text(const KeySpec& key, const BrokerConfig& config) {
  return std::visit(
      [&](auto field) -> std::string {
        using F = decltype(field);
        if constexpr (std::is_same_v<F, std::monostate>) {
          return {};
        } else {
          using T = std::remove_cv_t<std::remove_reference_t<decltype(config.*field)>>;
          if constexpr (std::is_same_v<T, bool>) {
            return config.*field ? "true" : "false";
          } else if constexpr (std::is_integral_v<T>) {
            return std::to_string(config.*field);
          } else if constexpr (std::is_same_v<T, std::string>) {
            return config.*field;
          } else if constexpr (std::is_same_v<T, HostPort>) {
            return (config.*field).to_string();
          } else {
            // The level's name: the allowed value that parses to it.
            std::string name;
            for_each_item(key.allowed, '|', [&](std::string_view item) {
              ferry::log::Level l{};
              if (ferry::log::parse_level(item, &l) && l == config.*field) name = item;
            });
            return name;
          }
        }
      },
      key.field);
}

}  // namespace ferry::config
