// Broker-side codec rewrite cost (broker/recompress.h) per batch size, against the round trip
// of handing a job to libuv's thread pool, in the same run: where the rewrite stops being cheaper
// on the loop than the hop to the pool (kRewriteOffLoopBytes). Batches of 200-byte JSON sensor
// readings, uncompressed and gzip, rewritten into LZ4. Not a test: it prints figures and exits 0.
//
//   recompress_bench [--rounds N]
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "broker/recompress.h"
#include "protocol/compression.h"
#include "protocol/record_batch.h"

namespace ferry {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::byte> readings_batch(size_t bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> values;
  size_t total = 0;
  while (total < bytes) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "{\"sensor\":\"s%02u\",\"t\":%u,\"temp_c\":%u.%02u,\"rh\":%u,\"state\":\"%s\"}",
                  static_cast<unsigned>(rng() % 40), static_cast<unsigned>(rng()),
                  static_cast<unsigned>(rng() % 40), static_cast<unsigned>(rng() % 100),
                  static_cast<unsigned>(rng() % 100), (rng() % 2) ? "ok" : "warn");
    values.emplace_back(buf);
    values.back().resize(200, ' ');
    total += 200 + 16;
  }
  std::vector<protocol::RecordInput> records;
  for (const auto& v : values) records.push_back({std::nullopt, v, 1'700'000'000'000, {}});
  return protocol::build_batch(records, {}).value();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Microseconds from uv_queue_work to its after-work callback, for a job that does nothing.
double pool_round_trip_us(int rounds) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::vector<double> samples;
  struct Job {
    uv_work_t req;
    Clock::time_point start;
    std::vector<double>* out;
  } job{};
  job.out = &samples;
  for (int i = 0; i < rounds; ++i) {
    job.req.data = &job;
    job.start = Clock::now();
    uv_queue_work(
        &loop, &job.req, [](uv_work_t*) {},
        [](uv_work_t* r, int) {
          auto* j = static_cast<Job*>(r->data);
          j->out->push_back(
              std::chrono::duration<double, std::micro>(Clock::now() - j->start).count());
        });
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&loop);
  return median(samples);
}

}  // namespace
}  // namespace ferry

int main(int argc, char** argv) {
  using namespace ferry;
  int rounds = 200;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
  }
  const broker::RewriteLimits limits{protocol::kMaxInflatedBytes, 1u << 30};
  std::printf("thread-pool round trip (uv_queue_work, empty job): %.1f us median\n",
              pool_round_trip_us(rounds));
  std::printf("%10s %14s %14s %14s\n", "batch", "none->lz4 us", "gzip->lz4 us", "lz4/none size");
  for (size_t kib : {1, 4, 16, 64, 256, 1024}) {
    auto plain = readings_batch(kib << 10, static_cast<uint32_t>(kib));
    auto gz = broker::recompress_for_storage(plain, protocol::Compression::gzip, limits).value();
    std::vector<double> a, b;
    size_t out_size = 0;
    for (int r = 0; r < rounds; ++r) {
      auto t0 = Clock::now();
      auto lz = broker::recompress_for_storage(plain, protocol::Compression::lz4, limits);
      auto t1 = Clock::now();
      auto lz2 = broker::recompress_for_storage(gz, protocol::Compression::lz4, limits);
      auto t2 = Clock::now();
      out_size = lz ? lz->size() : plain.size();
      a.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      b.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
      if (!lz2) return 1;
    }
    std::printf("%7zu KiB %14.1f %14.1f %14.2f\n", kib, median(a), median(b),
                static_cast<double>(out_size) / static_cast<double>(plain.size()));
  }
  return 0;
}
