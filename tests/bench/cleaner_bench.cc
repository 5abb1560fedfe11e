// Log cleaner benchmark: builds a compacted partition log of sensor-like records (200-byte
// values, `--keys` distinct keys written over and over, uncompressed batches of 50 records,
// 8 MiB segments), then times one full cleaning (as many passes as the key map needs) with the
// default log.cleaner.dedupe.buffer.size. Prints MB of log cleaned per second of wall time and
// per CPU-second (one pass runs on one thread: per core), the bytes written, and the peak RSS the
// cleaning added. Not a test: it prints figures and exits 0.
//
//   cleaner_bench [--dir DIR] [--mib N] [--keys N] [--buffer BYTES]
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "platform/file.h"
#include "protocol/record_batch.h"
#include "storage/cleaner.h"
#include "storage/log.h"

namespace ferry {
namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "cleaner_bench: %s\n", what.c_str());
  std::exit(1);
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// VmHWM / VmRSS from /proc/self/status, in KiB.
long proc_kib(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field, 0) == 0)
      return std::strtol(line.c_str() + std::strlen(field), nullptr, 10);
  }
  return -1;
}

int run(int argc, char** argv) {
  std::string dir = "/tmp/ferry-cleaner-bench";
  uint64_t mib = 256;
  uint64_t keys = 100'000;
  uint64_t buffer = storage::CleanerConfig{}.dedupe_buffer_bytes;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir")
      dir = argv[i + 1];
    else if (a == "--mib")
      mib = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--keys")
      keys = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--buffer")
      buffer = std::strtoull(argv[i + 1], nullptr, 10);
    else
      die("unknown argument " + a);
  }
  (void)platform::remove_tree(dir);
  storage::LogConfig cfg;
  cfg.segment_bytes = 8u << 20;
  cfg.cleanup_compact = true;
  cfg.cleanup_delete = false;
  cfg.retention_ms = -1;
  cfg.flush_ms = 1'000'000'000;
  auto opened = storage::Log::open(dir, cfg);
  if (!opened) die(opened.error().to_string());
  auto log = *opened;

  const std::string value(200, 's');
  std::vector<std::string> names(50);
  uint64_t written = 0, next_key = 0;
  while (written < (mib << 20)) {
    std::vector<protocol::RecordInput> in;
    for (auto& n : names) {
      n = "sensor-" + std::to_string(next_key++ % keys);
      in.push_back({n, value, 1'700'000'000'000, {}});
    }
    auto b = protocol::build_batch(in, {}).value();
    if (auto r = log->append(b); !r) die(r.error().to_string());
    written += b.size();
  }
  log->flush();
  const uint64_t before = log->size_bytes();
  std::printf("log: %.1f MiB in %zu segments, %llu distinct keys, key map %.1f MiB\n",
              static_cast<double>(before) / (1 << 20), log->segment_count(),
              static_cast<unsigned long long>(keys), static_cast<double>(buffer) / (1 << 20));

  // Peak RSS from here on: clear_refs 5 resets VmHWM to the current RSS.
  if (std::FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
  const long rss0 = proc_kib("VmRSS:");
  storage::CleanerConfig cc;
  cc.dedupe_buffer_bytes = buffer;
  storage::Cleaner cleaner(nullptr, cc);
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  int passes = 0;
  for (; passes < 1000; ++passes) {
    auto r = cleaner.clean_now(*log);
    if (!r) die(r.error().to_string());
    if (!r->has_value()) break;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;
  const long hwm = proc_kib("VmHWM:");
  const auto& s = cleaner.stats();
  const double cleaned_mb = static_cast<double>(before) / 1e6;
  std::printf(
      "cleaned in %d pass(es): %.2f s wall, %.2f CPU-s; %.1f MB/s wall, %.1f MB/s per "
      "core (MB of log per CPU-second)\n",
      passes, wall, cpu, cleaned_mb / wall, cleaned_mb / cpu);
  std::printf("read %.1f MB, wrote %.1f MB, log %.1f -> %.1f MiB, %llu records removed\n",
              static_cast<double>(s.bytes_read) / 1e6, static_cast<double>(s.bytes_written) / 1e6,
              static_cast<double>(before) / (1 << 20),
              static_cast<double>(log->size_bytes()) / (1 << 20),
              static_cast<unsigned long long>(s.records_removed));
  std::printf("peak RSS during cleaning: %.1f MiB above the %.1f MiB before it\n",
              static_cast<double>(hwm - rss0) / 1024, static_cast<double>(rss0) / 1024);
  log->close();
  (void)platform::remove_tree(dir);
  return 0;
}

}  // namespace
}  // namespace ferry

int main(int argc, char** argv) { return ferry::run(argc, argv); }
