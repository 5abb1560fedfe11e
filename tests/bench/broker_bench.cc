// End-to-end broker benchmark: produce and consume throughput of a real librdkafka client against
// `ferry serve` (a child process persisting to disk) and, in the same run with the same client
// configuration, against librdkafka's in-memory mock cluster (in this process). The figures are
// printed as ratios ferry / mock, since the machines are shared and noisy. It also samples the
// ferry child's resident memory. Not a test: it prints figures and exits 0 unless something
// breaks (a broker fails to start or stop cleanly, or records go missing).
//
//   broker_bench [--ferry PATH] [--dir DIR] [--scale F] [--case TEXT] [--no-lz4]
//                [--ferry-log FILE]
//
// Threads: everything here runs on the main thread, including librdkafka's delivery-report
// callbacks (they fire inside rd_kafka_poll/rd_kafka_flush), except the RSS sampler thread,
// which only reads /proc/PID/status and one atomic.
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_proc.h"
#include "bench_rdkafka.h"

namespace {

using bench::Clock;
using bench::create_topic;
using bench::die;
using bench::make_client;
using bench::proc_kib;
using bench::RssSampler;
using bench::seconds_since;
using bench::set;
namespace fs = std::filesystem;

constexpr int kReadyTimeoutS = 20;  // ferry start to accepting connections
constexpr int kStopTimeoutS = 15;   // SIGTERM to exit
constexpr int kCaseTimeoutS = 120;  // one produce or consume phase

// The ferry child and its data directory, so that every exit path can clean up.
bench::Child g_ferry;
std::string g_temp_dir;

void cleanup() {
  bench::kill_child(g_ferry);
  if (!g_temp_dir.empty()) {
    std::error_code ec;
    fs::remove_all(g_temp_dir, ec);
    g_temp_dir.clear();
  }
}

// ---- the ferry child ---------------------------------------------------------------------------

// Starts `ferry serve` on a free port, in the benchmark's own session (so it shares the CPU as the
// figures in docs/benchmarks.md were taken), with its log in `log_path`; returns its port once it
// accepts connections.
uint16_t start_ferry(const std::string& binary, const std::string& data_dir,
                     const std::string& log_path) {
  g_ferry = bench::start_child(
      [&](uint16_t port) {
        return std::vector<std::string>{binary,        "serve",
                                        "--data-dir",  data_dir,
                                        "--listen",    "127.0.0.1:" + std::to_string(port),
                                        "--log-level", "info"};  // info: group commit lines
      },
      log_path, kReadyTimeoutS, /*new_session=*/false);
  return g_ferry.port;
}

// ---- the client ---------------------------------------------------------------------------------

struct Case {
  size_t record_bytes;
  int partitions;
  const char* acks;  // "1" or "all"
  const char* compression;
  size_t records;
  bool idempotent = false;  // enable.idempotence=true (producer ids and sequence checks)
  std::string name() const {
    std::string s = record_bytes >= 1024 ? std::to_string(record_bytes / 1024) + " KiB"
                                         : std::to_string(record_bytes) + " B";
    s += " p" + std::to_string(partitions) + " acks=" + acks;
    if (std::strcmp(compression, "none") != 0) s += std::string(" ") + compression;
    if (idempotent) s += " idempotent";
    return s;
  }
  std::string topic() const {
    return "bench-" + std::to_string(record_bytes) + "-p" + std::to_string(partitions) + "-" +
           acks + "-" + compression + (idempotent ? "-idem" : "");
  }
};

struct Result {
  double msgs_per_s = 0;
  double mb_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

// Delivery reports, collected on the main thread (inside rd_kafka_poll / rd_kafka_flush).
struct DeliveryLog {
  Clock::time_point epoch;
  std::vector<float> latency_ms;
  size_t failed = 0;
  std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* log = static_cast<DeliveryLog*>(opaque);
  if (m->err) {
    if (log->failed++ == 0) log->first_error = rd_kafka_err2str(m->err);
    return;
  }
  auto sent_ns = static_cast<int64_t>(reinterpret_cast<uintptr_t>(m->_private));
  auto now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - log->epoch).count();
  log->latency_ms.push_back(static_cast<float>(static_cast<double>(now_ns - sent_ns) / 1e6));
}

// Sensor-like values (digits and a few letters): compressible, as gateway data is, so the lz4
// case means something; content does not matter to the uncompressed cases.
std::vector<std::string> make_values(size_t bytes) {
  std::vector<std::string> v(64, std::string(bytes, ' '));
  uint32_t x = 0x9E3779B9u;
  const char alphabet[] = "0123456789.,:-{}temp";
  for (auto& s : v)
    for (auto& c : s) {
      x = x * 1664525u + 1013904223u;
      c = alphabet[(x >> 24) % (sizeof alphabet - 1)];
    }
  return v;
}

Result produce(const std::string& bootstrap, const Case& c) {
  DeliveryLog dl;
  dl.latency_ms.reserve(c.records);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "acks", c.acks);
  set(conf, "linger.ms", "5");
  set(conf, "compression.type", c.compression);
  if (c.idempotent) set(conf, "enable.idempotence", "true");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &dl);
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, conf);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, c.topic().c_str(), nullptr);
  // Connect and learn the leaders before the clock starts.
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    die("metadata for " + c.topic() + " from " + bootstrap + " failed");
  rd_kafka_metadata_destroy(md);

  auto values = make_values(c.record_bytes);
  dl.epoch = Clock::now();
  auto t = Clock::now();
  for (size_t i = 0; i < c.records; ++i) {
    auto sent_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - dl.epoch).count();
    auto& value = values[i % values.size()];
    for (;;) {
      int rc = rd_kafka_produce(rkt, static_cast<int32_t>(i % static_cast<size_t>(c.partitions)),
                                RD_KAFKA_MSG_F_COPY, value.data(), value.size(), nullptr, 0,
                                reinterpret_cast<void*>(static_cast<uintptr_t>(sent_ns)));
      if (rc == 0) break;
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        die(std::string("produce: ") + rd_kafka_err2str(rd_kafka_last_error()));
      rd_kafka_poll(rk, 1);  // local queue full: serve delivery reports, then retry
      if (seconds_since(t) > kCaseTimeoutS) die("produce " + c.name() + " timed out");
    }
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  if (rd_kafka_flush(rk, kCaseTimeoutS * 1000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    die("produce " + c.name() + " to " + bootstrap + ": flush timed out");
  double s = seconds_since(t);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  if (dl.failed)
    die("produce " + c.name() + " to " + bootstrap + ": " + std::to_string(dl.failed) +
        " failed deliveries, first: " + dl.first_error);
  if (dl.latency_ms.size() != c.records) die("produce " + c.name() + ": delivery reports missing");

  Result r;
  r.msgs_per_s = static_cast<double>(c.records) / s;
  r.mb_per_s = static_cast<double>(c.records * c.record_bytes) / s / 1e6;
  auto pct = [&](double p) {
    size_t k = std::min(dl.latency_ms.size() - 1,
                        static_cast<size_t>(p * static_cast<double>(dl.latency_ms.size())));
    std::nth_element(dl.latency_ms.begin(), dl.latency_ms.begin() + static_cast<ptrdiff_t>(k),
                     dl.latency_ms.end());
    return static_cast<double>(dl.latency_ms[k]);
  };
  r.p50_ms = pct(0.50);
  r.p99_ms = pct(0.99);
  return r;
}

// Offsets to read per partition, [from, to), and how many times to read them.
struct ReadPlan {
  std::vector<int64_t> from, to;
  size_t passes = 1;
  size_t records() const {
    size_t n = 0;
    for (size_t p = 0; p < from.size(); ++p) n += static_cast<size_t>(to[p] - from[p]);
    return n * passes;
  }
};

// The log start and end offsets of each partition of `c.topic()` (ListOffsets).
ReadPlan retained(const std::string& bootstrap, const Case& c) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, conf);
  ReadPlan plan;
  for (int p = 0; p < c.partitions; ++p) {
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk, c.topic().c_str(), p, &lo, &hi, 10000))
      die("watermarks of " + c.topic() + " from " + bootstrap + " failed");
    plan.from.push_back(lo);
    plan.to.push_back(hi);
  }
  rd_kafka_destroy(rk);
  return plan;
}

