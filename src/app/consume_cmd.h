// `ferry consume`: reads records of a topic and prints them, after Kafka's
// kafka-console-consumer.sh and kcat -C.
//
//   ferry consume --topic T [--bootstrap HOST:PORT] [--from-beginning] [--group G]
//                 [--partition P [--offset O|earliest|latest]] [--max-messages N]
//                 [--print-key] [--print-offset] [--print-partition] [--key-separator SEP]
//                 [--timeout-ms N] [--json]
//
// Without --group every partition is assigned and read from the log start (--from-beginning)
// or end; with --group the consumer joins the group, starts from its committed offsets and
// commits what it printed. Stops after --max-messages records, after --timeout-ms without a new
// record, or on SIGINT/SIGTERM. Exit codes: 0 ok (also when it stopped idle), 1 a Kafka or
// connection error (`ferry consume: NAME: message`), 2 usage.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "app/cli_session.h"

namespace ferry::app {

struct ConsumeArgs {
  std::string bootstrap = "127.0.0.1:9092";
  SaslArgs sasl;
  std::string topic;
  bool from_beginning = false;
  std::optional<std::string> group;
  std::optional<int64_t> max_messages;
  std::optional<int32_t> partition;
  std::optional<std::string> offset;  // a number, earliest or latest
  bool print_key = false;
  bool print_offset = false;
  bool print_partition = false;
  std::string key_separator = "\t";
  std::optional<uint32_t> timeout_ms;
  bool json = false;
};

// Adds the `consume` subcommand and its options to `app`, filling `args` when parsed.
CLI::App* add_consume_command(CLI::App& app, ConsumeArgs& args);

// Runs the parsed command; returns the process exit code.
int run_consume(const ConsumeArgs& args);

}  // namespace ferry::app
