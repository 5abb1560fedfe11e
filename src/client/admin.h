// Topic administration on top of Client: create, delete, add partitions, describe, list, and
// read topic configs; and ACLs (create, describe, delete). The library side of `ferry topics`
// and `ferry acls`, usable by any program on a loop.
//
//   Admin admin(client);
//   admin.create_topics({{"orders", 3, 1, {{"retention.ms", "3600000"}}}}, false,
//                       [](KafkaResult<std::vector<TopicOutcome>> r) { ... });
//
// Routing: CreateTopics, DeleteTopics and CreatePartitions go to the controller named by a fresh
// Metadata answer (controller_id, Metadata v1+); when there is none (a v0 answer, or -1) they go
// to the bootstrap broker. Metadata and DescribeConfigs for topics go to the bootstrap broker.
// Nothing is retried: NOT_CONTROLLER, a timeout and the like are reported and the caller decides.
//
// Errors: a call whose request failed as a whole (connection, timeout, an undecodable answer)
// completes with a KafkaError; errors the broker gives for a single topic are in that topic's
// entry (`error`), so one bad topic in a batch does not hide the outcome of the others.
//
// Threading and lifetime: loop thread only; callbacks run on the loop thread and never before the
// call returns. The Admin is a thin handle on a Client: pending calls do not need the Admin (it
// may go once they are issued) but they do need the Client, with the Client's own rules.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/kafka_error.h"
#include "client/sasl.h"
#include "protocol/messages/acls.h"

namespace ferry::client {

struct NewTopic {
  std::string name;
  int32_t partitions = -1;          // -1: the broker's default (CreateTopics v4+)
  int16_t replication_factor = -1;  // -1: the broker's default (CreateTopics v4+)
  std::map<std::string, std::string> configs;
};

// One topic's outcome of a batch call: no error means it was done (or would be, when validating).
struct TopicOutcome {
  std::string name;
  std::optional<KafkaError> error;
};

struct PartitionDescription {
  int32_t partition = 0;
  int32_t leader = -1;  // -1: no leader
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> offline;  // Metadata v5+; empty before
  std::optional<KafkaError> error;
};

struct TopicDescription {
  std::string name;
  bool internal = false;
  std::vector<PartitionDescription> partitions;  // sorted by partition
  std::optional<KafkaError> error;  // e.g. UNKNOWN_TOPIC_OR_PARTITION; partitions then empty
  // The replica count of the first partition (0 when there is none), as kafka-topics.sh reports.
  int32_t replication_factor() const {
    return partitions.empty() ? 0 : static_cast<int32_t>(partitions.front().replicas.size());
  }
};

// DescribeConfigs config_source values (v1+).
enum class ConfigSource : int8_t {
  unknown = 0,
  dynamic_topic = 1,
  dynamic_broker = 2,
  dynamic_default_broker = 3,
  static_broker = 4,
  default_config = 5,
  dynamic_broker_logger = 6,
};

struct ConfigValue {
  std::string name;
  std::optional<std::string> value;  // null for sensitive values
  ConfigSource source = ConfigSource::unknown;
  bool is_default = false;  // the built-in default (v0's is_default; v1+ DEFAULT_CONFIG)
  bool read_only = false;
  bool sensitive = false;
};

struct TopicConfigs {
  std::string name;
  std::vector<ConfigValue> configs;  // in the broker's order
  std::optional<KafkaError> error;
};

// One ACL binding with Kafka's wire codes (resource type 2 = topic, 3 = group, 4 = cluster;
// pattern 3 = literal, 4 = prefixed; operation 2 = all, 3 = read ...; permission 2 = deny,
// 3 = allow). The broker's broker/authz/acl.h names the codes.
struct AclEntry {
  int8_t resource_type = 2;
  std::string resource_name;
  int8_t pattern_type = 3;
  std::string principal;
  std::string host = "*";
  int8_t operation = 2;
  int8_t permission = 3;
  bool operator==(const AclEntry&) const = default;
};

struct AdminOptions {
  // The broker-side timeout sent in CreateTopics, DeleteTopics and CreatePartitions.
  int32_t operation_timeout_ms = 30'000;
};

// SCRAM users (DescribeUserScramCredentials / AlterUserScramCredentials).
struct ScramUserDescription {
  std::string user;
  std::optional<KafkaError> error;  // RESOURCE_NOT_FOUND for a user without credentials
  std::vector<std::pair<SaslMechanism, int32_t>> mechanisms;  // with their iteration counts
};
struct ScramUpsertion {
  std::string user;
  SaslMechanism mechanism = SaslMechanism::scram_sha_256;
  int32_t iterations = 4096;
  std::string password;  // used to compute the salted password here; never sent
  std::string salt;      // empty: 32 random bytes
};
struct ScramDeletion {
  std::string user;
  SaslMechanism mechanism = SaslMechanism::scram_sha_256;
};

class Admin {
 public:
  template <typename T>
  using Done = std::function<void(KafkaResult<T>)>;

  explicit Admin(Client& client, AdminOptions options = {});
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;

  // CreateTopics at the controller. `validate_only` (v1+) checks without creating.
  void create_topics(std::vector<NewTopic> topics, bool validate_only,
                     Done<std::vector<TopicOutcome>> done);
  // DeleteTopics at the controller.
  void delete_topics(std::vector<std::string> names, Done<std::vector<TopicOutcome>> done);
  // CreatePartitions at the controller: each topic grows to `total` partitions; the broker
  // assigns the new replicas.
  void create_partitions(std::map<std::string, int32_t> totals, bool validate_only,
                         Done<std::vector<TopicOutcome>> done);
  // Metadata for `names` (nullopt: every topic, internal ones included), sorted by name.
  void describe_topics(std::optional<std::vector<std::string>> names,
                       Done<std::vector<TopicDescription>> done);
  // The names of the cluster's topics, sorted; internal topics only when asked.
  void list_topics(bool include_internal, Done<std::vector<std::string>> done);
  // DescribeConfigs of topic resources, every key; one entry per topic, in the order asked.
  void describe_topic_configs(std::vector<std::string> names, Done<std::vector<TopicConfigs>> done);
  // DescribeUserScramCredentials at any broker: `users` (nullopt: every user).
  void describe_user_scram_credentials(std::optional<std::vector<std::string>> users,
                                       Done<std::vector<ScramUserDescription>> done);
  // AlterUserScramCredentials at the controller; one outcome per user named. The password of
  // each upsertion is salted and hashed (PBKDF2) here; only the result travels.
  void alter_user_scram_credentials(std::vector<ScramDeletion> deletions,
                                    std::vector<ScramUpsertion> upsertions,
                                    Done<std::vector<TopicOutcome>> done);

  // ACLs, at the bootstrap broker. CreateAcls: one outcome per ACL, in order.
  void create_acls(std::vector<AclEntry> acls, Done<std::vector<std::optional<KafkaError>>> done);
  // DescribeAcls: the ACLs `filter` matches; an error the broker gives fails the call.
  void describe_acls(protocol::AclFilter filter, Done<std::vector<AclEntry>> done);
  // DeleteAcls: the ACLs deleted, over every filter; a filter's error fails the call.
  void delete_acls(std::vector<protocol::AclFilter> filters, Done<std::vector<AclEntry>> done);

 private:
  Client& client_;
  AdminOptions options_;
};

}  // namespace ferry::client
