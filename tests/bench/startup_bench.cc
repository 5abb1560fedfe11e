// Start-up benchmark: how long a broker takes to open many partitions, what it reads to do so,
// and the descriptors and memory it holds afterwards. Not a test: it prints figures and exits 0
// (1 if the data set does not open or a partition comes back with the wrong offsets).
//
//   startup_bench [--dir DIR] [--case NAME] [--cold] [--real-sealed] [--keep]
//                 [--partitions N --mib-per-partition M --segment-kib S]
//
// Each case builds a data directory (partition directories and meta.db as a broker leaves them
// at a clean shutdown: topics and producer-state snapshots at the log end), then times
// app::Node::start() — what `ferry serve` runs: meta.db, the log manager with the broker's
// descriptor bound, every partition's recovery, the broker's topic load — in a fresh child process,
// after a clean shutdown and again after a simulated kill -9.
//
// The data set. A template partition is written once through storage::Log with real batches
// (200-byte records, ~16 KiB batches) and its index files. Each partition copies the
// template's last two segments, their indexes and recovery.point byte for byte (these are what
// start-up scans, so they are real); older sealed segments are sparse files of the right size
// (zeros), with real copies of their small index files. Start-up must not read a sealed segment
// below the recovery point, so its content is not what is measured; if it did read one, the
// zeros would show up as corrupt data and the bytes-read columns would say so. --real-sealed
// copies every segment instead (slow, uses the full disk space) to check that claim.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "app/node.h"
#include "common/log.h"
#include "meta/store.h"
#include "platform/file.h"
#include "platform/forwarding_fs.h"
#include "protocol/record_batch.h"
#include "storage/log.h"
#include "storage/partition_identity.h"
#include "storage/segment_name.h"

namespace ferry {
namespace {

namespace fsys = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "startup_bench: %s\n", what.c_str());
  std::exit(1);
}

// ---------------------------------------------------------------------------------------------
// A FileSystem over the real one that counts what is read, opened and synced. With
// `skip_syncs` (building the data set only) fsyncs are no-ops: one sync(2) at the end instead.

struct IoCounts {
  std::atomic<uint64_t> log_bytes{0};    // read from segment .log files
  std::atomic<uint64_t> index_bytes{0};  // read from .index / .timeindex
  std::atomic<uint64_t> other_bytes{0};  // meta.db, partition.meta, recovery.point, ...
  std::atomic<uint64_t> opens{0};
  std::atomic<int64_t> open_now{0};
  std::atomic<int64_t> open_peak{0};
  std::atomic<uint64_t> datasyncs{0};
  std::atomic<uint64_t> dir_syncs{0};
  std::mutex mu;
  // The byte ranges read from each .log file, to tell partial reads from whole-file reads.
  std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> log_ranges;
};

enum class Kind { log, index, other };

Kind kind_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  auto parsed =
      storage::parse_segment_file_name(path.substr(slash == std::string::npos ? 0 : slash + 1));
  if (!parsed) return Kind::other;
  return parsed->kind == storage::SegmentFile::log ? Kind::log : Kind::index;
}

class CountingHandle final : public platform::ForwardingFileHandle {
 public:
  CountingHandle(platform::File inner, IoCounts& c, bool skip_syncs)
      : ForwardingFileHandle(std::move(inner)),
        c_(c),
        kind_(kind_of(this->inner().path())),
        skip_syncs_(skip_syncs) {
    ++c_.opens;
    int64_t now = ++c_.open_now;
    int64_t peak = c_.open_peak.load();
    while (now > peak && !c_.open_peak.compare_exchange_weak(peak, now)) {
    }
  }
  ~CountingHandle() override { --c_.open_now; }
  Result<size_t> pread_some(std::span<std::byte> data, uint64_t offset) const override {
    auto n = inner().pread_some(data, offset);
    if (n) {
      switch (kind_) {
        case Kind::log: {
          c_.log_bytes += *n;
          std::lock_guard lock(c_.mu);
          c_.log_ranges[inner().path()].emplace_back(offset, offset + *n);
          break;
        }
        case Kind::index: c_.index_bytes += *n; break;
        case Kind::other: c_.other_bytes += *n; break;
      }
    }
    return n;
  }
  Status datasync() override {
    if (skip_syncs_) return {};
    ++c_.datasyncs;
    return inner().datasync();
  }
  Status sync() override {
    if (skip_syncs_) return {};
    ++c_.datasyncs;
    return inner().sync();
  }

