// Batch validation benchmark: what checking a produced batch costs (per codec, 16 KiB and 1 MiB
// batches of sensor-sized records), what it adds to appending 1 MiB compressed batches to a
// partition log, and what verifying CRC32C on read costs a consumer's read path. Each figure is
// printed next to the same work without the check, measured in the same run (the machines are
// shared and noisy, so only the ratios taken together mean something). Not a test: it prints
// figures and exits 0.
//
//   validate_bench [--dir DIR] [--mib N]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "protocol/batch_validator.h"
#include "protocol/compression.h"
#include "protocol/record_batch.h"
#include "storage/log.h"

namespace ferry {
namespace {

using Clock = std::chrono::steady_clock;
using protocol::Compression;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "validate_bench: %s\n", what.c_str());
  std::exit(1);
}

// A batch of about `bytes` uncompressed record bytes: 200-byte JSON-ish sensor readings (they
// compress about 4:1, like real telemetry), compressed with `codec`.
std::vector<std::byte> make_batch(size_t bytes, Compression codec, uint32_t seed) {
  std::mt19937 rng(seed);
  const size_t count = std::max<size_t>(1, bytes / 215);
  std::vector<std::string> values;
  for (size_t i = 0; i < count; ++i) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "{\"device\":\"gw-%04u\",\"t\":%u,\"temp\":%u.%02u,\"rpm\":%u,\"state\":\"%s\","
                  "\"seq\":%zu}",
                  static_cast<unsigned>(rng() % 64), static_cast<unsigned>(rng()),
                  static_cast<unsigned>(rng() % 90), static_cast<unsigned>(rng() % 100),
                  static_cast<unsigned>(rng() % 9000), (rng() % 2) ? "run" : "idle", i);
    std::string v(buf);
    v.resize(200, ' ');
    values.push_back(std::move(v));
  }
  std::vector<protocol::RecordInput> in;
  for (const auto& v : values) in.push_back({"device-17", v, 1'700'000'000'000, {}});
  auto plain = protocol::build_batch(in, {}).value();
  if (codec == Compression::none) return plain;
  // Recompress the records section with the codec and patch the header.
  namespace bl = protocol::batch_layout;
  auto packed =
      protocol::compress(codec, std::span<const std::byte>(plain).subspan(bl::kRecords)).value();
  std::vector<std::byte> out(bl::kHeaderSize + packed.size());
  std::copy_n(plain.begin(), bl::kHeaderSize, out.begin());
  std::copy(packed.begin(), packed.end(), out.begin() + bl::kHeaderSize);
  store_be16(out.data() + bl::kAttributes, static_cast<uint16_t>(codec));
  store_i32(out.data() + bl::kBatchLength, static_cast<int32_t>(out.size() - bl::kLogOverhead));
  store_be32(out.data() + bl::kCrc, protocol::compute_batch_crc(out));
  return out;
}

// Microseconds per validate_produced_batch of `batch` (best of 5 rounds).
double validate_us(const std::vector<std::byte>& batch) {
  const int n = batch.size() > (256u << 10) ? 20 : 500;
  double best = 1e9;
  for (int round = 0; round < 5; ++round) {
    auto t = Clock::now();
    for (int i = 0; i < n; ++i) {
      auto c = protocol::validate_produced_batch(batch);
      if (!c.ok()) die("bench batch refused: " + c.reason);
    }
    best = std::min(best, seconds_since(t) * 1e6 / n);
  }
  return best;
}

std::shared_ptr<storage::Log> open_log(const std::string& dir) {
  std::filesystem::remove_all(dir);
  storage::LogConfig cfg;
  cfg.segment_bytes = 256u << 20;
  cfg.flush_messages = INT64_MAX;
  cfg.flush_ms = INT64_MAX;
  auto log = storage::Log::open(dir, cfg);
  if (!log) die("open " + dir + ": " + log.error().to_string());
  return std::move(log).value();
}

