// `ferry topics`: create, list, describe, alter (add partitions) and delete topics.
//
// Each action is one or two Admin calls (client/admin.h) run one after the other on the
// Session's private loop; the output follows kafka-topics.sh, or is JSON with --json.
#include "app/topics_cmd.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "app/cli_common.h"
#include "app/cli_output.h"
#include "app/cli_session.h"
#include "client/admin.h"

namespace ferry::app {
namespace {

constexpr std::string_view kCommand = "topics";

using client::KafkaError;
using client::KafkaResult;
using protocol::ErrorCode;

// A per-topic error with the topic named in its message (brokers' default texts do not name it).
KafkaError about_topic(const KafkaError& e, const std::string& topic) {
  std::string message;
  if (e.code() == ErrorCode::unknown_topic_or_partition) {
    message = "Topic '" + topic + "' does not exist.";
  } else if (e.message().find(topic) == std::string::npos) {
    message = "Topic '" + topic + "': " + e.message();
  } else {
    return e;
  }
  return e.from_broker() ? KafkaError::broker(e.code(), message)
                         : KafkaError::local(e.code(), message);
}

bool is(const std::optional<KafkaError>& e, ErrorCode code) { return e && e->code() == code; }

std::string joined(const std::vector<int32_t>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out;
}

// The Admin calls, run synchronously on the session's loop.
class SyncAdmin {
 public:
  SyncAdmin(Session& s, int32_t operation_timeout_ms)
      : s_(s), admin_(s.client(), client::AdminOptions{operation_timeout_ms}) {}

  KafkaResult<std::vector<client::TopicOutcome>> create(client::NewTopic t) {
    return s_.run<std::vector<client::TopicOutcome>>(
        [&](auto done) { admin_.create_topics({std::move(t)}, false, std::move(done)); });
  }
  KafkaResult<std::vector<client::TopicOutcome>> remove(std::vector<std::string> names) {
    return s_.run<std::vector<client::TopicOutcome>>(
        [&](auto done) { admin_.delete_topics(std::move(names), std::move(done)); });
  }
  KafkaResult<std::vector<client::TopicOutcome>> grow(const std::string& name, int32_t total) {
    return s_.run<std::vector<client::TopicOutcome>>([&](auto done) {
      admin_.create_partitions({{name, total}}, false, std::move(done));
    });
  }
  KafkaResult<std::vector<std::string>> list(bool include_internal) {
    return s_.run<std::vector<std::string>>(
        [&](auto done) { admin_.list_topics(include_internal, std::move(done)); });
  }
  KafkaResult<std::vector<client::TopicDescription>> describe(std::vector<std::string> names) {
    return s_.run<std::vector<client::TopicDescription>>(
        [&](auto done) { admin_.describe_topics(std::move(names), std::move(done)); });
  }
  KafkaResult<std::vector<client::TopicConfigs>> configs(std::vector<std::string> names) {
    return s_.run<std::vector<client::TopicConfigs>>(
        [&](auto done) { admin_.describe_topic_configs(std::move(names), std::move(done)); });
  }

