// Fetches parked until enough data arrives (Kafka's delayed fetch, "purgatory").
//
// A fetch that finds fewer than min_bytes waits here with a max_wait_ms timer. Each append
// reports its partition and stored bytes; a wait whose partitions have gained min_bytes since it
// parked completes at once, otherwise its timer completes it. Either way `complete` runs exactly
// once, on the loop thread, and rebuilds the response from the logs. No polling.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/uv_timer.h"

namespace ferry::broker {

class FetchWaiters {
 public:
  explicit FetchWaiters(uv_loop_t* loop) : loop_(loop) {}

  struct Wait {
    std::vector<std::pair<std::string, int32_t>> partitions;
    size_t min_bytes = 1;
    size_t gained = 0;
    std::function<void()> complete;
    std::unique_ptr<UvTimer> timer;
  };

  // Parks a fetch for at most `max_wait_ms`.
  void park(std::vector<std::pair<std::string, int32_t>> partitions, size_t min_bytes,
            uint32_t max_wait_ms, std::function<void()> complete);
  // Called after each append.
  void notify(const std::string& topic, int32_t partition, size_t bytes);
  // Completes every parked fetch now (shutdown, topic deletion).
  void complete_all();
  size_t size() const noexcept { return waits_.size(); }

 private:
  void finish(Wait* w);

  uv_loop_t* loop_;
  std::vector<std::unique_ptr<Wait>> waits_;
};

}  // namespace ferry::broker
