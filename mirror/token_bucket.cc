// TokenBucket: refill over elapsed milliseconds, debt, and the wait until the debt is paid.
#include "mirror/token_bucket.h"

#include <algorithm>

namespace ferry::mirror {

namespace {
constexpr int64_t kScale = 1000;  // tokens per byte
}

TokenBucket::TokenBucket(uint64_t rate, uint64_t burst, int64_t now_ms)
    : rate_(rate),
      capacity_(static_cast<int64_t>(std::max<uint64_t>(burst, 1)) * kScale),
      tokens_(capacity_),
      last_ms_(now_ms) {}

void TokenBucket::refill(int64_t now_ms) {
  if (unlimited() || now_ms <= last_ms_) return;  // a clock that went back adds nothing
  const int64_t elapsed = now_ms - last_ms_;
  last_ms_ = now_ms;
  if (tokens_ >= capacity_) return;
  const int64_t rate = static_cast<int64_t>(rate_);
  const int64_t missing = capacity_ - tokens_;
  // elapsed x rate without overflow: a bucket that would fill anyway is just filled.
  if (elapsed >= missing / rate + 1) {
    tokens_ = capacity_;
  } else {
    tokens_ = std::min(capacity_, tokens_ + elapsed * rate);
  }
}

bool TokenBucket::may_send(int64_t now_ms) {
  if (unlimited()) return true;
  refill(now_ms);
  return tokens_ > 0;
}

void TokenBucket::take(uint64_t bytes, int64_t now_ms) {
  if (unlimited()) return;
  refill(now_ms);
  tokens_ -= static_cast<int64_t>(bytes) * kScale;
}

uint64_t TokenBucket::wait_ms(int64_t now_ms) {
  if (unlimited()) return 0;
  refill(now_ms);
  if (tokens_ > 0) return 0;
  // The first millisecond after which tokens_ > 0.
  const int64_t rate = static_cast<int64_t>(rate_);
  return static_cast<uint64_t>(-tokens_ / rate + 1);
}

int64_t TokenBucket::tokens(int64_t now_ms) {
  refill(now_ms);
  return tokens_ / kScale;
}

}  // namespace ferry::mirror