 private:
  IoCounts& c_;
  Kind kind_;
  bool skip_syncs_;
};

class CountingFs final : public platform::ForwardingFileSystem {
 public:
  explicit CountingFs(bool skip_syncs = false) : skip_syncs_(skip_syncs) {}
  Result<platform::File> open(const std::string& path, platform::File::Mode mode) override {
    auto f = inner().open(path, mode);
    if (!f) return f;
    return platform::File(
        std::make_unique<CountingHandle>(std::move(f).value(), counts, skip_syncs_), path);
  }
  Status sync_dir(const std::string& dir) override {
    if (skip_syncs_) return {};
    ++counts.dir_syncs;
    return inner().sync_dir(dir);
  }

  IoCounts counts;

 private:
  bool skip_syncs_;
};

// ---------------------------------------------------------------------------------------------
// Process figures from /proc.

uint64_t proc_status_kib(const char* field) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t v = 0;
  size_t len = std::strlen(field);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, field, len) == 0 && line[len] == ':') {
      v = std::strtoull(line + len + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return v;
}

struct ProcIo {
  uint64_t rchar = 0;
  uint64_t read_bytes = 0;
};

ProcIo proc_io() {
  ProcIo io;
  FILE* f = std::fopen("/proc/self/io", "r");
  if (f == nullptr) return io;
  char name[64];
  unsigned long long v = 0;
  while (std::fscanf(f, "%63[^:]: %llu\n", name, &v) == 2) {
    if (std::strcmp(name, "rchar") == 0) io.rchar = v;
    if (std::strcmp(name, "read_bytes") == 0) io.read_bytes = v;
  }
  std::fclose(f);
  return io;
}

// CPU seconds (user + system) of the calling thread so far.
double thread_cpu_s() {
  struct rusage ru {};
  ::getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

size_t open_fds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fsys::directory_iterator("/proc/self/fd")) ++n;
  return n > 0 ? n - 1 : 0;  // minus the iterator's own descriptor
}

void drop_caches() {
  ::sync();
  if (FILE* f = std::fopen("/proc/sys/vm/drop_caches", "w")) {
    std::fputs("3", f);
    std::fclose(f);
  } else {
    die("--cold needs root (/proc/sys/vm/drop_caches)");
  }
}

// ---------------------------------------------------------------------------------------------
// Building the data set.

struct Shape {
  std::string name;
  int partitions = 0;
  uint64_t bytes_per_partition = 0;
  uint64_t segment_bytes = 0;
};

std::vector<std::byte> make_batch(size_t bytes) {
  size_t count = std::max<size_t>(1, bytes / 215);
  std::string value(200, 's');
  std::vector<protocol::RecordInput> in(count, {"device-17", value, 1'700'000'000'000, {}});
  return protocol::build_batch(in, {}).value();
}

// Writes the template partition through storage::Log; returns its log end offset.
int64_t write_template(const std::string& dir, const Shape& shape) {
  storage::LogConfig cfg;
  cfg.segment_bytes = shape.segment_bytes;
  cfg.flush_ms = 0;
  CountingFs fs(/*skip_syncs=*/true);
  storage::LogOptions opts;
  opts.fs = &fs;
  auto log = storage::Log::open(dir, cfg, opts);
  if (!log) die("template: " + log.error().to_string());
  auto batch = make_batch(16 * 1024);
  while ((*log)->size_bytes() + batch.size() <= shape.bytes_per_partition) {
    auto r = (*log)->append(batch);
    if (!r) die("template append: " + r.error().to_string());
  }
  (*log)->close();
  int64_t end = (*log)->log_end_offset().value();
  return end;
}

