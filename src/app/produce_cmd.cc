// `ferry produce`: lines in, records out, through the client library's Producer on a private
// loop.
//
// Input is read on the loop thread between loop turns: a block of lines is handed to the
// producer, then the loop runs until the producer has sent most of what it holds (so memory
// stays bounded however long the input is). The first failed delivery stops reading; what was
// queued is still flushed, and the error decides the exit code.
#include "app/produce_cmd.h"

#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <map>

#include "app/cli_output.h"
#include "app/cli_session.h"
#include "client/client.h"
#include "client/producer.h"

namespace ferry::app {
namespace {

using client::KafkaError;

constexpr int kOk = 0;
constexpr int kKafkaError = 1;
constexpr int kUsage = 2;
// Records held by the producer before reading pauses.
constexpr size_t kMaxPending = 20'000;

int usage(const std::string& message) {
  std::fprintf(stderr, "ferry produce: %s\n", message.c_str());
  return kUsage;
}

struct PartitionSummary {
  uint64_t records = 0;
  int64_t first_offset = -1;
  int64_t last_offset = -1;
};

// What has been delivered so far.
struct Tally {
  uint64_t read = 0;  // lines read
  uint64_t delivered = 0;
  uint64_t bytes = 0;  // key + value bytes delivered
  std::map<int32_t, PartitionSummary> partitions;
  std::optional<KafkaError> error;  // the first failed delivery
};

// Reads one line without its '\n'; false at the end of the input.
bool read_line(std::FILE* in, std::string& line) {
  line.clear();
  int c;
  bool any = false;
  while ((c = std::fgetc(in)) != EOF) {
    any = true;
    if (c == '\n') return true;
    line += static_cast<char>(c);
  }
  return any;
}

}  // namespace

CLI::App* add_produce_command(CLI::App& app, ProduceArgs& a) {
  auto* p = app.add_subcommand("produce", "Write lines from stdin (or a file) to a topic");
  p->add_option("--topic", a.topic, "The topic to write to")->required();
  p->add_option("--bootstrap", a.bootstrap, "HOST:PORT of a broker (default 127.0.0.1:9092)");
  p->add_option("--partition", a.partition, "Write every record to this partition")
      ->check(CLI::Range(0, INT32_MAX));
  p->add_option("--key-separator", a.key_separator,
                "Split each line at the first SEP into key and value");
  p->add_option("--compression", a.compression, "none or lz4 (default none)")
      ->check(CLI::IsMember({"none", "lz4"}));
  p->add_option("--acks", a.acks, "0, 1 or all (default all)")
      ->check(CLI::IsMember({"0", "1", "all", "-1"}));
  p->add_flag("--idempotent", a.idempotent, "Idempotent producer (needs --acks all)");
  p->add_option("--file", a.file, "Read lines from this file instead of stdin")
      ->check(CLI::ExistingFile);
  p->add_option("--linger-ms", a.linger_ms, "Wait up to N ms to fill a batch (default 5)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{60'000}));
  p->add_option("--timeout", a.timeout_ms,
                "Connect, request and delivery timeout in ms (default 30000)")
      ->check(CLI::Range(1u, 3'600'000u));
  p->add_flag("--json", a.json, "Machine-readable summary");
  return p;
}

int run_produce(const ProduceArgs& args) {
  auto bootstrap = parse_bootstrap(args.bootstrap);
  if (!bootstrap) return usage(bootstrap.error().message());
  if (args.topic.empty()) return usage("--topic must not be empty");
  if (args.key_separator && args.key_separator->empty())
    return usage("--key-separator must not be empty");
  const int16_t acks = args.acks == "all" || args.acks == "-1" ? int16_t{-1}
                       : args.acks == "1"                      ? int16_t{1}
                                                               : int16_t{0};
  if (args.idempotent && acks != -1) return usage("--idempotent needs --acks all");

  std::FILE* in = stdin;
  if (args.file) {
    in = std::fopen(args.file->c_str(), "rb");
    if (in == nullptr) return usage("--file '" + *args.file + "': cannot open");
  }

  auto session = std::make_unique<Session>(*bootstrap, args.timeout_ms, "ferry-produce");
  uv_loop_t* loop = session->loop();
  client::ProducerOptions po;
  po.acks = acks;
  po.idempotent = args.idempotent;
  po.compression =
      args.compression == "lz4" ? protocol::Compression::lz4 : protocol::Compression::none;
  po.linger_ms = args.linger_ms;
  po.request_timeout_ms = static_cast<int32_t>(args.timeout_ms);
  po.delivery_timeout_ms = args.timeout_ms;
  auto producer = std::make_unique<client::Producer>(session->client(), po);

  const auto start = std::chrono::steady_clock::now();
  const bool progress = isatty(STDOUT_FILENO) != 0;
  auto last_progress = start;
  auto show_progress = [&](const Tally& t, bool final_line) {
    if (!progress) return;
    const auto now = std::chrono::steady_clock::now();
    if (!final_line && now - last_progress < std::chrono::seconds(1)) return;
    if (!final_line && now - start < std::chrono::seconds(2)) return;  // short runs stay quiet
    last_progress = now;
    std::fprintf(stderr, "\r%" PRIu64 " records read, %" PRIu64 " delivered%s", t.read, t.delivered,
                 final_line ? "\n" : "");
  };

  Tally tally;
  auto report = [&tally](const client::DeliveryReport& r) {
    if (!r.offset) {
      if (!tally.error) tally.error = r.offset.error();
      return;
    }
    ++tally.delivered;
    auto& s = tally.partitions[r.partition];
    ++s.records;
    if (*r.offset >= 0) {
      if (s.first_offset < 0 || *r.offset < s.first_offset) s.first_offset = *r.offset;
      s.last_offset = std::max(s.last_offset, *r.offset);
    }
  };

  std::string line;
  bool more = true;
  while (more && !tally.error) {
    for (int i = 0; i < 1000 && (more = read_line(in, line)); ++i) {
      client::ProducerRecord rec;
      rec.topic = args.topic;
      rec.partition = args.partition;
      size_t sep = std::string::npos;
      if (args.key_separator) sep = line.find(*args.key_separator);
      if (sep != std::string::npos) {
        rec.key = line.substr(0, sep);
        rec.value = line.substr(sep + args.key_separator->size());
      } else {
        rec.value = line;
      }
      const uint64_t bytes = (rec.key ? rec.key->size() : 0) + rec.value->size();
      producer->produce(std::move(rec), [&tally, &report, bytes](const client::DeliveryReport& r) {
        if (r.offset) tally.bytes += bytes;
        report(r);
      });
      ++tally.read;
    }
    uv_run(loop, UV_RUN_NOWAIT);
    while (producer->pending() > kMaxPending && !tally.error) {
      uv_run(loop, UV_RUN_ONCE);
      show_progress(tally, false);
    }
    show_progress(tally, false);
  }
  if (in != stdin) std::fclose(in);

  bool flushed = false;
  producer->flush([&flushed] { flushed = true; });
  while (!flushed) {
    uv_run(loop, UV_RUN_ONCE);
    show_progress(tally, false);
  }
  if (progress && std::chrono::steady_clock::now() - start >= std::chrono::seconds(2))
    show_progress(tally, true);
  producer.reset();
  session.reset();  // closes the connections and the loop

  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  if (args.json) {
    std::string out = "{\"topic\":" + json_string(args.topic) +
                      ",\"records\":" + std::to_string(tally.delivered) +
                      ",\"bytes\":" + std::to_string(tally.bytes) +
                      ",\"elapsed_ms\":" + std::to_string(elapsed_ms) + ",\"partitions\":[";
    bool first = true;
    for (const auto& [p, s] : tally.partitions) {
      if (!first) out += ",";
      first = false;
      out += "{\"partition\":" + std::to_string(p) + ",\"records\":" + std::to_string(s.records) +
             ",\"first_offset\":" + json_int_or_null(s.first_offset) +
             ",\"last_offset\":" + json_int_or_null(s.last_offset) + "}";
    }
    out += "]";
    if (tally.error) {
      out += ",\"error\":{\"name\":" + json_string(tally.error->name()) +
             ",\"message\":" + json_string(tally.error->message()) + "}";
    }
    std::printf("%s}\n", out.c_str());
  } else {
    std::printf("%" PRIu64 " records (%" PRIu64 " bytes) to %s in %.3f s\n", tally.delivered,
                tally.bytes, args.topic.c_str(), static_cast<double>(elapsed_ms) / 1000.0);
    for (const auto& [p, s] : tally.partitions) {
      if (s.first_offset < 0) {
        std::printf("  partition %d: %" PRIu64 " records (offsets not reported with acks=0)\n", p,
                    s.records);
      } else {
        std::printf("  partition %d: %" PRIu64 " records, offsets %" PRId64 "-%" PRId64 "\n", p,
                    s.records, s.first_offset, s.last_offset);
      }
    }
  }
  if (tally.error) {
    std::fprintf(stderr, "ferry produce: %s\n", tally.error->to_string().c_str());
    return kKafkaError;
  }
  return kOk;
}

}  // namespace ferry::app
