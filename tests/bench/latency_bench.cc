// Latency under load: how long a small Metadata request (all topics) waits for its answer while
// a librdkafka producer saturates the broker with 1 KiB acks=all records over 8 partitions, on
// `ferry serve` (a child process persisting to disk) and, in the same run, on librdkafka's
// in-memory mock cluster (in this process). A probe sends the request every 5-10 ms on its own
// connection and times send to response; a second probe does the same with ApiVersions, which
// needs almost no work from the broker, so its delay is how long the request waited for the
// broker's event loop (the loop lag as seen from outside). Not a test: it prints figures and
// exits 0 unless something breaks.
//
//   latency_bench [--ferry PATH] [--dir DIR] [--seconds S] [--ferry-config FILE]
//                 [--ferry-log FILE] [--no-mock] [--ferry-nice N]
//
// Threads: the main thread runs the probes; a producer thread runs librdkafka's producer
// (delivery reports fire inside its rd_kafka_poll/flush); they share only atomics.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
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
using bench::seconds_since;
using bench::set;
namespace fs = std::filesystem;

constexpr int kProbeTimeoutMs = 10000;  // one request's answer
constexpr int kPartitions = 8;
constexpr size_t kRecordBytes = 1024;
constexpr size_t kIdleProbes = 200;

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

// ---- librdkafka ---------------------------------------------------------------------------------

// What the producer thread reports; written by it, read by the main thread after join (and
// `started`/`stop` while it runs).
struct Load {
  std::atomic<bool> started{false};
  std::atomic<bool> stop{false};
  std::atomic<size_t> delivered{0};
  std::atomic<size_t> failed{0};
  double seconds = 0;
  size_t produced = 0;
  std::string error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* load = static_cast<Load*>(opaque);
  if (m->err)
    load->failed.fetch_add(1);
  else
    load->delivered.fetch_add(1);
}

// Produces 1 KiB records round-robin over the partitions, as fast as the client queue allows,
// until `load.stop`; then flushes. linger.ms=5 and acks=all as in broker_bench's rows.
void produce_until_stopped(const std::string& bootstrap, const std::string& topic, Load* load) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "acks", "all");
  set(conf, "linger.ms", "5");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, load);
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, conf);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    load->error = "metadata for " + topic + " failed";
    load->started.store(true);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return;
  }
  rd_kafka_metadata_destroy(md);
  std::string value(kRecordBytes, 'v');
  for (size_t i = 0; i < value.size(); ++i) value[i] = "0123456789.,:-{}temp"[(i * 7) % 20];

  auto t = Clock::now();
  load->started.store(true);
  size_t i = 0;
  while (!load->stop.load()) {
    int rc = rd_kafka_produce(rkt, static_cast<int32_t>(i % kPartitions), RD_KAFKA_MSG_F_COPY,
                              value.data(), value.size(), nullptr, 0, nullptr);
    if (rc == 0) {
      ++i;
      if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
      continue;
    }
    if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      load->error = std::string("produce: ") + rd_kafka_err2str(rd_kafka_last_error());
      break;
    }
    rd_kafka_poll(rk, 1);  // local queue full: serve delivery reports, then retry
  }
  if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR && load->error.empty())
    load->error = "flush timed out";
  load->seconds = seconds_since(t);
  load->produced = i;
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
}

// ---- the probes: raw Kafka requests on their own connections -----------------------------------

void put16(std::string& b, int v) {
  b.push_back(static_cast<char>((v >> 8) & 0xff));
  b.push_back(static_cast<char>(v & 0xff));
}
void put32(std::string& b, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<char>((u >> s) & 0xff));
}
int32_t get32(const unsigned char* p) {
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                              (uint32_t{p[2]} << 8) | uint32_t{p[3]});
}

// A request frame: size, then the v1 header (api key, version, correlation id, client id),
// then `body`.
std::string frame(int api_key, int version, int32_t correlation, const std::string& body) {
  std::string h;
  put16(h, api_key);
  put16(h, version);
  put32(h, correlation);
  const std::string client = "latency-probe";
  put16(h, static_cast<int>(client.size()));
  h += client;
  h += body;
  std::string f;
  put32(f, static_cast<int32_t>(h.size()));
  return f + h;
}

