// `ferry produce`: writes lines from stdin (or a file) to a topic, one record per line.
//
//   ferry produce --topic T [--bootstrap HOST:PORT] [--partition P] [--key-separator SEP]
//                 [--compression none|lz4] [--acks 0|1|all] [--idempotent] [--file F]
//                 [--linger-ms N] [--batch-size BYTES] [--max-in-flight N]
//                 [-X linger.ms=N|batch.size=BYTES|max.in.flight.requests.per.connection=N|
//                     max.request.size=BYTES]... [--timeout MS] [--json]
//
// Batches fill up to --batch-size (default 1,000,000 bytes, as librdkafka's batch.size) while a
// partition waits for its request; every partition's batch to one broker goes in one request.
// Requests in flight per partition: up to --max-in-flight (default 5) with --idempotent (the
// broker's sequence checks keep the order across retries), else one, so that a retry cannot
// reorder records.
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
#include <vector>

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
  uint64_t batch_size = 1'000'000;
  int max_in_flight = 5;
  std::vector<std::string> properties;  // -X key=value, applied after the flags
  uint32_t timeout_ms = 30'000;
  bool json = false;
};

// Adds the `produce` subcommand and its options to `app`, filling `args` when parsed.
CLI::App* add_produce_command(CLI::App& app, ProduceArgs& args);

// Runs the parsed command; returns the process exit code.
int run_produce(const ProduceArgs& args);

}  // namespace ferry::app
