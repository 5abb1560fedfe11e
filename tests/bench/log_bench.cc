// Partition log benchmark: append and cold read-back throughput next to the raw speed of the
// same disk measured in the same run, printed as ratios (the machines are shared and noisy, so
// only ratios taken together mean something). Not a test: it prints figures and exits 0.
//
//   log_bench [--dir DIR] [--mib N] [--durable-batches N]
#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "platform/file.h"
#include "protocol/record_batch.h"
#include "storage/log.h"

namespace ferry {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "log_bench: %s\n", what.c_str());
  std::exit(1);
}

// Evicts `path` from the page cache: the whole cache when allowed (root), else the file's pages.
void drop_cache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  ::sync();
  if (FILE* f = std::fopen("/proc/sys/vm/drop_caches", "w")) {
    std::fputs("1", f);
    std::fclose(f);
  }
}

// One prebuilt batch of about `bytes`, records of 200 bytes (a sensor-sized payload).
std::vector<std::byte> make_batch(size_t bytes) {
  size_t count = std::max<size_t>(1, bytes / 215);
  std::string value(200, 's');
  std::vector<protocol::RecordInput> in(count, {"device-17", value, 1'700'000'000'000, {}});
  return protocol::build_batch(in, {}).value();
}

struct Figure {
  double mb_per_s;
  double batches_per_s;
};

Figure raw_write(const std::string& path, size_t total, size_t chunk, bool sync_each) {
  std::vector<std::byte> buf(chunk, std::byte{0x5A});
  auto f = platform::File::open(path, platform::File::Mode::create).value();
  (void)f.truncate(0);
  auto t = Clock::now();
  size_t n = 0;
  for (uint64_t off = 0; off < total; off += chunk, ++n) {
    if (!f.pwrite_all(buf, off)) die("raw write failed");
    if (sync_each && !f.datasync()) die("raw fdatasync failed");
  }
  if (!f.datasync()) die("raw fdatasync failed");
  double s = seconds_since(t);
  return {static_cast<double>(total) / s / 1e6, static_cast<double>(n) / s};
}

Figure raw_read(const std::string& path) {
  drop_cache(path);
  auto f = platform::File::open(path, platform::File::Mode::read_only).value();
  std::vector<std::byte> buf(1 << 20);
  auto t = Clock::now();
  uint64_t off = 0;
  for (;;) {
    auto n = f.pread_some(buf, off);
    if (!n) die("raw read failed");
    if (*n == 0) break;
    off += *n;
  }
  double s = seconds_since(t);
  return {static_cast<double>(off) / s / 1e6, 0};
}

// Appends `total` bytes of prebuilt batches. Without per-batch durability the log runs on a
// libuv loop as in the broker: flushes (at rolls and at the end) go to the thread pool while
// appends continue, and the loop turns every 1 MiB of appends as it would between requests.
Figure log_append(const std::string& dir, size_t total, size_t batch_bytes, bool durable_each) {
  (void)platform::remove_tree(dir);
  uv_loop_t loop;
  uv_loop_init(&loop);
  storage::LogOptions opts;
  opts.loop = durable_each ? nullptr : &loop;
  auto log = storage::Log::open(dir, storage::LogConfig{}, opts).value();
  auto batch = make_batch(batch_bytes);
  auto t = Clock::now();
  size_t written = 0, n = 0, since_turn = 0;
  while (written < total) {
    storage::AppendOptions o;
    o.flush_now = durable_each;
    auto r = log->append(batch, std::move(o));
    if (!r) die("append failed: " + r.error().to_string());
    written += batch.size();
    since_turn += batch.size();
    ++n;
    if (!durable_each && since_turn >= (1 << 20)) {
      uv_run(&loop, UV_RUN_NOWAIT);
      since_turn = 0;
    }
  }
  bool done = false;
  log->flush([&](Status st) {
    if (!st) die("flush failed: " + st.error().to_string());
    done = true;
  });
  while (!done) uv_run(&loop, UV_RUN_ONCE);
  double s = seconds_since(t);
  log->close();
  log.reset();
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return {static_cast<double>(written) / s / 1e6, static_cast<double>(n) / s};
}

Figure log_read(const std::string& dir) {
  auto names = platform::list_dir(dir).value();
  for (const auto& n : names) drop_cache(dir + "/" + n);
  auto log = storage::Log::open(dir, storage::LogConfig{}).value();
  for (const auto& n : names) drop_cache(dir + "/" + n);  // open touched the tail
  auto t = Clock::now();
  Offset at = log->log_start_offset();
  size_t bytes = 0;
  while (at < log->log_end_offset()) {
    auto r = log->read(at, 1 << 20);
    if (!r) die("read failed: " + r.error().to_string());
    bytes += r->data.size();
    at = r->next_offset;
  }
  double s = seconds_since(t);
  return {static_cast<double>(bytes) / s / 1e6, 0};
}

void row(const char* what, Figure ferry, Figure raw, bool batches) {
  std::printf("%-46s %9.1f MB/s", what, ferry.mb_per_s);
  if (batches)
    std::printf(" %10.0f batches/s", ferry.batches_per_s);
  else
    std::printf(" %21s", "");
  std::printf("   raw %9.1f MB/s   ratio %5.2f\n", raw.mb_per_s, ferry.mb_per_s / raw.mb_per_s);
}

}  // namespace
}  // namespace ferry

int main(int argc, char** argv) {
  std::string dir = "./log-bench-data";
  size_t mib = 256;
  size_t durable_batches = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir")
      dir = argv[i + 1];
    else if (a == "--mib")
      mib = std::strtoul(argv[i + 1], nullptr, 10);
    else if (a == "--durable-batches")
      durable_batches = std::strtoul(argv[i + 1], nullptr, 10);
    else
      ferry::die("unknown option " + a);
  }
  using namespace ferry;
  if (!platform::create_dirs(dir)) die("cannot create " + dir);
  size_t total = mib << 20;
  std::string raw = dir + "/raw.bin";
  std::printf("log_bench: %zu MiB per run in %s\n\n", mib, dir.c_str());

  Figure raw_w16 = raw_write(raw, total, 16 << 10, false);
  Figure raw_r = raw_read(raw);
  Figure raw_w1 = raw_write(raw, total, 1 << 10, false);
  Figure raw_d16 = raw_write(raw, durable_batches * (16 << 10), 16 << 10, true);
  Figure raw_d1 = raw_write(raw, durable_batches * (1 << 10), 1 << 10, true);
  (void)platform::remove_file_durable(raw);

  std::string logdir = dir + "/log";
  Figure a16 = log_append(logdir, total, 16 << 10, false);
  Figure rd = log_read(logdir);
  Figure a1 = log_append(logdir, total, 1 << 10, false);
  Figure d16 = log_append(logdir, durable_batches * (16 << 10), 16 << 10, true);
  Figure d1 = log_append(logdir, durable_batches * (1 << 10), 1 << 10, true);
  (void)platform::remove_tree(logdir);

  row("append 16 KiB batches, one flush at the end", a16, raw_w16, true);
  row("append 1 KiB batches, one flush at the end", a1, raw_w1, true);
  row("append 16 KiB batches, fdatasync per batch", d16, raw_d16, true);
  row("append 1 KiB batches, fdatasync per batch", d1, raw_d1, true);
  row("read back a cold log, 1 MiB reads", rd, raw_r, false);
  std::printf(
      "\nraw = pwrite/pread of the same sizes on the same disk in this run; goal: ratio "
      ">= 0.80 for the 16 KiB append and the cold read.\n");
  return 0;
}
