// Memory under saturation against NATS JetStream: peak resident memory and msg/s of
// `nats-server` (JetStream, file storage) absorbing 100 B messages published asynchronously with
// every ack awaited, and of `ferry serve` absorbing 100 B records from librdkafka at full load,
// in the same run. Both servers are child processes on 127.0.0.1 with ephemeral ports and data in
// a temporary directory; their VmRSS is sampled every 10 ms and VmHWM read at the end. Not a
// test: it prints figures and exits 0 unless something breaks (a server fails to start, an ack
// is an error, or acks or delivery reports go missing).
//
//   nats_bench [--ferry PATH] [--nats PATH] [--dir DIR] [--seconds S] [--window N]
//              [--ferry-config FILE]
//
// The NATS side speaks the client protocol over a plain socket: CONNECT, SUB to a reply inbox,
// $JS.API.STREAM.CREATE.<name> to create the stream, then PUB <subject> <inbox> with at most
// --window acks outstanding; JetStream answers each with a MSG on the inbox ({"stream":..,
// "seq":N} or {"error":..}).
//
// Threads: everything runs on the main thread (librdkafka's delivery reports inside
// rd_kafka_poll/flush) except the RSS sampler threads.
#include <librdkafka/rdkafka.h>
#include <poll.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "bench_proc.h"
#include "bench_rdkafka.h"

namespace {

using bench::Clock;
using bench::create_topic;
using bench::die;
using bench::make_client;
using bench::seconds_since;
using bench::set;
namespace fs = std::filesystem;

constexpr size_t kRecordBytes = 100;
constexpr int kIoTimeoutMs = 20000;  // no progress at all for this long is a failure

bench::Child g_child;  // the server currently running
std::string g_temp_dir;

void cleanup() {
  bench::kill_child(g_child);
  if (!g_temp_dir.empty()) {
    std::error_code ec;
    fs::remove_all(g_temp_dir, ec);
    g_temp_dir.clear();
  }
}

struct Row {
  std::string name;
  size_t messages = 0;
  double seconds = 0;
  long idle_kib = 0, hwm_kib = 0, sampled_kib = 0;
  double cpu_s = 0;
  double msgs_per_s() const { return static_cast<double>(messages) / seconds; }
};

// ---- NATS ---------------------------------------------------------------------------------------

class NatsConnection {
 public:
  explicit NatsConnection(uint16_t port) {
    fd_ = bench::connect_loopback(port);
    if (fd_ < 0) die("cannot connect to nats-server");
    std::string line = read_line();  // INFO {...}
    if (line.rfind("INFO ", 0) != 0) die("nats-server did not greet with INFO: " + line);
    send_all(
        "CONNECT {\"verbose\":false,\"pedantic\":false,\"lang\":\"c\",\"version\":\"0\","
        "\"protocol\":1,\"headers\":false}\r\nPING\r\n");
    for (;;) {
      line = read_line();
      if (line == "PONG") break;
      if (line.rfind("-ERR", 0) == 0) die("nats CONNECT: " + line);
    }
  }
  ~NatsConnection() { ::close(fd_); }
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  void send_all(std::string_view s) {
    while (!s.empty()) {
      ssize_t w = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd pfd{fd_, POLLOUT, 0};
        if (::poll(&pfd, 1, kIoTimeoutMs) <= 0) die("nats send timed out");
        continue;
      }
      if (w <= 0) die("nats send failed");
      s.remove_prefix(static_cast<size_t>(w));
    }
  }

