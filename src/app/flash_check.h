// `ferry selfcheck`'s flash check: how long a small durable write takes in the data directory
// and how much space is left there.
//
// Writes a small file (`bytes`, default 4 KiB) `rounds` times in `dir` (pwrite at offset 0, then
// fdatasync, as the broker's log flushes do), measures each write + fdatasync, and removes the
// file whatever happened. On storage that lies about durability the figure is implausibly small
// (well under 0.1 ms); on worn or throttled flash it is tens of milliseconds or worse.
// Blocking; call it from a command, not the broker's loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace ferry::app {

struct FlashReport {
  std::vector<double> sync_ms;  // one per round, in order
  double min_ms = 0;
  double median_ms = 0;
  double max_ms = 0;
  uint64_t available_bytes = 0;
  uint64_t total_bytes = 0;
};

Result<FlashReport> check_flash(const std::string& dir, int rounds = 5, size_t bytes = 4096);

}  // namespace ferry::app
