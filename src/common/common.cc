// Implementation of the common pieces: error names, the system clock (logging: log.cc).
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/clock.h"
#include "common/result.h"

namespace ferry {

std::string_view errc_name(Errc c) noexcept {
  switch (c) {
    case Errc::ok: return "ok";
    case Errc::io: return "io";
    case Errc::no_space: return "no_space";
    case Errc::corrupt: return "corrupt";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::not_found: return "not_found";
    case Errc::already_exists: return "already_exists";
    case Errc::out_of_range: return "out_of_range";
    case Errc::too_large: return "too_large";
    case Errc::unsupported: return "unsupported";
    case Errc::closed: return "closed";
    case Errc::failed_state: return "failed_state";
    case Errc::newer_version: return "newer_version";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string s(errc_name(code_));
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

Error Error::from_errno(int err, std::string_view what) {
  Errc code = (err == ENOSPC || err == EDQUOT) ? Errc::no_space : Errc::io;
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  return Error(code, std::move(msg));
}

namespace {
class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
  int64_t steady_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
  }
};
}  // namespace

const Clock& Clock::system() {
  static const SystemClock clock;
  return clock;
}

}  // namespace ferry