// Reads the plan's offsets with the simple (group-less) consumer API, all partitions through one
// queue, `plan.passes` times; checks the count and the value sizes. Each pass is a fresh client
// (connected and with metadata before its clock starts) and its time runs from starting the
// partitions to the last record: a client that reached the end of a log has a fetch parked at
// the broker for fetch.wait.max.ms, which would hold up a restart on the same connection.
Result consume(const std::string& bootstrap, const Case& c, const ReadPlan& plan) {
  // Small batches with a 1 ms wait: consume_batch waits for a full batch or the timeout, so a
  // large batch or a long wait would add a stall at the tail of every pass.
  std::vector<rd_kafka_message_t*> batch(1000);
  size_t total = 0, bytes = 0;
  std::string error;
  double s = 0;
  auto t = Clock::now();
  for (size_t pass = 0; pass < plan.passes && error.empty(); ++pass) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "enable.partition.eof", "false");
    rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, conf);
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, c.topic().c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      die("metadata for " + c.topic() + " from " + bootstrap + " failed");
    rd_kafka_metadata_destroy(md);
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);

    size_t want = 0, got = 0;
    auto pass_start = Clock::now();
    for (int p = 0; p < c.partitions; ++p) {
      auto i = static_cast<size_t>(p);
      if (plan.from[i] >= plan.to[i]) continue;
      want += static_cast<size_t>(plan.to[i] - plan.from[i]);
      if (rd_kafka_consume_start_queue(rkt, p, plan.from[i], q) != 0)
        die("consume_start: " + std::string(rd_kafka_err2str(rd_kafka_last_error())));
    }
    while (got < want && error.empty()) {
      if (seconds_since(t) > kCaseTimeoutS) {
        error = "timed out with " + std::to_string(got) + " of " + std::to_string(want) +
                " in pass " + std::to_string(pass + 1);
        break;
      }
      ssize_t n = rd_kafka_consume_batch_queue(q, 1, batch.data(), batch.size());
      for (ssize_t i = 0; i < n; ++i) {
        rd_kafka_message_t* m = batch[static_cast<size_t>(i)];
        auto part = static_cast<size_t>(m->partition);
        if (m->err) {
          if (error.empty()) error = rd_kafka_message_errstr(m);
        } else if (m->len != c.record_bytes) {
          if (error.empty()) error = "a record of " + std::to_string(m->len) + " bytes";
        } else if (m->offset < plan.from[part] || m->offset >= plan.to[part]) {
          if (error.empty()) error = "offset " + std::to_string(m->offset) + " out of range";
        } else {
          ++got;
          bytes += m->len;
        }
        rd_kafka_message_destroy(m);
      }
    }
    s += seconds_since(pass_start);
    total += got;
    for (int p = 0; p < c.partitions; ++p)
      if (plan.from[static_cast<size_t>(p)] < plan.to[static_cast<size_t>(p)])
        rd_kafka_consume_stop(rkt, p);
    rd_kafka_queue_destroy(q);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
  }
  if (!error.empty()) die("consume " + c.name() + " from " + bootstrap + ": " + error);
  if (total != plan.records()) die("consume " + c.name() + ": count mismatch");
  return {static_cast<double>(total) / s, static_cast<double>(bytes) / s / 1e6, 0, 0};
}