// Metadata v1 with a null topic array (every topic), or ApiVersions v0 (no body).
std::string metadata_request(int32_t correlation) {
  std::string body;
  put32(body, -1);
  return frame(3, 1, correlation, body);
}
std::string api_versions_request(int32_t correlation) { return frame(18, 0, correlation, ""); }

bool read_full(int fd, unsigned char* p, size_t n, Clock::time_point deadline) {
  while (n > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// One connection sending one kind of request and timing each answer.
class Probe {
 public:
  Probe(uint16_t port, std::string (*make)(int32_t), const char* what) : make_(make), what_(what) {
    fd_ = bench::connect_loopback(port);
    if (fd_ < 0) die(std::string("probe connect for ") + what);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Probe() { ::close(fd_); }
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // Sends a request, waits for its answer; returns send-to-response in milliseconds.
  double once() {
    std::string req = make_(++correlation_);
    auto t = Clock::now();
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      die(std::string("probe send ") + what_);
    auto deadline = t + std::chrono::milliseconds(kProbeTimeoutMs);
    unsigned char head[8];
    if (!read_full(fd_, head, sizeof head, deadline))
      die(std::string("no answer to ") + what_ + " within " + std::to_string(kProbeTimeoutMs) +
          " ms");
    int32_t size = get32(head);
    if (get32(head + 4) != correlation_ || size < 4 || size > (64 << 20))
      die(std::string("bad answer to ") + what_);
    body_.resize(static_cast<size_t>(size) - 4);
    if (!read_full(fd_, body_.data(), body_.size(), deadline))
      die(std::string("short answer to ") + what_);
    // The time counts until the whole answer is in: a large Metadata answer is part of the cost.
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  }

 private:
  int fd_ = -1;
  int32_t correlation_ = 0;
  std::string (*make_)(int32_t);
  const char* what_;
  std::vector<unsigned char> body_;
};

struct Stats {
  size_t n = 0;
  double p50 = 0, p99 = 0, max = 0;
  std::vector<std::pair<double, double>> worst;  // (ms, seconds into the run), largest first
};

Stats stats(std::vector<std::pair<double, double>> v) {
  Stats s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.first < b.first; });
  auto at = [&](double p) {
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))].first;
  };
  s.p50 = at(0.50);
  s.p99 = at(0.99);
  s.max = v.back().first;
  for (size_t i = 0; i < 5 && i < v.size(); ++i) s.worst.push_back(v[v.size() - 1 - i]);
  return s;
}

struct BrokerRun {
  std::string name;
  Stats idle_md, idle_av, md, av;
  double msgs_per_s = 0, mb_per_s = 0, cpu_s = 0, load_s = 0;
  bench::SchedStat loop;  // the broker's main (event loop) thread during the load
};

