// A latency histogram with fixed bucket bounds, for the admin listener's /metrics: counts per
// bucket (non-cumulative here; the exposition makes them cumulative), the sum and the count.
// Plain counters, loop thread only; no allocation after construction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ferry {

class Histogram {
 public:
  // Upper bounds in seconds, from 100 microseconds to 10 seconds (then +Inf).
  static constexpr std::array<double, 16> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                     0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                     1.0,    2.5,     5.0,    10.0};

  void observe_ns(uint64_t ns) noexcept {
    const double s = static_cast<double>(ns) / 1e9;
    size_t i = 0;
    while (i < kBounds.size() && s > kBounds[i]) ++i;
    ++counts_[i];
    sum_ += s;
    ++count_;
  }
  // counts()[i]: observations in (kBounds[i-1], kBounds[i]]; the last: above every bound.
  const std::array<uint64_t, kBounds.size() + 1>& counts() const noexcept { return counts_; }
  double sum() const noexcept { return sum_; }
  uint64_t count() const noexcept { return count_; }

 private:
  std::array<uint64_t, kBounds.size() + 1> counts_{};
  double sum_ = 0;
  uint64_t count_ = 0;
};

}  // namespace ferry
