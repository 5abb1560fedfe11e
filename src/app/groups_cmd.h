// `ferry groups`: the consumer-group operator command, after Kafka's kafka-consumer-groups.sh.
//
//   ferry groups [--bootstrap HOST:PORT] --list
//   ferry groups --describe --group G
//   ferry groups --delete --group G
//   ferry groups --reset-offsets --group G --topic T (--to-earliest | --to-latest |
//                --to-offset N | --to-datetime ISO8601 | --shift-by N) [--execute]
//   ferry groups --translate --group G --mirror NAME --config FERRY_TOML [--data-dir DIR]
//                [--to-bootstrap HOST:PORT] [--target-group G2] [--execute]
//                (groups_translate.h)
//
// It talks to a running broker (any Kafka-compatible one) through the client library. Exit
// codes: 0 ok, 1 a Kafka or connection error (its name and message are printed), 2 usage.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/cli_session.h"

namespace ferry::app {

struct GroupsArgs {
  std::string bootstrap = "127.0.0.1:9092";
  SaslArgs sasl;
  bool list = false;
  bool describe = false;
  bool remove = false;     // --delete
  bool reset = false;      // --reset-offsets
  bool translate = false;  // --translate (groups_translate.h)
  std::optional<std::string> mirror;
  std::optional<std::string> config_file;
  std::optional<std::string> data_dir;  // overrides the config's data.dir
  std::optional<std::string> to_bootstrap;
  std::optional<std::string> target_group;
  std::optional<std::string> group;
  std::vector<std::string> topics;
  bool to_earliest = false;
  bool to_latest = false;
  std::optional<int64_t> to_offset;
  std::optional<std::string> to_datetime;
  std::optional<int64_t> shift_by;
  bool execute = false;
  bool json = false;
  uint32_t timeout_ms = 10'000;
};

// Adds the `groups` subcommand and its options to `app`, filling `args` when parsed.
CLI::App* add_groups_command(CLI::App& app, GroupsArgs& args);

// Runs the parsed command; returns the process exit code.
int run_groups(const GroupsArgs& args);

}  // namespace ferry::app
