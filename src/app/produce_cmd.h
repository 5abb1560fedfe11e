// `ferry produce`: writes lines from stdin (or a file) to a topic, one record per line.
//
//   ferry produce --topic T [--bootstrap HOST:PORT] [--partition P] [--key-separator SEP]
//                 [--compression none|lz4] [--acks 0|1|all] [--idempotent] [--file F]
//                 [--linger-ms N] [--timeout MS] [--json]
//
// It is a Kafka client (client/producer.h) and works against any Kafka-compatible broker. At the
// end it prints a summary: records, bytes, the offset range written to each partition, the time
// taken (--json: one JSON document). Exit codes: 0 ok, 1 a Kafka or connection error (printed as
// `ferry produce: NAME: message`), 2 usage.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "app/cli_session.h"

namespace ferry::app {

struct ProduceArgs {
  std::string bootstrap = "127.0.0.1:9092";
  SaslArgs sasl;
  std::string topic;
  std::optional<int32_t> partition;
  std::optional<std::string> key_separator;
  std::string compression = "none";
  std::string acks = "all";
  bool idempotent = false;
  std::optional<std::string> file;
  uint64_t linger_ms = 5;
  uint32_t timeout_ms = 30'000;
  bool json = false;
};

// Adds the `produce` subcommand and its options to `app`, filling `args` when parsed.
CLI::App* add_produce_command(CLI::App& app, ProduceArgs& args);

// Runs the parsed command; returns the process exit code.
int run_produce(const ProduceArgs& args);

}  // namespace ferry::app