// The disk's own speed in the same run: 256 MiB written with 1 MiB pwrites then fdatasync'ed,
// in the data directory's filesystem. Produce figures are read against it: ferry persists every
// byte, the mock keeps them in memory.
double disk_write_mb_per_s(const std::string& dir) {
  const std::string path = dir + "/disk-baseline";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("cannot create " + path);
  std::vector<char> chunk(1 << 20, 'd');
  const size_t total = size_t{256} << 20;
  auto start = Clock::now();
  for (size_t done = 0; done < total; done += chunk.size()) {
    if (::pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(done)) !=
        static_cast<ssize_t>(chunk.size()))
      die("disk baseline write failed");
  }
  if (::fdatasync(fd) != 0) die("disk baseline fdatasync failed");
  const double s = seconds_since(start);
  ::close(fd);
  ::unlink(path.c_str());
  return static_cast<double>(total) / 1e6 / s;
}

const char* fs_name(const std::string& path) {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0) return "?";
  switch (static_cast<unsigned long>(st.f_type)) {
    case 0xEF53: return "ext2/3/4";
    case 0x01021994: return "tmpfs (NOT a disk)";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794C7630: return "overlayfs";
    case 0xF2F52010: return "f2fs";
    default: return "other";
  }
}

std::string find_ferry(const char* argv0) {
  // The benchmark lives in <build>/tests/bench/, the broker in <build>/src/app/.
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) self = fs::absolute(argv0);
  fs::path p = self.parent_path() / ".." / ".." / "src" / "app" / "ferry";
  return fs::weakly_canonical(p, ec).string();
}

}  // namespace

