// Test tool: appends a new leader's epoch-start batch (one offset, no records;
// broker::Partition::append_epoch_start) to a partition directory of a stopped broker, the way
// the replication driver does when a node becomes leader. The epoch-start compat test runs it
// between two runs of `ferry serve` on the same data directory, to see real clients read past it.
//
//   epoch_start_writer <partition dir> <epoch> [control]
//
// With `control` the batch is written with the control attribute set instead (still no records),
// through the same leader write path, to compare how clients treat the two.
// Prints "<offset> <epoch>" (the batch's offset) and exits 0; exits 1 with a message otherwise.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "broker/partition.h"
#include "common/bytes.h"
#include "protocol/record_batch.h"
#include "storage/log.h"

int main(int argc, char** argv) {
  using namespace ferry;
  const bool control = argc == 4 && std::strcmp(argv[3], "control") == 0;
  if (argc != 3 && !control) {
    std::fprintf(stderr, "usage: %s <partition dir> <epoch> [control]\n", argv[0]);
    return 1;
  }
  int32_t epoch = 0;
  const char* e = argv[2];
  if (auto [p, ec] = std::from_chars(e, e + std::strlen(e), epoch); ec != std::errc() || *p) {
    std::fprintf(stderr, "bad epoch: %s\n", e);
    return 1;
  }
  auto log = storage::Log::open(argv[1], storage::LogConfig{});
  if (!log) {
    std::fprintf(stderr, "%s\n", log.error().to_string().c_str());
    return 1;
  }
  broker::Partition partition("tool", PartitionId(0), *log, nullptr);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  int rc = 1;
  if (control) {
    partition.set_leader_epoch(LeaderEpoch(epoch));
    auto batch = protocol::build_epoch_start_batch(LeaderEpoch(epoch), now_ms);
    store_be16(batch.data() + protocol::batch_layout::kAttributes, protocol::batch_attr::kControl);
    store_be32(batch.data() + protocol::batch_layout::kCrc, protocol::compute_batch_crc(batch));
    auto job = partition.begin_write();
    auto info =
        job ? partition.add(**job, std::move(batch)) : Result<storage::AppendInfo>(job.error());
    if (!info) {
      std::fprintf(stderr, "%s\n", info.error().to_string().c_str());
      return 1;
    }
    partition.submit(std::move(*job), [&](Status st) {
      if (!st) return;
      std::printf("%lld %d\n", static_cast<long long>(info->base_offset.value()), epoch);
      rc = 0;
    });
    (*log)->close([](Status) {});
    return rc;
  }
  // Without a loop the write job runs inline: `done` fires before this returns.
  partition.append_epoch_start(LeaderEpoch(epoch), now_ms, [&](Result<storage::AppendInfo> info) {
    if (!info) {
      std::fprintf(stderr, "%s\n", info.error().to_string().c_str());
      return;
    }
    std::printf("%lld %d\n", static_cast<long long>(info->base_offset.value()), epoch);
    rc = 0;
  });
  Status closed;
  (*log)->close([&](Status st) { closed = st; });
  if (!closed) {
    std::fprintf(stderr, "%s\n", closed.error().to_string().c_str());
    return 1;
  }
  return rc;
}
