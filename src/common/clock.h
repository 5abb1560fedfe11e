// Wall-clock time in milliseconds behind a small interface, so retention and segment-roll logic
// can be tested with a fake clock.
#pragma once

#include <cstdint>

namespace ferry {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (Kafka timestamps use the same unit).
  virtual int64_t now_ms() const = 0;
  // Milliseconds on a clock that never jumps (origin unspecified), for deadlines: session and
  // rebalance timeouts must not all fire when NTP corrects the wall clock. Clocks that do not
  // override it (fakes) move it with now_ms.
  virtual int64_t steady_ms() const { return now_ms(); }

  // The process-wide real clock.
  static const Clock& system();
};

// A clock that only moves when told to. Not thread-safe: tests drive it from one thread.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t now_ms() const override { return now_; }
  void advance_ms(int64_t ms) { now_ += ms; }
  void set_ms(int64_t ms) { now_ = ms; }

 private:
  int64_t now_;
};

}  // namespace ferry