// ferry logs "group commit: ..." (fdatasync calls, per second, acknowledgements per fdatasync)
// once it has flushed nothing for a second. Returns the last such line written after byte
// `from` of its log (where its produce started), waiting up to 3 s for one; empty if none came.
std::string group_commit_line(const std::string& log_path, std::streamoff from) {
  const std::string key = "group commit: ";
  for (auto t = Clock::now(); seconds_since(t) < 3.0;
       std::this_thread::sleep_for(std::chrono::milliseconds(50))) {
    std::ifstream in(log_path);
    in.seekg(from);
    std::string found;
    for (std::string line; std::getline(in, line);)
      if (auto at = line.find(key); at != std::string::npos) found = line.substr(at + key.size());
    if (!found.empty()) return found;
  }
  return "";
}

std::streamoff file_size_of(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<std::streamoff>(size);
}

int main(int argc, char** argv) {
  bench::g_program = "broker_bench";
  bench::g_cleanup = cleanup;
  std::string ferry_bin = find_ferry(argv[0]);
  std::string base = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  std::string ferry_log;
  double scale = 1.0;
  bool lz4 = true;
  std::string only;  // run only the cases whose name contains this
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--ferry")
      ferry_bin = value();
    else if (a == "--dir")
      base = value();
    else if (a == "--scale")
      scale = std::strtod(value().c_str(), nullptr);
    else if (a == "--no-lz4")
      lz4 = false;
    else if (a == "--ferry-log")
      ferry_log = value();
    else if (a == "--case")
      only = value();
    else
      die("unknown option " + a +
          " (options: --ferry PATH --dir DIR --scale F --case TEXT --no-lz4 --ferry-log FILE)");
  }
  if (scale <= 0) die("--scale must be > 0");
  if (::access(ferry_bin.c_str(), X_OK) != 0) die("no ferry binary at " + ferry_bin + " (--ferry)");

  std::string tmpl = base + "/broker-bench-XXXXXX";
  if (!::mkdtemp(tmpl.data())) die("cannot create a directory under " + base);
  g_temp_dir = tmpl;
  std::string data_dir = g_temp_dir + "/data";
  if (ferry_log.empty()) ferry_log = g_temp_dir + "/ferry.log";

  auto n = [&](size_t records) {
    return std::max<size_t>(1000, static_cast<size_t>(static_cast<double>(records) * scale));
  };
  std::vector<Case> cases;
  for (size_t bytes : {size_t{100}, size_t{1024}})
    for (int parts : {1, 8})
      for (const char* acks : {"1", "all"})
        cases.push_back({bytes, parts, acks, "none", n(bytes == 100 ? 2'000'000 : 500'000)});
  if (lz4) cases.push_back({1024, 1, "1", "lz4", n(500'000)});
  // The cost of the sequence checks: compare with the same case without idempotence.
  cases.push_back({100, 8, "all", "none", n(2'000'000), true});
  std::erase_if(cases, [&](const Case& c) { return c.name().find(only) == std::string::npos; });
  if (cases.empty()) die("no case matches --case " + only);

  // The reference: librdkafka's mock cluster, one broker, in memory, in this process.
  rd_kafka_conf_t* owner_conf = rd_kafka_conf_new();
  set(owner_conf, "log_level", "3");  // it has no bootstrap.servers, and says so at level 5
  rd_kafka_t* mock_owner = make_client(RD_KAFKA_PRODUCER, owner_conf);
  rd_kafka_mock_cluster_t* mock = rd_kafka_mock_cluster_new(mock_owner, 1);
  if (!mock) die("rd_kafka_mock_cluster_new failed");
  std::string mock_bootstrap = rd_kafka_mock_cluster_bootstraps(mock);

  uint16_t port = start_ferry(ferry_bin, data_dir, ferry_log);
  std::string ferry_bootstrap = "127.0.0.1:" + std::to_string(port);
  pid_t pid = g_ferry.pid;
  long idle_start_kib = proc_kib(pid, "VmRSS");

  std::printf("broker_bench: librdkafka %s; ferry %s on %s (pid %d), data in %s [%s]; mock on %s\n",
              rd_kafka_version_str(), ferry_bin.c_str(), ferry_bootstrap.c_str(), pid,
              data_dir.c_str(), fs_name(g_temp_dir), mock_bootstrap.c_str());
  std::printf(
      "producer: linger.ms=5, batch.size default, explicit round-robin partitions; "
      "latency = rd_kafka_produce to delivery report, producing as fast as the client "
      "queue allows\n\n");
  std::fflush(stdout);

  for (const auto& c : cases) {
    create_topic(ferry_bootstrap, c.topic(), c.partitions);
    // This librdkafka's mock does not answer CreateTopics; it has its own call.
    if (rd_kafka_mock_topic_create(mock, c.topic().c_str(), c.partitions, 1))
      die("mock topic " + c.topic() + " not created");
  }
  long idle_topics_kib = proc_kib(pid, "VmRSS");
  const double disk_before = disk_write_mb_per_s(g_temp_dir);

  struct Row {
    Case c;
    Result fp, mp, fc, mc, full;
    size_t window = 0, passes = 0;
    std::string group_commit;  // ferry's counters for its acks=all produce
  };
  std::vector<Row> rows;
  {
    RssSampler sampler(pid);
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      Row row{c, {}, {}, {}, {}, {}, 0, 0, {}};
      std::streamoff log_from = 0;  // ferry's log size when its produce starts
      auto produce_ferry = [&] {
        log_from = file_size_of(ferry_log);
        row.fp = produce(ferry_bootstrap, c);
      };
      std::fprintf(stderr, "  %-26s %zu records ...\n", c.name().c_str(), c.records);
      // Alternate which broker goes first so warm-up and background noise fall on both.
      if (i % 2 == 0) {
        produce_ferry();
        row.mp = produce(mock_bootstrap, c);
      } else {
        row.mp = produce(mock_bootstrap, c);
        produce_ferry();
      }
      if (std::string(c.acks) == "all") row.group_commit = group_commit_line(ferry_log, log_from);
      // ferry keeps everything: read it all back from the beginning and check the count.
      ReadPlan all = retained(ferry_bootstrap, c);
      if (all.records() != c.records)
        die(c.name() + ": ferry holds " + std::to_string(all.records()) + " of " +
            std::to_string(c.records) + " records");
      row.full = consume(ferry_bootstrap, c, all);
      // The mock keeps only the newest 5 MiB (or 100000 batches) of each partition, so the
      // comparison reads that same offset range from both, in passes until about N records.
      ReadPlan window = retained(mock_bootstrap, c);
      row.window = window.records();
      if (row.window == 0) die(c.name() + ": the mock kept nothing");
      window.passes = std::clamp<size_t>((c.records + row.window - 1) / row.window, 1, 100);
      row.passes = window.passes;
      if (i % 2 == 0) {
        row.fc = consume(ferry_bootstrap, c, window);
        row.mc = consume(mock_bootstrap, c, window);
      } else {
        row.mc = consume(mock_bootstrap, c, window);
        row.fc = consume(ferry_bootstrap, c, window);
      }
      rows.push_back(row);
    }
    const double disk_mb_per_s = (disk_before + disk_write_mb_per_s(g_temp_dir)) / 2;
    long hwm = proc_kib(pid, "VmHWM");
    long sampled = sampler.max_kib();
    long end_kib = proc_kib(pid, "VmRSS");

    auto mib = [](long kib) { return static_cast<double>(kib) / 1024.0; };
    double min_ratio = 1e9;
    std::string min_case;
    auto table = [&](const char* phase, bool produce_phase) {
      std::printf("%-8s %-24s %11s %11s %6s %10s %9s", phase, "case", "ferry msg/s", "mock msg/s",
                  "ratio", "ferry MB/s", "mock MB/s");
      if (produce_phase)
        std::printf("   %-17s %-17s %s", "ferry p50/p99 ms", "mock p50/p99 ms", "ferry/disk");
      else
        std::printf("   %-16s %s", "records x passes", "ferry full read msg/s, MB/s");
      std::printf("\n");
      for (const auto& r : rows) {
        const Result& f = produce_phase ? r.fp : r.fc;
        const Result& m = produce_phase ? r.mp : r.mc;
        double ratio = f.msgs_per_s / m.msgs_per_s;
        if (ratio < min_ratio) {
          min_ratio = ratio;
          min_case = std::string(phase) + " " + r.c.name();
        }
        std::printf("%-8s %-24s %11.0f %11.0f %6.2f %10.1f %9.1f", phase, r.c.name().c_str(),
                    f.msgs_per_s, m.msgs_per_s, ratio, f.mb_per_s, m.mb_per_s);
        if (produce_phase)
          std::printf("   %7.1f / %-7.1f %7.1f / %-7.1f %6.2f", f.p50_ms, f.p99_ms, m.p50_ms,
                      m.p99_ms, f.mb_per_s / disk_mb_per_s);
        else
          std::printf("   %7zu x %-6zu %11.0f, %.1f", r.window, r.passes, r.full.msgs_per_s,
                      r.full.mb_per_s);
        std::printf("\n");
      }
    };
    std::printf("disk: sequential 1 MiB writes + fdatasync, %.1f MB/s (mean of before and after)\n",
                disk_mb_per_s);
    table("produce", true);
    for (const auto& r : rows)
      if (!r.group_commit.empty())
        std::printf("group commit %-24s %s\n", r.c.name().c_str(), r.group_commit.c_str());
    std::printf("\n");
    table("consume", false);
    std::printf(
        "(consume: the mock keeps only the newest 5 MiB of each partition, so both brokers read "
        "that same offset range, in passes; the full read is ferry alone, all N records)\n");
    size_t below = 0;
    for (const auto& r : rows) {
      below += r.fp.msgs_per_s / r.mp.msgs_per_s < 0.70;
      below += r.fc.msgs_per_s / r.mc.msgs_per_s < 0.70;
    }
    std::printf(
        "\nferry RSS: idle after start %.1f MiB, idle with %zu topics %.1f MiB, peak %.1f MiB "
        "(VmHWM; sampled max %.1f MiB), at the end %.1f MiB\n",
        mib(idle_start_kib), cases.size(), mib(idle_topics_kib), mib(hwm), mib(sampled),
        mib(end_kib));
    bool ok_ratio = below == 0;
    bool ok_peak = hwm < 64 * 1024;
    bool ok_idle = idle_start_kib < 8 * 1024;
    std::printf(
        "goals: throughput ratio >= 0.70 in every row: %s (%zu of %zu rows below; lowest "
        "%.2f, %s); peak RSS < 64 MiB: %s; idle RSS < 8 MiB: %s\n",
        ok_ratio ? "MET" : "NOT MET", below, 2 * rows.size(), min_ratio, min_case.c_str(),
        ok_peak ? "MET" : "NOT MET", ok_idle ? "MET" : "NOT MET");
  }

  int rc = bench::stop_child(g_ferry, kStopTimeoutS);
  rd_kafka_mock_cluster_destroy(mock);
  rd_kafka_destroy(mock_owner);
  if (rc != 0) die("ferry did not exit cleanly on SIGTERM (exit " + std::to_string(rc) + ")");
  std::printf("ferry stopped with SIGTERM, exit 0\n");
  cleanup();
  return 0;
}
