// The per-address limit on failed SASL authentications: once an address has failed `max`
// times within `window_ms`, every further attempt from it is refused without checking the
// credentials until `window_ms` after its last counted failure (so guessing a password from
// one address gets nowhere fast, and the correct password does not help during the lockout).
// Attempts refused in a lockout do not extend it. At most `max_addresses` addresses are
// tracked; beyond that the stalest are forgotten.
//
// Threading: the broker's loop thread.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

namespace ferry::broker::auth {

class FailureLimiter {
 public:
  FailureLimiter(uint32_t max, uint64_t window_ms, size_t max_addresses = 10000)
      : max_(max), window_ms_(window_ms), max_addresses_(max_addresses) {}

  // Whether `address` is locked out at `now_ms` (max == 0 disables the limit).
  bool locked_out(const std::string& address, uint64_t now_ms);
  // Counts a failed authentication; true when this failure starts a lockout.
  bool record_failure(const std::string& address, uint64_t now_ms);
  // A success forgets the address's failures.
  void record_success(const std::string& address);

  size_t tracked() const noexcept { return by_address_.size(); }

 private:
  struct Entry {
    std::deque<uint64_t> failures;  // times of the failures within the window, oldest first
    uint64_t last_ms = 0;
  };
  void expire(Entry& e, uint64_t now_ms) const;
  void prune(uint64_t now_ms);

  uint32_t max_;
  uint64_t window_ms_;
  size_t max_addresses_;
  std::unordered_map<std::string, Entry> by_address_;
};

}  // namespace ferry::broker::auth
