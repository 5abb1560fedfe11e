// FailureLimiter (see failure_limiter.h).
#include "broker/auth/failure_limiter.h"

namespace ferry::broker::auth {

void FailureLimiter::expire(Entry& e, uint64_t now_ms) const {
  // During a lockout (max failures, the last within the window) the failures are kept.
  if (e.failures.size() >= max_ && now_ms - e.last_ms < window_ms_) return;
  while (!e.failures.empty() && now_ms - e.failures.front() >= window_ms_) e.failures.pop_front();
}

bool FailureLimiter::locked_out(const std::string& address, uint64_t now_ms) {
  if (max_ == 0) return false;
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return false;
  expire(it->second, now_ms);
  if (it->second.failures.empty()) {
    by_address_.erase(it);
    return false;
  }
  return it->second.failures.size() >= max_;
}

bool FailureLimiter::record_failure(const std::string& address, uint64_t now_ms) {
  if (max_ == 0) return false;
  if (by_address_.size() >= max_addresses_ && by_address_.find(address) == by_address_.end())
    prune(now_ms);
  Entry& e = by_address_[address];
  expire(e, now_ms);
  if (e.failures.size() >= max_) return false;  // already locked out
  e.failures.push_back(now_ms);
  e.last_ms = now_ms;
  return e.failures.size() == max_;
}

void FailureLimiter::record_success(const std::string& address) { by_address_.erase(address); }

void FailureLimiter::prune(uint64_t now_ms) {
  for (auto it = by_address_.begin(); it != by_address_.end();) {
    expire(it->second, now_ms);
    it = it->second.failures.empty() ? by_address_.erase(it) : std::next(it);
  }
  // Still full: forget the address whose last failure is oldest.
  while (by_address_.size() >= max_addresses_) {
    auto oldest = by_address_.begin();
    for (auto it = by_address_.begin(); it != by_address_.end(); ++it) {
      if (it->second.last_ms < oldest->second.last_ms) oldest = it;
    }
    by_address_.erase(oldest);
  }
}

}  // namespace ferry::broker::auth
