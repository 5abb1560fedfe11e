// Snappy decode benchmark: ferry's decompress() of raw snappy blocks (librdkafka, sarama,
// kafka-go) and of xerial-framed chunks (Java client, kafka-python) against Google's libsnappy
// decoding the same raw blocks directly, measured in the same run. The input is compressed once
// with libsnappy, so every decoder reads the same bytes. Not a test: it prints figures and
// exits 0.
//
//   snappy_bench [--mib N]
#include <snappy.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "protocol/compression.h"

namespace ferry {
namespace {

using Clock = std::chrono::steady_clock;

// `bytes` of 200-byte JSON-ish sensor readings (about 4:1 with snappy, like real telemetry).
std::string sensor_data(size_t bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out;
  for (size_t i = 0; out.size() < bytes; ++i) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "{\"device\":\"gw-%04u\",\"t\":%u,\"temp\":%u.%02u,\"rpm\":%u,\"state\":\"%s\","
                  "\"seq\":%zu}",
                  static_cast<unsigned>(rng() % 64), static_cast<unsigned>(rng()),
                  static_cast<unsigned>(rng() % 90), static_cast<unsigned>(rng() % 100),
                  static_cast<unsigned>(rng() % 9000), (rng() % 2) ? "run" : "idle", i);
    std::string v(buf);
    v.resize(200, ' ');
    out += v;
  }
  out.resize(bytes);
  return out;
}

std::vector<std::byte> to_bytes(const std::string& s) {
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

// snappy-java's framing: magic, version 1, compatible version 1, then [length][raw block] per
// 32 KiB of input.
std::string xerial(const std::string& plain) {
  std::string out(reinterpret_cast<const char*>(protocol::kXerialMagic),
                  sizeof(protocol::kXerialMagic));
  const char versions[8] = {0, 0, 0, 1, 0, 0, 0, 1};
  out.append(versions, 8);
  for (size_t pos = 0; pos < plain.size(); pos += 32768) {
    std::string block;
    snappy::Compress(plain.data() + pos, std::min<size_t>(32768, plain.size() - pos), &block);
    const auto n = static_cast<uint32_t>(block.size());
    const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                         static_cast<char>(n >> 8), static_cast<char>(n)};
    out.append(len, 4);
    out += block;
  }
  return out;
}

// Decodes `in` repeatedly for about `total` bytes of output; returns MB/s of output.
template <typename Decode>
double throughput(size_t plain_size, size_t total, Decode&& decode) {
  const size_t rounds = std::max<size_t>(1, total / plain_size);
  decode();  // warm up
  const auto t = Clock::now();
  for (size_t i = 0; i < rounds; ++i) decode();
  const double s = std::chrono::duration<double>(Clock::now() - t).count();
  return static_cast<double>(rounds * plain_size) / s / 1e6;
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "snappy_bench: %s\n", what);
  std::exit(1);
}

}  // namespace
}  // namespace ferry

int main(int argc, char** argv) {
  using namespace ferry;
  size_t total_mib = 256;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--mib") == 0) total_mib = std::strtoul(argv[i + 1], nullptr, 10);
  }
  const size_t total = total_mib << 20;
  std::printf("%-28s %12s %12s %12s %8s\n", "input", "libsnappy", "ferry raw", "ferry xerial",
              "ratio");
  for (size_t size : {size_t{16} << 10, size_t{1} << 20}) {
    const std::string plain = sensor_data(size, 7);
    std::string raw;
    snappy::Compress(plain.data(), plain.size(), &raw);
    const auto raw_bytes = to_bytes(raw);
    const auto xerial_bytes = to_bytes(xerial(plain));
    std::string sink(plain.size(), '\0');
    const double lib = throughput(size, total, [&] {
      if (!snappy::RawUncompress(raw.data(), raw.size(), sink.data())) die("libsnappy failed");
    });
    auto ferry_decode = [&](const std::vector<std::byte>& in) {
      return [&] {
        auto out = protocol::decompress(protocol::Compression::snappy, in, plain.size());
        if (!out || out->size() != plain.size()) die("decompress failed");
      };
    };
    const double ours = throughput(size, total, ferry_decode(raw_bytes));
    const double framed = throughput(size, total, ferry_decode(xerial_bytes));
    char name[64];
    std::snprintf(name, sizeof name, "%zu KiB sensor JSON (%.1f:1)", size >> 10,
                  static_cast<double>(plain.size()) / static_cast<double>(raw.size()));
    std::printf("%-28s %9.0f MB/s %7.0f MB/s %7.0f MB/s %7.2fx\n", name, lib, ours, framed,
                ours / lib);
  }
  return 0;
}
