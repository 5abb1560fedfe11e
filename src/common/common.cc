// Implementation of the common pieces: error names, logging, the system clock.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/clock.h"
#include "common/log.h"
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
};
}  // namespace

const Clock& Clock::system() {
  static const SystemClock clock;
  return clock;
}

namespace log {
namespace {
std::atomic<Level> g_level{Level::info};
std::atomic<Sink> g_sink{nullptr};
std::atomic<void*> g_sink_ctx{nullptr};
const char* level_name(Level l) {
  switch (l) {
    case Level::trace: return "TRACE";
    case Level::debug: return "DEBUG";
    case Level::info: return "INFO";
    case Level::warn: return "WARN";
    case Level::error: return "ERROR";
    case Level::off: return "OFF";
  }
  return "?";
}
}  // namespace

void set_level(Level l) noexcept { g_level.store(l, std::memory_order_relaxed); }
Level level() noexcept { return g_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view t, Level* out) noexcept {
  static constexpr std::pair<std::string_view, Level> kNames[] = {
      {"trace", Level::trace}, {"debug", Level::debug}, {"info", Level::info},
      {"warn", Level::warn},   {"error", Level::error}, {"off", Level::off}};
  for (const auto& [name, l] : kNames) {
    if (name == t) {
      *out = l;
      return true;
    }
  }
  return false;
}

void set_sink(Sink sink, void* ctx) noexcept {
  g_sink_ctx.store(ctx);
  g_sink.store(sink);
}

void write(Level l, const char* module, const char* fmt, ...) {
  char buf[1024];
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  int n = std::snprintf(buf, sizeof buf,
                        "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ", utc.tm_year + 1900,
                        utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                        static_cast<long>(ts.tv_nsec / 1000000), level_name(l), module);
  if (n < 0) return;
  size_t len = static_cast<size_t>(n);
  if (len < sizeof buf) {
    va_list ap;
    va_start(ap, fmt);
    int m = std::vsnprintf(buf + len, sizeof buf - len, fmt, ap);
    va_end(ap);
    if (m > 0) len += static_cast<size_t>(m);
  }
  if (len > sizeof buf - 2) len = sizeof buf - 2;
  Sink sink = g_sink.load();
  if (sink != nullptr) {
    sink(l, std::string_view(buf, len), g_sink_ctx.load());
    return;
  }
  buf[len++] = '\n';
  ssize_t w = ::write(STDERR_FILENO, buf, len);
  (void)w;
}

}  // namespace log
}  // namespace ferry