void copy_file(const std::string& from, const std::string& to, bool sparse) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) die("open " + from + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(in, &st);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) die("open " + to + ": " + std::strerror(errno));
  if (sparse) {
    if (::ftruncate(out, st.st_size) != 0) die("ftruncate " + to);
  } else {
    off_t left = st.st_size;
    while (left > 0) {
      ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, static_cast<size_t>(left), 0);
      if (n <= 0) die("copy_file_range " + to + ": " + std::strerror(errno));
      left -= n;
    }
  }
  ::close(in);
  ::close(out);
}

struct Built {
  int64_t end_offset = 0;
  size_t segments_per_partition = 0;
  uint64_t real_bytes = 0;    // bytes actually copied
  uint64_t sparse_bytes = 0;  // sealed segments made as holes
};

Built build(const std::string& data_dir, const Shape& shape, bool real_sealed) {
  const std::string tmpl = data_dir + "/template";
  Built b;
  b.end_offset = write_template(tmpl, shape);
  std::vector<std::string> names;
  for (const auto& e : fsys::directory_iterator(tmpl)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  std::vector<Offset> bases;
  for (const auto& n : names) {
    auto p = storage::parse_segment_file_name(n);
    if (p && p->kind == storage::SegmentFile::log) bases.push_back(p->base);
  }
  std::sort(bases.begin(), bases.end());
  b.segments_per_partition = bases.size();
  // The last two segments are scanned at every start (and everything from recovery.point on).
  const Offset first_real = bases.size() >= 2 ? bases[bases.size() - 2] : bases.front();

  CountingFs nosync(/*skip_syncs=*/true);
  std::vector<meta::Mutation> rows;
  const int per_topic = std::min(shape.partitions, 100);
  const int topics = (shape.partitions + per_topic - 1) / per_topic;
  int made = 0;
  for (int t = 0; t < topics; ++t) {
    const std::string topic = "t" + std::to_string(t);
    const std::string id = storage::new_topic_id();
    meta::TopicRecord record;
    record.name = topic;
    record.topic_id = id;
    record.partitions = std::min(per_topic, shape.partitions - made);
    record.created_ms = Clock::system().now_ms();
    // Below ferry's minimum segment.bytes (1 MiB: the 10,000-partition case uses smaller
    // segments to stay small on disk) the topic keeps the default; it only decides rolls.
    if (shape.segment_bytes >= (1u << 20)) {
      record.configs["segment.bytes"] = std::to_string(shape.segment_bytes);
    }
    rows.push_back(meta::Mutation::create_topic(record));
    for (int p = 0; p < per_topic && made < shape.partitions; ++p, ++made) {
      const std::string dir = data_dir + "/logs/" + topic + "-" + std::to_string(p);
      fsys::create_directories(dir);
      if (auto st = storage::write_partition_identity(dir, {id, topic, PartitionId(p)}, nosync);
          !st) {
        die(st.error().to_string());
      }
      // As a clean shutdown leaves it: the producer state reflects the whole log.
      rows.push_back(
          meta::Mutation::put_producer_snapshot(topic, PartitionId(p), Offset(b.end_offset), {}));
      for (const auto& n : names) {
        auto parsed = storage::parse_segment_file_name(n);
        bool sparse = false;
        if (parsed && parsed->kind == storage::SegmentFile::log && parsed->base < first_real &&
            !real_sealed) {
          sparse = true;
        }
        copy_file(tmpl + "/" + n, dir + "/" + n, sparse);
        uint64_t size = fsys::file_size(dir + "/" + n);
        (sparse ? b.sparse_bytes : b.real_bytes) += size;
      }
    }
  }
  fsys::remove_all(tmpl);
  // meta.db as the broker that wrote these partitions left it.
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    auto store = meta::MetaStore::open(data_dir + "/meta.db", &loop);
    if (!store) die("meta.db: " + store.error().to_string());
    if (auto st = (*store)->submit_sync(std::move(rows)); !st)
      die("meta.db: " + st.error().to_string());
    bool closed = false;
    (*store)->close([&](Status) { closed = true; });
    for (int i = 0; i < 100000 && !closed; ++i) uv_run(&loop, UV_RUN_ONCE);
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  (void)uv_loop_close(&loop);
  ::sync();
  return b;
}

// A kill -9 between a segment roll and the flush that records it: recovery.point still names
// the segment before the active one, and the active segment's index lags (its entries reach
// disk only after the batches they point at are synced): half of it is cut here. The page cache
// kept every written byte, so nothing is torn; recovery rescans the unindexed half.
void simulate_kill9(const std::string& data_dir) {
  for (const auto& e : fsys::directory_iterator(data_dir + "/logs")) {
    const std::string dir = e.path();
    std::vector<Offset> bases;
    for (const auto& f : fsys::directory_iterator(dir)) {
      auto p = storage::parse_segment_file_name(f.path().filename().string());
      if (p && p->kind == storage::SegmentFile::log) bases.push_back(p->base);
    }
    std::sort(bases.begin(), bases.end());
    if (bases.empty()) continue;
    const Offset behind = bases.size() >= 2 ? bases[bases.size() - 2] : bases.back();
    const std::string rp = dir + "/recovery.point";
    FILE* f = std::fopen(rp.c_str(), "w");
    if (f == nullptr) die("write " + rp);
    std::fprintf(f, "%" PRId64 "\n", behind.value());
    std::fclose(f);
    const std::string idx =
        dir + "/" + storage::segment_file_name(bases.back(), storage::SegmentFile::index);
    const std::string tix =
        dir + "/" + storage::segment_file_name(bases.back(), storage::SegmentFile::timeindex);
    uint64_t entries = fsys::exists(idx) ? fsys::file_size(idx) / 8 : 0;
    if (entries > 0) {
      fsys::resize_file(idx, entries / 2 * 8);
      fsys::resize_file(tix, entries / 2 * 12);
    }
  }
  ::sync();
}

// ---------------------------------------------------------------------------------------------
// The timed part, in a fresh child process (so its descriptors and RSS are the broker's alone).

int run_child(const std::string& data_dir, const std::string& label, bool cold, int64_t expect_end,
              int partitions, bool quiet) {
  if (quiet) log::set_level(log::Level::error);
  if (cold) drop_caches();
  uv_loop_t loop;
  uv_loop_init(&loop);
  CountingFs fs;
  config::BrokerConfig cfg;
  cfg.data_dir = data_dir;
  cfg.listen = {"127.0.0.1", 0};
  cfg.advertised = {"127.0.0.1", 0};
  const uint64_t rss_before = proc_status_kib("VmRSS");
  const size_t fds_before = open_fds();
  const ProcIo io_before = proc_io();
  auto node = std::make_unique<app::Node>(&loop, cfg, Clock::system(), fs);
  const double cpu0 = thread_cpu_s();
  auto t0 = SteadyClock::now();
  Status st = node->start();
  const double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  const double cpu = thread_cpu_s() - cpu0;
  const ProcIo io_after = proc_io();
  const size_t fds_after = open_fds();
  const uint64_t syncs_in_open = fs.counts.datasyncs.load();
  const uint64_t rss_after = proc_status_kib("VmRSS");
  const uint64_t hwm = proc_status_kib("VmHWM");
  int rc = 0;
  if (!st) {
    std::fprintf(stderr, "startup_bench: start failed: %s\n", st.error().to_string().c_str());
    rc = 1;
  }
  // Every partition must come back whole.
  int wrong = 0, seen = 0;
  if (rc == 0) {
    for (const auto& [name, topic] : node->broker().topics().topics()) {
      for (const auto& p : topic.partitions) {
        ++seen;
        if (p->log_end_offset().value() != expect_end || p->log_start_offset().value() != 0)
          ++wrong;
      }
    }
  }
  // Start-up leaves the syncs of recovered tails to flushes on the thread pool: wait for them.
  double durable_s = -1;
  if (rc == 0) {
    auto all_durable = [&] {
      for (const auto& [name, topic] : node->broker().topics().topics()) {
        for (const auto& p : topic.partitions) {
          if (p->durable_offset() < p->log_end_offset()) return false;
        }
      }
      return true;
    };
    while (!all_durable() && std::chrono::duration<double>(SteadyClock::now() - t0).count() < 120) {
      uv_run(&loop, UV_RUN_ONCE);
    }
    if (all_durable()) durable_s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  }
  bool done = false;
  node->shutdown([&](Status) { done = true; });
  for (int i = 0; i < 100000 && !done; ++i) uv_run(&loop, UV_RUN_ONCE);
  node.reset();
  uv_run(&loop, UV_RUN_NOWAIT);
  (void)uv_loop_close(&loop);
  if (rc == 0 && (wrong != 0 || seen != partitions)) {
    std::fprintf(stderr, "startup_bench: %d of %d partitions opened with wrong offsets\n", wrong,
                 seen);
    rc = 1;
  }

  // The largest share of any one segment read, and how many were read whole.
  double largest = 0;
  size_t whole = 0;
  for (auto& [path, ranges] : fs.counts.log_ranges) {
    std::error_code ec;
    uint64_t size = fsys::file_size(path, ec);
    if (ec || size == 0) continue;
    std::sort(ranges.begin(), ranges.end());
    uint64_t n = 0, end = 0;  // bytes covered by the union of the ranges
    for (const auto& [from, to] : ranges) {
      if (to > std::max(from, end)) n += to - std::max(from, end);
      end = std::max(end, to);
    }
    largest = std::max(largest, static_cast<double>(n) / static_cast<double>(size));
    if (n >= size) ++whole;
  }
  auto mib = [](uint64_t b) { return static_cast<double>(b) / (1 << 20); };
  std::printf(
      "  %-7s %-5s open %7.3f s (loop thread CPU %5.3f s, all durable %6.3f s) | read: segments "
      "%8.2f MiB (%5zu files, max "
      "%5.1f%% of one file, %zu "
      "files whole), indexes %7.2f MiB, other %6.2f MiB; rchar %8.2f MiB, disk %8.2f MiB | "
      "fdatasync %5" PRIu64 " in open, %5" PRIu64 " total, dir fsync %5" PRIu64
      " | fds %4zu (+%zu), peak fs files %" PRId64
      " | RSS %6.1f MiB (+%.1f, %.2f KiB/partition), peak %6.1f MiB\n",
      label.c_str(), cold ? "cold" : "warm", secs, cpu, durable_s, mib(fs.counts.log_bytes),
      fs.counts.log_ranges.size(), 100 * largest, whole, mib(fs.counts.index_bytes),
      mib(fs.counts.other_bytes), mib(io_after.rchar - io_before.rchar),
      mib(io_after.read_bytes - io_before.read_bytes), syncs_in_open, fs.counts.datasyncs.load(),
      fs.counts.dir_syncs.load(), fds_after, fds_after - fds_before, fs.counts.open_peak.load(),
      static_cast<double>(rss_after) / 1024, static_cast<double>(rss_after - rss_before) / 1024,
      static_cast<double>(rss_after - rss_before) / partitions, static_cast<double>(hwm) / 1024);
  std::fflush(stdout);
  return rc;
}

int spawn_child(const std::string& self, const std::string& data_dir, const std::string& label,
                bool cold, int64_t expect_end, int partitions) {
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    std::string end = std::to_string(expect_end), parts = std::to_string(partitions);
    std::vector<const char*> argv = {self.c_str(),  "--child",   data_dir.c_str(),
                                     label.c_str(), end.c_str(), parts.c_str()};
    if (cold) argv.push_back("--cold");
    argv.push_back(nullptr);
    ::execv(self.c_str(), const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace
}  // namespace ferry

int main(int argc, char** argv) {
  using namespace ferry;
  if (argc >= 6 && std::strcmp(argv[1], "--child") == 0) {
    bool cold = argc >= 7 && std::strcmp(argv[6], "--cold") == 0;
    return run_child(argv[2], argv[3], cold, std::strtoll(argv[4], nullptr, 10), std::atoi(argv[5]),
                     true);
  }
  std::string dir, only;
  bool cold = false, real_sealed = false, keep = false;
  Shape custom{"custom", 0, 0, 0};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--dir")
      dir = next();
    else if (a == "--case")
      only = next();
    else if (a == "--cold")
      cold = true;
    else if (a == "--real-sealed")
      real_sealed = true;
    else if (a == "--keep")
      keep = true;
    else if (a == "--partitions")
      custom.partitions = std::atoi(next().c_str());
    else if (a == "--mib-per-partition")
      custom.bytes_per_partition = std::strtoull(next().c_str(), nullptr, 10) << 20;
    else if (a == "--segment-kib")
      custom.segment_bytes = std::strtoull(next().c_str(), nullptr, 10) << 10;
    else
      die("unknown argument " + a);
  }
  std::vector<Shape> shapes = {
      {"1000x10MiB", 1000, 10ull << 20, 1ull << 20},
      {"1000x10MiB-64MiBseg", 1000, 10ull << 20, 64ull << 20},
      {"10000x256KiB", 10000, 256ull << 10, 64ull << 10},
  };
  if (custom.partitions > 0) {
    if (custom.bytes_per_partition == 0) custom.bytes_per_partition = 10ull << 20;
    if (custom.segment_bytes == 0) custom.segment_bytes = 1ull << 20;
    custom.name = std::to_string(custom.partitions) + "x" +
                  std::to_string(custom.bytes_per_partition >> 20) + "MiB";
    shapes = {custom};
  }
  const std::string self = fsys::read_symlink("/proc/self/exe");
  const bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/ferry-startup-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) die("mkdtemp");
    dir = tmpl;
  }
  double load = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = 0;
    std::fclose(f);
  }
  std::printf("startup_bench: data in %s; load average %.1f on %ld CPUs; %s\n", dir.c_str(), load,
              ::sysconf(_SC_NPROCESSORS_ONLN),
              cold ? "cold (page cache dropped before each open)" : "warm page cache");
  int rc = 0;
  for (const auto& shape : shapes) {
    if (!only.empty() && shape.name.find(only) == std::string::npos) continue;
    const std::string data = dir + "/" + shape.name;
    fsys::remove_all(data);
    fsys::create_directories(data + "/logs");
    auto t0 = SteadyClock::now();
    Built b = build(data, shape, real_sealed);
    double build_s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    std::printf("%s: %d partitions x %zu segments of %" PRIu64
                " KiB, %.2f GiB (%.2f GiB real, %.2f GiB "
                "sparse sealed segments), log end %" PRId64 "; built in %.1f s\n",
                shape.name.c_str(), shape.partitions, b.segments_per_partition,
                shape.segment_bytes >> 10,
                static_cast<double>(b.real_bytes + b.sparse_bytes) / (1 << 30),
                static_cast<double>(b.real_bytes) / (1 << 30),
                static_cast<double>(b.sparse_bytes) / (1 << 30), b.end_offset, build_s);
    rc |= spawn_child(self, data, "clean", cold, b.end_offset, shape.partitions);
    rc |= spawn_child(self, data, "clean", cold, b.end_offset, shape.partitions);
    simulate_kill9(data);
    rc |= spawn_child(self, data, "kill-9", cold, b.end_offset, shape.partitions);
    simulate_kill9(data);
    rc |= spawn_child(self, data, "kill-9", cold, b.end_offset, shape.partitions);
    if (!keep) fsys::remove_all(data);
  }
  if (own_dir && !keep) fsys::remove_all(dir);
  return rc;
}
