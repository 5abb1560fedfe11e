// The ring of recent WARN/ERROR lines. See log_recent.h.
#include "common/log_recent.h"

#include <array>
#include <mutex>

namespace ferry::log {
namespace {

struct Ring {
  std::mutex mutex;
  std::array<RecentLine, kRecentCapacity> lines;
  uint64_t total = 0;  // the next line goes to lines[total % kRecentCapacity]
};

Ring& ring() {
  static Ring r;
  return r;
}

}  // namespace

void remember(Level level, const char* module, std::string_view message, int64_t time_ms) {
  if (message.size() > kRecentMessageMax) message = message.substr(0, kRecentMessageMax);
  Ring& r = ring();
  std::lock_guard<std::mutex> lock(r.mutex);
  RecentLine& slot = r.lines[static_cast<size_t>(r.total % kRecentCapacity)];
  slot.time_ms = time_ms;
  slot.level = level;
  slot.module.assign(module != nullptr ? module : "");
  slot.message.assign(message);  // reuses the slot's buffer once the ring has wrapped
  ++r.total;
}

std::vector<RecentLine> recent_lines() {
  Ring& r = ring();
  std::lock_guard<std::mutex> lock(r.mutex);
  const uint64_t n = r.total < kRecentCapacity ? r.total : kRecentCapacity;
  std::vector<RecentLine> out;
  out.reserve(static_cast<size_t>(n));
  for (uint64_t i = r.total - n; i < r.total; ++i) {
    out.push_back(r.lines[static_cast<size_t>(i % kRecentCapacity)]);
  }
  return out;
}

uint64_t recent_total() noexcept {
  Ring& r = ring();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.total;
}

void clear_recent() noexcept {
  Ring& r = ring();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.total = 0;
}

}  // namespace ferry::log
