// FetchWaiters: parked fetches and their wake-ups. See fetch_waiters.h.
#include "broker/fetch_waiters.h"

#include <algorithm>

namespace ferry::broker {

void FetchWaiters::park(std::vector<std::pair<std::string, int32_t>> partitions, size_t min_bytes,
                        uint32_t max_wait_ms, std::function<void()> complete) {
  auto w = std::make_unique<Wait>();
  w->partitions = std::move(partitions);
  w->min_bytes = std::max<size_t>(min_bytes, 1);
  w->complete = std::move(complete);
  w->timer = std::make_unique<UvTimer>(loop_);
  Wait* raw = w.get();
  // Answer no earlier than max_wait_ms after the request: clients time the wait themselves and
  // may expect to see it pass (kafka-go reports a read deadline only if it has). The loop's
  // clock is refreshed (it was read when this iteration began) and has whole-millisecond
  // resolution, so a timer may fire up to 1 ms early in real time; clients also round their
  // remaining time down to whole milliseconds. Two extra milliseconds cover both.
  uv_update_time(loop_);
  w->timer->start(static_cast<uint64_t>(max_wait_ms) + 2, [this, raw] { finish(raw); });
  waits_.push_back(std::move(w));
}

void FetchWaiters::notify(const std::string& topic, int32_t partition, size_t bytes) {
  if (waits_.empty()) return;
  std::vector<Wait*> ready;
  for (auto& w : waits_) {
    for (const auto& [t, p] : w->partitions) {
      if (p == partition && t == topic) {
        w->gained += bytes;
        if (w->gained >= w->min_bytes) ready.push_back(w.get());
        break;
      }
    }
  }
  for (Wait* w : ready) finish(w);
}

void FetchWaiters::complete_all() {
  std::vector<Wait*> all;
  for (auto& w : waits_) all.push_back(w.get());
  for (Wait* w : all) finish(w);
}

void FetchWaiters::finish(Wait* w) {
  auto it = std::find_if(waits_.begin(), waits_.end(), [&](auto& p) { return p.get() == w; });
  if (it == waits_.end()) return;
  std::unique_ptr<Wait> owned = std::move(*it);
  waits_.erase(it);
  owned->timer->stop();
  auto complete = std::move(owned->complete);
  owned.reset();  // the timer handle closes; `complete` may park a new wait
  if (complete) complete();
}

}  // namespace ferry::broker
