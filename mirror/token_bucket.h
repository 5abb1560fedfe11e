// TokenBucket: the byte budget of a mirror's link (bandwidth.bytes.per.second), pure and driven
// by the time the caller passes in, so it is tested with a fake clock.
//
// The bucket fills at `rate` bytes per second up to `burst` bytes. A batch may go whenever the
// bucket is not in debt (tokens > 0), whatever its size: a batch larger than the burst still
// goes and leaves the bucket in debt, and the next batch waits until the debt is paid. Over any
// long stretch the bytes taken are thus at most rate x time + burst + one batch.
//
// Not thread-safe: owned by one Mirror, used on its loop.
#pragma once

#include <cstdint>

namespace ferry::mirror {

class TokenBucket {
 public:
  // rate: bytes per second, 0 = unlimited (every call below then allows at once). burst: the
  // bucket's capacity in bytes (at least 1). The bucket starts full at `now_ms`.
  TokenBucket(uint64_t rate, uint64_t burst, int64_t now_ms);

  // The burst used for a rate: 100 ms of it, at least 1 byte.
  static uint64_t default_burst(uint64_t rate) { return rate / 10 > 0 ? rate / 10 : 1; }

  bool unlimited() const noexcept { return rate_ == 0; }
  // Whether a batch (of any size) may be sent at `now_ms`.
  bool may_send(int64_t now_ms);
  // Takes `bytes` sent at `now_ms` (the bucket may go into debt).
  void take(uint64_t bytes, int64_t now_ms);
  // Milliseconds from `now_ms` until may_send() is true (0: now), rounded up.
  uint64_t wait_ms(int64_t now_ms);
  // Whole bytes in the bucket at `now_ms`; negative: the debt.
  int64_t tokens(int64_t now_ms);

 private:
  void refill(int64_t now_ms);

  // Tokens are counted in thousandths of a byte: a millisecond adds exactly `rate` of them, so
  // refilling over whole milliseconds loses nothing to rounding.
  uint64_t rate_;
  int64_t capacity_;  // burst x 1000
  int64_t tokens_;    // may be negative (debt)
  int64_t last_ms_;
};

}  // namespace ferry::mirror