 private:
  Session& s_;
  client::Admin admin_;
};

// The single outcome for `topic` in a batch answer; an answer without it is an error.
std::optional<KafkaError> outcome_of(const std::vector<client::TopicOutcome>& outcomes,
                                     const std::string& topic) {
  for (const auto& o : outcomes) {
    if (o.name == topic) return o.error;
  }
  return KafkaError::local(ErrorCode::unknown_server_error,
                           "the broker's answer does not mention topic '" + topic + "'");
}

// ---- the actions ----------------------------------------------------------------------------

int create(SyncAdmin& admin, const TopicsArgs& args, std::map<std::string, std::string> configs) {
  const std::string& topic = args.topics.front();
  client::NewTopic t;
  t.name = topic;
  t.partitions = args.partitions.value_or(-1);
  t.replication_factor = static_cast<int16_t>(args.replication_factor.value_or(-1));
  t.configs = std::move(configs);
  auto r = admin.create(std::move(t));
  if (!r) return kafka_failure(kCommand, r.error());
  auto e = outcome_of(*r, topic);
  const bool existed = is(e, ErrorCode::topic_already_exists) && args.if_not_exists;
  if (e && !existed) return kafka_failure(kCommand, about_topic(*e, topic));
  if (args.json) {
    std::printf("{\"topic\":%s,\"created\":%s}\n", json_string(topic).c_str(),
                existed ? "false" : "true");
  } else if (existed) {
    std::printf("Topic '%s' already exists; nothing done.\n", topic.c_str());
  } else {
    std::printf("Created topic %s.\n", topic.c_str());
  }
  return kOk;
}

int list(SyncAdmin& admin, const TopicsArgs& args) {
  auto r = admin.list(args.include_internal);
  if (!r) return kafka_failure(kCommand, r.error());
  if (args.json) {
    std::string out = "[";
    for (const auto& name : *r) {
      if (out.size() > 1) out += ",";
      out += "{\"topic\":" + json_string(name) + "}";
    }
    std::printf("%s]\n", out.c_str());
  } else {
    for (const auto& name : *r) std::printf("%s\n", name.c_str());
  }
  return kOk;
}

int describe(SyncAdmin& admin, const TopicsArgs& args) {
  std::vector<std::string> names = args.topics;
  if (names.empty()) {
    auto all = admin.list(args.include_internal);
    if (!all) return kafka_failure(kCommand, all.error());
    names = std::move(*all);
  }
  std::vector<client::TopicDescription> topics;
  if (!names.empty()) {
    auto r = admin.describe(names);
    if (!r) return kafka_failure(kCommand, r.error());
    for (auto& t : *r) {
      if (is(t.error, ErrorCode::unknown_topic_or_partition) && args.if_exists) continue;
      if (t.error) return kafka_failure(kCommand, about_topic(*t.error, t.name));
      topics.push_back(std::move(t));
    }
  }
  // The configs that differ from the built-in defaults, by topic, sorted by key.
  std::map<std::string, std::map<std::string, std::string>> overrides;
  if (!topics.empty()) {
    std::vector<std::string> existing;
    for (const auto& t : topics) existing.push_back(t.name);
    auto r = admin.configs(existing);
    if (!r) return kafka_failure(kCommand, r.error());
    for (const auto& tc : *r) {
      if (tc.error) return kafka_failure(kCommand, about_topic(*tc.error, tc.name));
      auto& out = overrides[tc.name];
      for (const auto& c : tc.configs) {
        if (c.is_default) continue;
        out[c.name] = c.sensitive ? "(sensitive)" : c.value.value_or("null");
      }
    }
  }

  if (args.json) {
    std::string out = "[";
    for (const auto& t : topics) {
      std::string configs;
      for (const auto& [k, v] : overrides[t.name])
        configs += std::string(configs.empty() ? "" : ",") + json_string(k) + ":" + json_string(v);
      std::string parts;
      for (const auto& p : t.partitions) {
        parts += std::string(parts.empty() ? "" : ",") +
                 "{\"partition\":" + std::to_string(p.partition) +
                 ",\"leader\":" + json_int_or_null(p.leader) +
                 ",\"replicas\":" + json_int_array(p.replicas) +
                 ",\"isr\":" + json_int_array(p.isr) + ",\"offline\":" + json_int_array(p.offline) +
                 "}";
      }
      if (out.size() > 1) out += ",";
      out += "{\"topic\":" + json_string(t.name) +
             ",\"internal\":" + (t.internal ? "true" : "false") +
             ",\"partition_count\":" + std::to_string(t.partitions.size()) +
             ",\"replication_factor\":" + std::to_string(t.replication_factor()) +
             ",\"configs\":{" + configs + "},\"partitions\":[" + parts + "]}";
    }
    std::printf("%s]\n", out.c_str());
    return kOk;
  }
  for (const auto& t : topics) {
    std::string configs;
    for (const auto& [k, v] : overrides[t.name])
      configs += (configs.empty() ? "" : ",") + k + "=" + v;
    std::printf("Topic: %s\tPartitionCount: %zu\tReplicationFactor: %d\tConfigs: %s\n",
                t.name.c_str(), t.partitions.size(), static_cast<int>(t.replication_factor()),
                configs.c_str());
    for (const auto& p : t.partitions) {
      const std::string leader = p.leader < 0 ? "none" : std::to_string(p.leader);
      std::string line = "\tTopic: " + t.name + "\tPartition: " + std::to_string(p.partition) +
                         "\tLeader: " + leader + "\tReplicas: " + joined(p.replicas) +
                         "\tIsr: " + joined(p.isr);
      if (!p.offline.empty()) line += "\tOffline: " + joined(p.offline);
      std::printf("%s\n", line.c_str());
    }
  }
  return kOk;
}

int alter(SyncAdmin& admin, const TopicsArgs& args) {
  const std::string& topic = args.topics.front();
  auto r = admin.grow(topic, *args.partitions);
  if (!r) return kafka_failure(kCommand, r.error());
  auto e = outcome_of(*r, topic);
  const bool missing = is(e, ErrorCode::unknown_topic_or_partition) && args.if_exists;
  if (e && !missing) return kafka_failure(kCommand, about_topic(*e, topic));
  if (args.json) {
    std::printf("{\"topic\":%s,\"altered\":%s,\"partitions\":%d}\n", json_string(topic).c_str(),
                missing ? "false" : "true", static_cast<int>(*args.partitions));
  } else if (missing) {
    std::printf("Topic '%s' does not exist; nothing done.\n", topic.c_str());
  } else {
    std::printf("Topic %s now has %d partitions.\n", topic.c_str(),
                static_cast<int>(*args.partitions));
  }
  return kOk;
}

int remove(SyncAdmin& admin, const TopicsArgs& args) {
  auto r = admin.remove(args.topics);
  if (!r) return kafka_failure(kCommand, r.error());
  int rc = kOk;
  std::string json;
  for (const auto& topic : args.topics) {
    auto e = outcome_of(*r, topic);
    const bool missing = is(e, ErrorCode::unknown_topic_or_partition) && args.if_exists;
    if (e && !missing) {
      rc = kafka_failure(kCommand, about_topic(*e, topic));
      continue;
    }
    if (args.json) {
      json += std::string(json.empty() ? "" : ",") + "{\"topic\":" + json_string(topic) +
              ",\"deleted\":" + (missing ? "false" : "true") + "}";
    } else if (missing) {
      std::printf("Topic '%s' does not exist; nothing done.\n", topic.c_str());
    } else {
      std::printf("Deleted topic %s.\n", topic.c_str());
    }
  }
  if (args.json && rc == kOk) std::printf("[%s]\n", json.c_str());
  return rc;
}

}  // namespace

CLI::App* add_topics_command(CLI::App& app, TopicsArgs& a) {
  auto* t = app.add_subcommand("topics", "Create, list, describe, alter and delete topics");
  t->add_option("--bootstrap", a.bootstrap, "HOST:PORT of a broker (default 127.0.0.1:9092)");
  add_sasl_options(t, a.sasl);
  t->add_flag("--create", a.create, "Create a topic");
  t->add_flag("--list", a.list, "List the topics");
  t->add_flag("--describe", a.describe, "Show topics' partitions, replicas and configs");
  t->add_flag("--alter", a.alter, "Raise a topic's partition count");
  t->add_flag("--delete", a.remove, "Delete topics");
  t->add_option("--topic", a.topics, "The topic (repeatable with --describe and --delete)");
  t->add_option("--partitions", a.partitions, "Partition count (--create, --alter)")
      ->check(CLI::Range(1, std::numeric_limits<int32_t>::max()));
  t->add_option("--replication-factor", a.replication_factor, "Replicas per partition (--create)")
      ->check(CLI::Range(1, int32_t{std::numeric_limits<int16_t>::max()}));
  t->add_option("--config", a.configs, "A topic config KEY=VALUE (--create, repeatable)");
  t->add_flag("--if-not-exists", a.if_not_exists, "--create: an existing topic is not an error");
  t->add_flag("--if-exists", a.if_exists,
              "--alter, --delete, --describe: a missing topic is not an error");
  t->add_flag("--include-internal", a.include_internal, "--list, --describe: internal topics too");
  t->add_flag("--json", a.json, "Machine-readable output");
  t->add_option("--timeout", a.timeout_ms, "Connect and request timeout in ms (default 10000)")
      ->check(CLI::Range(1u, 3'600'000u));
  return t;
}

int run_topics(const TopicsArgs& args) {
  const int actions =
      int{args.create} + int{args.list} + int{args.describe} + int{args.alter} + int{args.remove};
  if (actions != 1)
    return usage(kCommand, "give exactly one of --create, --list, --describe, --alter, --delete");
  if ((args.create || args.alter) && args.topics.size() != 1)
    return usage(kCommand,
                 std::string(args.create ? "--create" : "--alter") + " needs exactly one --topic");
  if (args.remove && args.topics.empty()) return usage(kCommand, "--delete needs --topic");
  if (args.list && !args.topics.empty()) return usage(kCommand, "--list takes no --topic");
  if (args.alter && !args.partitions) return usage(kCommand, "--alter needs --partitions");
  if (args.partitions && !args.create && !args.alter)
    return usage(kCommand, "--partitions goes with --create or --alter");
  if (!args.create && (args.replication_factor || !args.configs.empty() || args.if_not_exists))
    return usage(kCommand, "--replication-factor, --config and --if-not-exists go with --create");
  if (args.if_exists && !(args.alter || args.remove || args.describe))
    return usage(kCommand, "--if-exists goes with --alter, --delete or --describe");
  if (args.include_internal && !(args.list || args.describe))
    return usage(kCommand, "--include-internal goes with --list or --describe");
  std::map<std::string, std::string> configs;
  for (const auto& kv : args.configs) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return usage(kCommand, "--config '" + kv + "': expected KEY=VALUE");
    if (!configs.emplace(kv.substr(0, eq), kv.substr(eq + 1)).second)
      return usage(kCommand, "--config: '" + kv.substr(0, eq) + "' given twice");
  }
  auto bootstrap = parse_bootstrap(args.bootstrap);
  if (!bootstrap) return usage(kCommand, bootstrap.error().message());
  auto sasl = security_config(args.sasl);
  if (!sasl) return usage(kCommand, sasl.error().message());

  Session s(*bootstrap, args.timeout_ms, "ferry-topics", std::move(sasl).value());
  SyncAdmin admin(s, static_cast<int32_t>(args.timeout_ms));
  if (args.create) return create(admin, args, std::move(configs));
  if (args.list) return list(admin, args);
  if (args.describe) return describe(admin, args);
  if (args.alter) return alter(admin, args);
  return remove(admin, args);
}

}  // namespace ferry::app