// Idle probes, then the same probes while the producer saturates the broker for `seconds`.
// `pid`: the broker's process for its CPU time (-1: none); `loop_pid`/`loop_tid`: its event-loop
// thread for the scheduler figures (-1: none).
BrokerRun run(const std::string& name, uint16_t port, const std::string& topic, double seconds,
              pid_t pid, pid_t loop_pid, pid_t loop_tid) {
  BrokerRun r;
  r.name = name;
  std::string bootstrap = "127.0.0.1:" + std::to_string(port);
  Probe md(port, metadata_request, "Metadata");
  Probe av(port, api_versions_request, "ApiVersions");
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> gap_us(5000, 10000);
  auto pause = [&] { std::this_thread::sleep_for(std::chrono::microseconds(gap_us(rng))); };

  std::vector<std::pair<double, double>> v_md, v_av;
  auto t0 = Clock::now();
  for (size_t i = 0; i < kIdleProbes; ++i) {
    v_md.emplace_back(md.once(), seconds_since(t0));
    v_av.emplace_back(av.once(), seconds_since(t0));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  r.idle_md = stats(std::move(v_md));
  r.idle_av = stats(std::move(v_av));
  v_md.clear();
  v_av.clear();

  Load load;
  std::thread producer(produce_until_stopped, bootstrap, topic, &load);
  auto t_wait = Clock::now();
  while (!load.started.load() && seconds_since(t_wait) < 20)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  double cpu0 = pid > 0 ? bench::proc_cpu_s(pid) : 0;
  bench::SchedStat loop0 =
      loop_tid > 0 ? bench::thread_schedstat(loop_pid, loop_tid) : bench::SchedStat{};
  // Let the client fill its pipeline before measuring.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto t = Clock::now();
  while (seconds_since(t) < seconds && load.error.empty()) {
    v_md.emplace_back(md.once(), seconds_since(t));
    pause();
    v_av.emplace_back(av.once(), seconds_since(t));
    pause();
  }
  r.load_s = seconds_since(t);
  if (pid > 0) r.cpu_s = bench::proc_cpu_s(pid) - cpu0;
  if (loop_tid > 0) {
    bench::SchedStat loop1 = bench::thread_schedstat(loop_pid, loop_tid);
    r.loop = {loop1.on_cpu_s - loop0.on_cpu_s, loop1.run_delay_s - loop0.run_delay_s};
  }
  load.stop.store(true);
  producer.join();
  if (!load.error.empty()) die(name + ": " + load.error);
  if (load.failed.load() > 0) die(name + ": " + std::to_string(load.failed.load()) + " failed");
  if (load.delivered.load() != load.produced) die(name + ": delivery reports missing");
  r.msgs_per_s = static_cast<double>(load.produced) / load.seconds;
  r.mb_per_s = r.msgs_per_s * static_cast<double>(kRecordBytes) / 1e6;
  r.md = stats(std::move(v_md));
  r.av = stats(std::move(v_av));
  return r;
}

// The thread of this process whose name contains `part` (librdkafka names the mock cluster's
// thread "rdk:mock"), or -1.
pid_t find_thread(const char* part) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc/self/task", ec)) {
    std::ifstream in(e.path() / "comm");
    std::string comm;
    std::getline(in, comm);
    if (comm.find(part) != std::string::npos)
      return static_cast<pid_t>(std::stol(e.path().filename().string()));
  }
  return -1;
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
  bench::g_program = "latency_bench";
  bench::g_cleanup = cleanup;
  std::string ferry_bin = find_ferry(argv[0]);
  std::string base = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  std::string ferry_log, ferry_config;
  double seconds = 10;
  bool with_mock = true;
  int ferry_nice = 0;
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
    else if (a == "--seconds")
      seconds = std::strtod(value().c_str(), nullptr);
    else if (a == "--ferry-config")
      ferry_config = value();
    else if (a == "--ferry-log")
      ferry_log = value();
    else if (a == "--no-mock")
      with_mock = false;
    else if (a == "--ferry-nice")
      ferry_nice = std::atoi(value().c_str());
    else
      die("unknown option " + a +
          " (options: --ferry PATH --dir DIR --seconds S --ferry-config FILE --ferry-log FILE "
          "--no-mock --ferry-nice N)");
  }
  if (seconds <= 0) die("--seconds must be > 0");
  if (::access(ferry_bin.c_str(), X_OK) != 0) die("no ferry binary at " + ferry_bin + " (--ferry)");

  std::string tmpl = base + "/latency-bench-XXXXXX";
  if (!::mkdtemp(tmpl.data())) die("cannot create a directory under " + base);
  g_temp_dir = tmpl;
  std::string data_dir = g_temp_dir + "/data";
  if (ferry_log.empty()) ferry_log = g_temp_dir + "/ferry.log";

  g_ferry = bench::start_child(
      [&](uint16_t port) {
        std::vector<std::string> args{ferry_bin,     "serve",
                                      "--data-dir",  data_dir,
                                      "--listen",    "127.0.0.1:" + std::to_string(port),
                                      "--log-level", "warn"};
        if (!ferry_config.empty()) {
          args.push_back("--config");
          args.push_back(ferry_config);
        }
        return args;
      },
      ferry_log);
  // A nice value for the broker's main (event-loop) thread (negative needs privileges): tells CPU
  // contention apart from blocking.
  if (ferry_nice != 0 &&
      ::setpriority(PRIO_PROCESS, static_cast<id_t>(g_ferry.pid), ferry_nice) != 0)
    die("setpriority " + std::to_string(ferry_nice) + " failed");
  const std::string topic = "latency-1024-p8";
  create_topic("127.0.0.1:" + std::to_string(g_ferry.port), topic, kPartitions);

  rd_kafka_t* mock_owner = nullptr;
  rd_kafka_mock_cluster_t* mock = nullptr;
  uint16_t mock_port = 0;
  if (with_mock) {
    rd_kafka_conf_t* owner_conf = rd_kafka_conf_new();
    set(owner_conf, "log_level", "3");
    mock_owner = make_client(RD_KAFKA_PRODUCER, owner_conf);
    mock = rd_kafka_mock_cluster_new(mock_owner, 1);
    if (!mock) die("rd_kafka_mock_cluster_new failed");
    std::string b = rd_kafka_mock_cluster_bootstraps(mock);
    mock_port = static_cast<uint16_t>(std::stoi(b.substr(b.rfind(':') + 1)));
    if (rd_kafka_mock_topic_create(mock, topic.c_str(), kPartitions, 1)) die("mock topic");
  }

  std::printf(
      "latency_bench: librdkafka %s; ferry %s on 127.0.0.1:%u (pid %d), data in %s%s\n"
      "load: one producer, %zu B records, %d partitions, acks=all, linger.ms=5, flat out, %.0f s "
      "per broker; probes: Metadata v1 (all topics) and ApiVersions v0, each on its own "
      "connection, alternately every 5-10 ms, timed from send to the whole answer\n\n",
      rd_kafka_version_str(), ferry_bin.c_str(), g_ferry.port, g_ferry.pid, data_dir.c_str(),
      ferry_config.empty() ? "" : (", config " + ferry_config).c_str(), kRecordBytes, kPartitions,
      seconds);
  std::fflush(stdout);

  std::vector<BrokerRun> runs;
  std::fprintf(stderr, "  ferry ...\n");
  runs.push_back(run("ferry", g_ferry.port, topic, seconds, g_ferry.pid, g_ferry.pid, g_ferry.pid));
  if (with_mock) {
    std::fprintf(stderr, "  mock ...\n");
    runs.push_back(run("mock", mock_port, topic, seconds, -1, ::getpid(), find_thread("mock")));
  }

  std::printf("%-6s %-12s %5s %8s %8s %8s   %-28s %s\n", "broker", "probe", "n", "p50 ms", "p99 ms",
              "max ms", "idle p50/p99/max ms", "load msg/s (MB/s)");
  for (const auto& r : runs) {
    auto row = [&](const char* probe, const Stats& s, const Stats& idle, bool with_load) {
      std::printf("%-6s %-12s %5zu %8.2f %8.2f %8.2f   %6.2f / %6.2f / %-8.2f", r.name.c_str(),
                  probe, s.n, s.p50, s.p99, s.max, idle.p50, idle.p99, idle.max);
      if (with_load) std::printf("   %9.0f (%.1f)", r.msgs_per_s, r.mb_per_s);
      std::printf("\n");
    };
    row("Metadata", r.md, r.idle_md, true);
    row("ApiVersions", r.av, r.idle_av, false);
  }
  std::printf("\n");
  for (const auto& r : runs) {
    std::printf("%s: slowest Metadata answers under load (ms @ s into the load):", r.name.c_str());
    for (auto& w : r.md.worst) std::printf(" %.1f@%.2f", w.first, w.second);
    std::printf("\n");
    if (r.cpu_s > 0)
      std::printf("%s: CPU %.2f s in %.2f s of load (%.0f%% of one core)\n", r.name.c_str(),
                  r.cpu_s, r.load_s, 100 * r.cpu_s / r.load_s);
    if (r.loop.on_cpu_s > 0) {
      // The loop thread's time split: running, runnable but waiting for a CPU (other processes
      // or threads had it), and the rest (waiting in epoll for work, or blocked in the kernel).
      std::printf(
          "%s: event-loop thread: on a CPU %.2f s, runnable but waiting for a CPU %.2f s "
          "(%.1f%% of the load time), idle or blocked %.2f s\n",
          r.name.c_str(), r.loop.on_cpu_s, r.loop.run_delay_s, 100 * r.loop.run_delay_s / r.load_s,
          r.load_s - r.loop.on_cpu_s - r.loop.run_delay_s);
    }
  }
  const Stats& f = runs[0].md;
  std::printf("goal: ferry Metadata p99 < 10 ms under load: %s (%.2f ms)\n",
              f.p99 < 10 ? "MET" : "NOT MET", f.p99);

  int rc = bench::stop_child(g_ferry);
  if (mock) rd_kafka_mock_cluster_destroy(mock);
  if (mock_owner) rd_kafka_destroy(mock_owner);
  if (rc != 0) die("ferry did not exit cleanly on SIGTERM (exit " + std::to_string(rc) + ")");
  cleanup();
  return 0;
}
