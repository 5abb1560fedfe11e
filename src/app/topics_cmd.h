// `ferry topics`: the topic operator command, after Kafka's kafka-topics.sh.
//
//   ferry topics [--bootstrap HOST:PORT] --create --topic T [--partitions N]
//                [--replication-factor R] [--config k=v ...] [--if-not-exists]
//   ferry topics --list
//   ferry topics --describe [--topic T ...]
//   ferry topics --alter --topic T --partitions N
//   ferry topics --delete --topic T [--if-exists]
//
// It talks to a running broker (any Kafka-compatible one) through the client library's Admin
// (client/admin.h). Exit codes: 0 ok, 1 a Kafka or connection error (its name and message are
// printed), 2 usage.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/cli_session.h"

namespace ferry::app {

struct TopicsArgs {
  std::string bootstrap = "127.0.0.1:9092";
  SaslArgs sasl;
  bool create = false;
  bool list = false;
  bool describe = false;
  bool alter = false;
  bool remove = false;  // --delete
  std::vector<std::string> topics;
  std::optional<int32_t> partitions;
  std::optional<int32_t> replication_factor;
  std::vector<std::string> configs;  // k=v
  bool if_not_exists = false;
  bool if_exists = false;
  bool include_internal = false;
  bool json = false;
  uint32_t timeout_ms = 10'000;
};

// Adds the `topics` subcommand and its options to `app`, filling `args` when parsed.
CLI::App* add_topics_command(CLI::App& app, TopicsArgs& args);

// Runs the parsed command; returns the process exit code.
int run_topics(const TopicsArgs& args);

}  // namespace ferry::app
