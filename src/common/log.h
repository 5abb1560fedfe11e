// Logging to stderr (journald picks it up under systemd), with a process-wide level.
//
//   FERRY_LOG(warn, "storage", "truncated %s at %llu", name.c_str(), pos);
//   FERRY_LOG_RATELIMITED(warn, "net", "invalid frame size", "%s sent ...", peer.c_str());
//
// Every line is one line: control characters in the formatted text (a newline inside a
// client-supplied string) are written as \xNN, so nothing a client sends can forge a line.
// Strings that come from clients (client ids, topic and group names, ...) should still go
// through log_escape(), which also escapes non-ASCII bytes and bounds the length.
//
// Warnings a client can trigger over and over go through FERRY_LOG_RATELIMITED: at most
// `burst` lines per `interval` for each cause (a fixed string naming what happened), then
// nothing until the interval ends; the next line written for that cause says how many were
// suppressed. A flood from a fuzzer or a misbehaving client costs a few lines, not flash wear.
//
// Thread-safe: each line is formatted into a buffer and written with one write(2); the rate
// limiter takes a mutex.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::log {

enum class Level { trace = 0, debug, info, warn, error, off };

void set_level(Level level) noexcept;
Level level() noexcept;
// Parses "trace|debug|info|warn|error|off"; returns false on anything else.
bool parse_level(std::string_view text, Level* out) noexcept;

// A hook tests use to capture log lines; nullptr restores stderr. Called on the logging thread.
using Sink = void (*)(Level level, std::string_view line, void* ctx);
void set_sink(Sink sink, void* ctx) noexcept;

void write(Level level, const char* module, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Like write(), unless `cause` already had its burst of lines in the current interval. The line
// after a suppressed run ends with "(N similar lines suppressed)".
void write_ratelimited(Level level, const char* module, const char* cause, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));

// The default: 5 lines per cause every 10 seconds. Tests shorten it.
void set_rate_limit(uint32_t burst, int64_t interval_ms) noexcept;

// A client-supplied string made safe for a log line: printable ASCII stays, a backslash becomes
// "\\", every other byte (control characters, DEL, bytes >= 0x80) becomes "\xNN". At most
// `max_bytes` input bytes are shown, then "...(N bytes)".
std::string escape(std::string_view text, size_t max_bytes = 256);

// Counts lines per cause key: at most `burst` per `interval_ms`. Not thread-safe by itself
// (write_ratelimited guards its own instance with a mutex); the clock is passed in so tests
// need no sleeps.
class RateLimiter {
 public:
  RateLimiter(uint32_t burst, int64_t interval_ms) noexcept
      : burst_(burst), interval_ms_(interval_ms) {}
  // True when a line for `cause` may be written at `now_ms`; then `*suppressed` is the number
  // of lines refused for this cause since the last one allowed.
  bool allow(std::string_view cause, int64_t now_ms, uint64_t* suppressed);
  void configure(uint32_t burst, int64_t interval_ms) noexcept {
    burst_ = burst;
    interval_ms_ = interval_ms;
  }

 private:
  struct Window {
    int64_t start_ms = 0;
    uint32_t lines = 0;
    uint64_t suppressed = 0;
  };
  // Causes are a handful of fixed strings; the table is cleared should it ever grow past this.
  static constexpr size_t kMaxCauses = 256;
  uint32_t burst_;
  int64_t interval_ms_;
  std::vector<std::pair<std::string, Window>> windows_;
};

}  // namespace ferry::log

#define FERRY_LOG(lvl, module, ...)                                       \
  do {                                                                    \
    if (::ferry::log::Level::lvl >= ::ferry::log::level())                \
      ::ferry::log::write(::ferry::log::Level::lvl, module, __VA_ARGS__); \
  } while (0)

#define FERRY_LOG_RATELIMITED(lvl, module, cause, ...)                                       \
  do {                                                                                       \
    if (::ferry::log::Level::lvl >= ::ferry::log::level())                                   \
      ::ferry::log::write_ratelimited(::ferry::log::Level::lvl, module, cause, __VA_ARGS__); \
  } while (0)