  // Reads more bytes into the buffer; false on timeout.
  bool fill(int timeout_ms) {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) <= 0) return false;
    char tmp[65536];
    ssize_t r = ::recv(fd_, tmp, sizeof tmp, 0);
    if (r <= 0) die("nats-server closed the connection");
    in_.append(tmp, static_cast<size_t>(r));
    return true;
  }

  std::string read_line() {
    for (;;) {
      auto eol = in_.find("\r\n", pos_);
      if (eol != std::string::npos) {
        std::string line = in_.substr(pos_, eol - pos_);
        pos_ = eol + 2;
        compact();
        return line;
      }
      if (!fill(kIoTimeoutMs)) die("nats-server sent nothing for " + std::to_string(kIoTimeoutMs));
    }
  }

  // Handles every complete protocol message in the buffer; `on_msg(subject, payload)` for MSG.
  template <typename OnMsg>
  void drain(OnMsg on_msg) {
    for (;;) {
      auto eol = in_.find("\r\n", pos_);
      if (eol == std::string::npos) break;
      std::string_view line(in_.data() + pos_, eol - pos_);
      if (line.substr(0, 4) == "MSG ") {
        // MSG <subject> <sid> [reply-to] <#bytes>
        auto last = line.rfind(' ');
        size_t n = std::strtoul(std::string(line.substr(last + 1)).c_str(), nullptr, 10);
        if (in_.size() < eol + 2 + n + 2) break;  // payload not all here yet
        auto first = line.find(' ', 4);
        std::string subject(line.substr(4, first - 4));
        on_msg(subject, std::string_view(in_.data() + eol + 2, n));
        pos_ = eol + 2 + n + 2;
      } else {
        if (line == "PING") send_all("PONG\r\n");
        if (line.substr(0, 4) == "-ERR") die("nats-server: " + std::string(line));
        pos_ = eol + 2;
      }
    }
    compact();
  }

  int fd() const { return fd_; }

 private:
  void compact() {
    if (pos_ > 65536 || pos_ == in_.size()) {
      in_.erase(0, pos_);
      pos_ = 0;
    }
  }
  int fd_ = -1;
  std::string in_;
  size_t pos_ = 0;
};

Row run_nats(const std::string& nats_bin, const std::string& dir, double seconds, size_t window) {
  std::string store = dir + "/nats-store";
  fs::create_directories(store);
  g_child = bench::start_child(
      [&](uint16_t port) {
        return std::vector<std::string>{nats_bin, "-js",       "-sd", store,
                                        "-a",     "127.0.0.1", "-p",  std::to_string(port)};
      },
      dir + "/nats.log");
  Row row;
  row.name = "NATS JetStream";
  NatsConnection c(g_child.port);
  row.idle_kib = bench::proc_kib(g_child.pid, "VmRSS");
  c.send_all("SUB _INBOX.bench.> 1\r\n");

  // The stream: file storage, every message kept.
  const std::string cfg =
      R"({"name":"BENCH","subjects":["bench.data"],"storage":"file","retention":"limits",)"
      R"("max_msgs":-1,"max_bytes":-1,"num_replicas":1})";
  c.send_all("PUB $JS.API.STREAM.CREATE.BENCH _INBOX.bench.create " + std::to_string(cfg.size()) +
             "\r\n" + cfg + "\r\n");
  std::string answer;
  auto t_create = Clock::now();
  while (answer.empty()) {
    if (seconds_since(t_create) > 20) die("no answer to stream create");
    c.fill(1000);
    c.drain([&](const std::string&, std::string_view p) { answer = std::string(p); });
  }
  if (answer.find("\"error\"") != std::string::npos) die("stream create: " + answer);

  std::string payload(kRecordBytes, 'v');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = "0123456789.,:-{}temp"[(i * 7) % 20];
  const std::string pub =
      "PUB bench.data _INBOX.bench.ack " + std::to_string(kRecordBytes) + "\r\n" + payload + "\r\n";
  size_t sent = 0, acked = 0;
  uint64_t last_seq = 0;
  std::string error;
  auto on_ack = [&](const std::string& subject, std::string_view p) {
    if (subject != "_INBOX.bench.ack") return;
    ++acked;
    auto k = p.find("\"seq\":");
    if (k == std::string_view::npos) {
      if (error.empty()) error = std::string(p);
      return;
    }
    last_seq = std::strtoull(std::string(p.substr(k + 6, 24)).c_str(), nullptr, 10);
  };
  std::string out;
  bench::RssSampler sampler(g_child.pid);
  double cpu0 = bench::proc_cpu_s(g_child.pid);
  auto t = Clock::now();
  auto last_progress = t;
  while (seconds_since(t) < seconds || acked < sent) {
    out.clear();
    while (sent - acked < window && seconds_since(t) < seconds && out.size() < 256 * 1024) {
      out += pub;
      ++sent;
    }
    if (!out.empty()) c.send_all(out);
    size_t before = acked;
    c.fill(out.empty() ? 100 : 0);
    c.drain(on_ack);
    if (!error.empty()) die("JetStream ack: " + error);
    if (acked != before) last_progress = Clock::now();
    if (seconds_since(last_progress) * 1000 > kIoTimeoutMs)
      die("JetStream acks stopped at " + std::to_string(acked) + " of " + std::to_string(sent));
  }
  row.seconds = seconds_since(t);
  row.cpu_s = bench::proc_cpu_s(g_child.pid) - cpu0;
  row.messages = acked;
  if (last_seq != sent) die("JetStream's last ack seq " + std::to_string(last_seq) + " != sent");
  row.hwm_kib = bench::proc_kib(g_child.pid, "VmHWM");
  row.sampled_kib = sampler.max_kib();
  return row;
}