// Appends `total` bytes of `batch` copies to a fresh log, with or without the produce-path
// check of compressed records before each append; MB/s of batch bytes.
double append_mb_per_s(const std::string& dir, const std::vector<std::byte>& batch, size_t total,
                       bool validate) {
  auto log = open_log(dir);
  const size_t n = std::max<size_t>(1, total / batch.size());
  auto t = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    if (validate) {
      if (!protocol::validate_produced_header(batch).ok()) die("header refused");
      if (!protocol::validate_compressed_records(batch).ok()) die("records refused");
    }
    if (!log->append(batch)) die("append failed");
  }
  const double s = seconds_since(t);
  log->close();
  std::filesystem::remove_all(dir);
  return static_cast<double>(n * batch.size()) / s / 1e6;
}

// Reads the whole log in 1 MiB fetches (page cache), with or without the fetch path's CRC32C
// check; MB/s.
double read_mb_per_s(storage::Log& log, bool verify) {
  auto t = Clock::now();
  size_t bytes = 0;
  Offset at = log.log_start_offset();
  while (at < log.log_end_offset()) {
    auto r = log.read(at, 1u << 20);
    if (!r) die("read failed");
    if (verify && protocol::intact_prefix(r->data).fault) die("intact data reported damaged");
    bytes += r->data.size();
    at = r->next_offset;
  }
  return static_cast<double>(bytes) / seconds_since(t) / 1e6;
}

}  // namespace
}  // namespace ferry

int main(int argc, char** argv) {
  using namespace ferry;
  std::string dir = std::filesystem::temp_directory_path().string();
  size_t mib = 256;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--mib" && i + 1 < argc) {
      mib = static_cast<size_t>(std::atol(argv[++i]));
    } else {
      die("usage: validate_bench [--dir DIR] [--mib N]");
    }
  }
  const std::string log_dir = dir + "/ferry-validate-bench-" + std::to_string(::getpid());

  std::printf("validate_produced_batch, microseconds per batch (best of 5)\n");
  std::printf("%-8s %12s %12s %12s %12s\n", "codec", "16KiB:wire", "16KiB:us", "1MiB:wire",
              "1MiB:us");
  for (Compression c : {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4,
                        Compression::zstd}) {
    auto small = make_batch(16u << 10, c, 1);
    auto big = make_batch(1u << 20, c, 2);
    std::printf("%-8s %12zu %12.1f %12zu %12.1f\n",
                std::string(protocol::compression_name(c)).c_str(), small.size(),
                validate_us(small), big.size(), validate_us(big));
  }

  std::printf("\nappend of 1 MiB-record batches to a log (page cache), MB/s of batch bytes\n");
  std::printf("%-8s %12s %12s %8s\n", "codec", "unchecked", "checked", "ratio");
  for (Compression c : {Compression::lz4, Compression::gzip}) {
    auto b = make_batch(1u << 20, c, 3);
    const size_t total = mib << 20;
    const double off = append_mb_per_s(log_dir, b, total / 4, false);
    const double on = append_mb_per_s(log_dir, b, total / 4, true);
    std::printf("%-8s %12.0f %12.0f %8.2f\n", std::string(protocol::compression_name(c)).c_str(),
                off, on, on / off);
  }

  std::printf("\nconsume read path, %zu MiB of 16 KiB batches (page cache), MB/s\n", mib);
  auto log = open_log(log_dir);
  auto b = make_batch(16u << 10, Compression::none, 4);
  for (size_t written = 0; written < (mib << 20); written += b.size()) {
    if (!log->append(b)) die("append failed");
  }
  double plain = 0, verified = 0;
  for (int round = 0; round < 3; ++round) {  // interleaved, best of 3 each
    plain = std::max(plain, read_mb_per_s(*log, false));
    verified = std::max(verified, read_mb_per_s(*log, true));
  }
  std::printf("%12s %12s %8s\n", "unverified", "verified", "ratio");
  std::printf("%12.0f %12.0f %8.2f\n", plain, verified, verified / plain);
  log->close();
  std::filesystem::remove_all(log_dir);
  return 0;
}
