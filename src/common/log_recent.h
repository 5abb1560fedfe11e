// The last WARN and ERROR log lines, kept in memory for the admin listener's /v1/status
// ("recent_errors") and the status page.
//
// A bounded ring of kRecentCapacity entries: the oldest is overwritten. Lines below WARN never
// reach it (log::write checks the level first), so the hot path of INFO/DEBUG logging is
// unchanged; a WARN/ERROR line costs one short mutex hold and a copy of at most kRecentMessageMax
// bytes. Lines refused by the rate limiter are not kept either.
//
// Thread-safe: any thread may log; recent_lines() copies under the same mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"

namespace ferry::log {

inline constexpr size_t kRecentCapacity = 50;
inline constexpr size_t kRecentMessageMax = 300;

struct RecentLine {
  int64_t time_ms = 0;  // wall clock, milliseconds since the epoch
  Level level = Level::warn;
  std::string module;
  std::string message;  // the escaped text of the line, without timestamp, level and module
};

// Called by log.cc for every WARN or ERROR line written; `message` is cut at kRecentMessageMax.
void remember(Level level, const char* module, std::string_view message, int64_t time_ms);

// The kept lines, oldest first (at most kRecentCapacity).
std::vector<RecentLine> recent_lines();
// Lines kept since the process started (including those overwritten since).
uint64_t recent_total() noexcept;
// Empties the ring (tests).
void clear_recent() noexcept;

}  // namespace ferry::log