// ---- ferry --------------------------------------------------------------------------------------

struct Deliveries {
  size_t ok = 0, failed = 0;
  std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* d = static_cast<Deliveries*>(opaque);
  if (!m->err) {
    ++d->ok;
  } else if (d->failed++ == 0) {
    d->first_error = rd_kafka_err2str(m->err);
  }
}

// A fresh ferry per case, so that its VmHWM belongs to that case alone. Records go round-robin
// over the partitions.
Row run_ferry(const std::string& ferry_bin, const std::string& dir, const std::string& config,
              double seconds, int partitions, const char* acks) {
  std::string data_dir = dir + "/ferry-" + acks + "-p" + std::to_string(partitions);
  g_child = bench::start_child(
      [&](uint16_t port) {
        std::vector<std::string> args{ferry_bin,     "serve",
                                      "--data-dir",  data_dir,
                                      "--listen",    "127.0.0.1:" + std::to_string(port),
                                      "--log-level", "warn"};
        if (!config.empty()) {
          args.push_back("--config");
          args.push_back(config);
        }
        return args;
      },
      dir + "/ferry.log");
  Row row;
  row.name = std::string("ferry acks=") + acks + " p" + std::to_string(partitions);
  row.idle_kib = bench::proc_kib(g_child.pid, "VmRSS");
  std::string bootstrap = "127.0.0.1:" + std::to_string(g_child.port);
  create_topic(bootstrap, "bench", partitions);

  Deliveries d;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "acks", acks);
  set(conf, "linger.ms", "5");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &d);
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, conf);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, "bench", nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    die("metadata from ferry failed");
  rd_kafka_metadata_destroy(md);
  std::string value(kRecordBytes, 'v');
  for (size_t i = 0; i < value.size(); ++i) value[i] = "0123456789.,:-{}temp"[(i * 7) % 20];

  bench::RssSampler sampler(g_child.pid);
  double cpu0 = bench::proc_cpu_s(g_child.pid);
  auto t = Clock::now();
  size_t i = 0;
  while (seconds_since(t) < seconds) {
    int rc = rd_kafka_produce(rkt, static_cast<int32_t>(i % static_cast<size_t>(partitions)),
                              RD_KAFKA_MSG_F_COPY, value.data(), value.size(), nullptr, 0, nullptr);
    if (rc == 0) {
      if ((++i & 1023) == 0) rd_kafka_poll(rk, 0);
      continue;
    }
    if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      die(std::string("produce: ") + rd_kafka_err2str(rd_kafka_last_error()));
    rd_kafka_poll(rk, 1);
  }
  if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("flush to ferry timed out");
  row.seconds = seconds_since(t);
  row.cpu_s = bench::proc_cpu_s(g_child.pid) - cpu0;
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  if (d.failed) die(std::to_string(d.failed) + " deliveries to ferry failed: " + d.first_error);
  if (d.ok != i) die("delivery reports from ferry missing");
  row.messages = i;
  row.hwm_kib = bench::proc_kib(g_child.pid, "VmHWM");
  row.sampled_kib = sampler.max_kib();
  return row;
}

std::string find_ferry(const char* argv0) {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) self = fs::absolute(argv0);
  fs::path p = self.parent_path() / ".." / ".." / "src" / "app" / "ferry";
  return fs::weakly_canonical(p, ec).string();
}

}  // namespace

