// Scheduler: the highest ready priority, round robin by batch among its partitions.
#include "mirror/scheduler.h"

namespace ferry::mirror {

std::optional<uint64_t> Scheduler::pick(std::span<const SchedulerCandidate> ready) {
  if (ready.empty()) return std::nullopt;
  int32_t top = ready.front().priority;
  for (const SchedulerCandidate& c : ready) top = c.priority > top ? c.priority : top;
  auto last = last_.find(top);
  // The smallest id after the last turn, else (wrapping) the smallest id.
  std::optional<uint64_t> after;
  uint64_t lowest = UINT64_MAX;
  for (const SchedulerCandidate& c : ready) {
    if (c.priority != top) continue;
    if (c.id < lowest) lowest = c.id;
    if (last != last_.end() && c.id > last->second && (!after || c.id < *after)) after = c.id;
  }
  const uint64_t chosen = after ? *after : lowest;
  last_[top] = chosen;
  return chosen;
}

}  // namespace ferry::mirror
