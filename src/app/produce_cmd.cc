// `ferry produce`: lines in, records out, through the client library's Producer on a private
// loop.
//
// Input is read on the loop thread (LineReader): lines already available are handed to the
// producer; when none is, the loop runs until input arrives, so the producer's timers and
// sockets are served meanwhile. Reading pauses while the producer holds more than kMaxPending
// records or kMaxPendingBytes of keys and values, so memory stays bounded however long the input
// is. The first failed delivery stops reading; what was queued is still flushed, and the error
// decides the exit code.
#include "app/produce_cmd.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstring>
#include <map>
#include <string_view>

#include "app/cli_common.h"
#include "app/cli_output.h"
#include "app/cli_session.h"
#include "client/client.h"
#include "client/producer.h"

namespace ferry::app {
namespace {

constexpr std::string_view kCommand = "produce";

using client::KafkaError;

// Records, and bytes of keys and values, held by the producer before reading pauses.
constexpr size_t kMaxPending = 100'000;
constexpr uint64_t kMaxPendingBytes = 64ull << 20;

struct PartitionSummary {
  uint64_t records = 0;
  int64_t first_offset = -1;
  int64_t last_offset = -1;
};

// What has been delivered so far.
struct Tally {
  uint64_t read = 0;  // lines read
  uint64_t delivered = 0;
  uint64_t bytes = 0;         // key + value bytes delivered
  uint64_t queued_bytes = 0;  // key + value bytes given to the producer, not yet reported
  std::map<int32_t, PartitionSummary> partitions;
  std::optional<KafkaError> error;  // the first failed delivery

  void report(const client::DeliveryReport& r, uint64_t record_bytes) {
    queued_bytes -= record_bytes;
    if (!r.offset) {
      if (!error) error = r.offset.error();
      return;
    }
    ++delivered;
    bytes += record_bytes;
    auto& s = partitions[r.partition];
    ++s.records;
    if (const int64_t offset = r.offset->value(); offset >= 0) {
      if (s.first_offset < 0 || offset < s.first_offset) s.first_offset = offset;
      s.last_offset = std::max(s.last_offset, offset);
    }
  }
};

// Applies one -X key=value (Kafka's producer property names) to the options; an error text if
// the key is unknown or the value out of range.
std::optional<std::string> apply_property(std::string_view kv, client::ProducerOptions& po) {
  const auto eq = kv.find('=');
  if (eq == std::string_view::npos) return "-X " + std::string(kv) + ": expected key=value";
  const std::string key(kv.substr(0, eq));
  const std::string value(kv.substr(eq + 1));
  uint64_t n = 0;
  const char* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, n);
  if (value.empty() || ec != std::errc() || ptr != end)
    return "-X " + key + ": '" + value + "' is not a non-negative integer";
  if (key == "linger.ms") {
    if (n > 60'000) return "-X linger.ms: at most 60000";
    po.linger_ms = n;
  } else if (key == "batch.size") {
    if (n < 1 || n > 64u << 20) return "-X batch.size: 1 to 67108864";
    po.batch_size = static_cast<size_t>(n);
  } else if (key == "max.in.flight.requests.per.connection" || key == "max.in.flight") {
    if (n < 1 || n > 5) return "-X " + key + ": 1 to 5";
    po.max_in_flight = static_cast<int>(n);
  } else if (key == "max.request.size") {
    if (n < 1024 || n > 64u << 20) return "-X max.request.size: 1024 to 67108864";
    po.max_request_size = static_cast<size_t>(n);
  } else {
    return "-X " + key +
           ": unknown (known: linger.ms, batch.size, max.in.flight.requests.per.connection, "
           "max.request.size)";
  }
  return std::nullopt;
}

// Lines from a file descriptor, read between loop turns. When no input is ready, the loop runs
// (the producer's timers and sockets) until it is, so that lines typed at a terminal go out as
// they are typed and lingering batches are sent while the input is quiet.
class LineReader {
 public:
  LineReader(uv_loop_t* loop, int fd) : loop_(loop), fd_(fd) {}

  // The next line without its '\n', valid until the next call; false at the end of the input
  // or on a read error (then error() is set).
  bool next(std::string_view& line) {
    for (;;) {
      const char* begin = buf_.data() + pos_;
      if (const void* nl = std::memchr(begin, '\n', buf_.size() - pos_); nl != nullptr) {
        const auto n = static_cast<size_t>(static_cast<const char*>(nl) - begin);
        line = std::string_view(begin, n);
        pos_ += n + 1;
        return true;
      }
      if (eof_) {
        if (pos_ == buf_.size()) return false;
        line = std::string_view(begin, buf_.size() - pos_);  // a last line without '\n'
        pos_ = buf_.size();
        return true;
      }
      buf_.erase(0, pos_);
      pos_ = 0;
      fill();
    }
  }
  int error() const noexcept { return error_; }