int main(int argc, char** argv) {
  bench::g_program = "nats_bench";
  bench::g_cleanup = cleanup;
  std::string ferry_bin = find_ferry(argv[0]);
  std::string nats_bin = "/usr/sbin/nats-server";
  std::string base = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  std::string ferry_config;
  double seconds = 8;
  size_t window = 4096;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--ferry")
      ferry_bin = value();
    else if (a == "--nats")
      nats_bin = value();
    else if (a == "--dir")
      base = value();
    else if (a == "--seconds")
      seconds = std::strtod(value().c_str(), nullptr);
    else if (a == "--window")
      window = std::strtoul(value().c_str(), nullptr, 10);
    else if (a == "--ferry-config")
      ferry_config = value();
    else
      die("unknown option " + a +
          " (options: --ferry PATH --nats PATH --dir DIR --seconds S --window N "
          "--ferry-config FILE)");
  }
  if (seconds <= 0 || window == 0) die("--seconds and --window must be > 0");
  if (::access(ferry_bin.c_str(), X_OK) != 0) die("no ferry binary at " + ferry_bin + " (--ferry)");
  if (::access(nats_bin.c_str(), X_OK) != 0)
    die("no nats-server at " + nats_bin + " (apt-get install nats-server, or --nats)");

  std::string tmpl = base + "/nats-bench-XXXXXX";
  if (!::mkdtemp(tmpl.data())) die("cannot create a directory under " + base);
  g_temp_dir = tmpl;

  std::printf(
      "nats_bench: %zu B messages for %.0f s per server; NATS: JetStream file storage, async "
      "publish with at most %zu acks outstanding, every ack awaited; ferry: librdkafka %s, "
      "linger.ms=5, defaults otherwise%s%s; data in %s\n\n",
      kRecordBytes, seconds, window, rd_kafka_version_str(),
      ferry_config.empty() ? "" : ", config ", ferry_config.c_str(), g_temp_dir.c_str());
  std::fflush(stdout);

  std::vector<Row> rows;
  std::fprintf(stderr, "  NATS JetStream ...\n");
  rows.push_back(run_nats(nats_bin, g_temp_dir, seconds, window));
  // nats-server exits with status 1 after a signal-driven shutdown; only a hang or crash counts.
  if (bench::stop_child(g_child) < 0) die("nats-server did not exit on SIGTERM");
  const std::pair<const char*, int> ferry_cases[] = {{"1", 1}, {"all", 1}, {"all", 8}};
  for (const auto& [acks, partitions] : ferry_cases) {
    std::fprintf(stderr, "  ferry acks=%s p%d ...\n", acks, partitions);
    rows.push_back(run_ferry(ferry_bin, g_temp_dir, ferry_config, seconds, partitions, acks));
    if (bench::stop_child(g_child) != 0) die("ferry did not exit cleanly on SIGTERM");
  }

  std::printf("%-16s %11s %8s %9s %14s %16s %9s %10s\n", "server", "msg/s", "MB/s", "idle MiB",
              "peak MiB (HWM)", "sampled max MiB", "CPU s", "msg/CPU-s");
  for (const auto& r : rows)
    std::printf("%-16s %11.0f %8.1f %9.1f %14.1f %16.1f %9.2f %10.0f\n", r.name.c_str(),
                r.msgs_per_s(), r.msgs_per_s() * kRecordBytes / 1e6, bench::mib(r.idle_kib),
                bench::mib(r.hwm_kib), bench::mib(r.sampled_kib), r.cpu_s,
                static_cast<double>(r.messages) / r.cpu_s);
  const Row& nats = rows[0];
  bool below = true, faster = true;
  for (size_t i = 1; i < rows.size(); ++i) {
    below = below && rows[i].hwm_kib < nats.hwm_kib;
    faster = faster && rows[i].msgs_per_s() >= nats.msgs_per_s();
  }
  std::printf("goal: ferry's peak RSS below NATS's at full load: %s; ferry's msg/s >= NATS's: %s\n",
              below ? "MET" : "NOT MET", faster ? "MET" : "NOT MET");
  cleanup();
  return 0;
}