 private:
  void fill() {
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, 0);
    if (r == 0) {
      wait_readable();
      return;
    }
    // Read straight into the buffer's tail (256 KiB at a time).
    constexpr size_t kChunk = 256 * 1024;
    const size_t had = buf_.size();
    buf_.resize(had + kChunk);
    const ssize_t n = ::read(fd_, buf_.data() + had, kChunk);
    const int read_errno = errno;
    buf_.resize(had + (n > 0 ? static_cast<size_t>(n) : 0));
    if (n == 0) {
      eof_ = true;
    } else if (n < 0 && read_errno != EINTR && read_errno != EAGAIN) {
      error_ = read_errno;
      eof_ = true;
    }
  }
  // Runs the loop until the descriptor is readable (a terminal or a pipe; regular files always
  // are, and never get here).
  void wait_readable() {
    auto* h = new uv_poll_t;
    bool ready = false;
    if (uv_poll_init(loop_, h, fd_) != 0) {
      delete h;
      uv_run(loop_, UV_RUN_NOWAIT);
      return;
    }
    h->data = &ready;
    uv_poll_start(h, UV_READABLE, [](uv_poll_t* ph, int, int) {
      *static_cast<bool*>(ph->data) = true;
      uv_poll_stop(ph);
    });
    while (!ready) uv_run(loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(h),
             [](uv_handle_t* ch) { delete reinterpret_cast<uv_poll_t*>(ch); });
  }

  uv_loop_t* loop_;
  int fd_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  int error_ = 0;
};

}  // namespace

CLI::App* add_produce_command(CLI::App& app, ProduceArgs& a) {
  auto* p = app.add_subcommand("produce", "Write lines from stdin (or a file) to a topic");
  p->add_option("--topic", a.topic, "The topic to write to")->required();
  p->add_option("--bootstrap", a.bootstrap, "HOST:PORT of a broker (default 127.0.0.1:9092)");
  add_sasl_options(p, a.sasl);
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
  p->add_option("--batch-size", a.batch_size,
                "Bytes of records per batch (batch.size, default 1000000)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{64} << 20));
  p->add_option("--max-in-flight", a.max_in_flight,
                "Requests in flight per partition with --idempotent, 1-5 (default 5); one "
                "without it")
      ->check(CLI::Range(1, 5));
  p->add_option("-X", a.properties,
                "KEY=VALUE producer property: linger.ms, batch.size, "
                "max.in.flight.requests.per.connection, max.request.size");
  p->add_option("--timeout", a.timeout_ms,
                "Connect, request and delivery timeout in ms (default 30000)")
      ->check(CLI::Range(1u, 3'600'000u));
  p->add_flag("--json", a.json, "Machine-readable summary");
  return p;
}

int run_produce(const ProduceArgs& args) {
  auto bootstrap = parse_bootstrap(args.bootstrap);
  if (!bootstrap) return usage(kCommand, bootstrap.error().message());
  auto sasl = security_config(args.sasl);
  if (!sasl) return usage(kCommand, sasl.error().message());
  if (args.topic.empty()) return usage(kCommand, "--topic must not be empty");
  if (args.key_separator && args.key_separator->empty())
    return usage(kCommand, "--key-separator must not be empty");
  const int16_t acks = args.acks == "all" || args.acks == "-1" ? int16_t{-1}
                       : args.acks == "1"                      ? int16_t{1}
                                                               : int16_t{0};
  if (args.idempotent && acks != -1) return usage(kCommand, "--idempotent needs --acks all");

  int fd = STDIN_FILENO;
  if (args.file) {
    fd = ::open(args.file->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return usage(kCommand, "--file '" + *args.file + "': " + std::strerror(errno));
  }
  struct CloseFd {
    int fd;
    ~CloseFd() {
      if (fd != STDIN_FILENO) ::close(fd);
    }
  } close_fd{fd};

  auto session = std::make_unique<Session>(*bootstrap, args.timeout_ms, "ferry-produce",
                                           std::move(sasl).value());
  uv_loop_t* loop = session->loop();
  client::ProducerOptions po;
  po.acks = acks;
  po.idempotent = args.idempotent;
  po.compression =
      args.compression == "lz4" ? protocol::Compression::lz4 : protocol::Compression::none;
  po.linger_ms = args.linger_ms;
  po.batch_size = static_cast<size_t>(args.batch_size);
  po.max_in_flight = args.max_in_flight;
  for (const auto& kv : args.properties) {
    if (auto bad = apply_property(kv, po)) return usage(kCommand, *bad);
  }
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
  LineReader reader(loop, fd);
  std::string_view line;
  while (!tally.error && reader.next(line)) {
    client::ProducerRecord rec;
    rec.topic = args.topic;
    rec.partition = args.partition;
    size_t sep = std::string_view::npos;
    if (args.key_separator) sep = line.find(*args.key_separator);
    if (sep != std::string_view::npos) {
      rec.key.emplace(line.substr(0, sep));
      rec.value.emplace(line.substr(sep + args.key_separator->size()));
    } else {
      rec.value.emplace(line);
    }
    const uint64_t bytes = (rec.key ? rec.key->size() : 0) + rec.value->size();
    tally.queued_bytes += bytes;
    // Two words of captures: std::function keeps them without allocating.
    producer->produce(std::move(rec), [t = &tally, bytes](const client::DeliveryReport& r) {
      t->report(r, bytes);
    });
    if (++tally.read % 1000 == 0) {
      uv_run(loop, UV_RUN_NOWAIT);
      show_progress(tally, false);
    }
    while ((producer->pending() > kMaxPending || tally.queued_bytes > kMaxPendingBytes) &&
           !tally.error) {
      uv_run(loop, UV_RUN_ONCE);
      show_progress(tally, false);
    }
  }
  const bool input_failed = reader.error() != 0;

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
  if (tally.error) return kafka_failure(kCommand, *tally.error);
  if (input_failed) {
    std::fprintf(stderr, "ferry produce: reading the input: %s\n", std::strerror(reader.error()));
    return kKafkaError;
  }
  return kOk;
}

}  // namespace ferry::app
