// Logging: line formatting, the stderr writer, escaping and the per-cause rate limiter.
#include "common/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "common/log_format.h"
#include "common/log_recent.h"

namespace ferry::log {
namespace {

std::atomic<Level> g_level{Level::info};
std::atomic<Format> g_format{Format::plain};
std::atomic<Sink> g_sink{nullptr};
std::atomic<void*> g_sink_ctx{nullptr};

constexpr uint32_t kDefaultBurst = 5;
constexpr int64_t kDefaultIntervalMs = 10'000;

std::mutex g_limiter_mutex;
RateLimiter& limiter() {
  static RateLimiter l(kDefaultBurst, kDefaultIntervalMs);
  return l;
}

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

// sd-daemon.h's priorities (syslog levels).
int journal_priority(Level l) {
  switch (l) {
    case Level::trace:
    case Level::debug: return 7;
    case Level::info: return 6;
    case Level::warn: return 4;
    case Level::error:
    case Level::off: return 3;
  }
  return 6;
}

int64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

constexpr size_t kLineMax = 1024;

// Formats the message part of a line into `out` (capacity kLineMax - used), replacing control
// characters with \xNN so that one call writes exactly one line. Returns the new length.
size_t append_message(char* buf, size_t len, const char* fmt, va_list ap) {
  char msg[kLineMax];
  const int m = std::vsnprintf(msg, sizeof msg, fmt, ap);
  if (m <= 0) return len;
  const size_t n = std::min(static_cast<size_t>(m), sizeof msg - 1);
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < n && len < kLineMax - 2; ++i) {
    const auto c = static_cast<unsigned char>(msg[i]);
    if (c >= 0x20 && c != 0x7f) {
      buf[len++] = static_cast<char>(c);
    } else {
      if (len + 4 > kLineMax - 2) break;
      buf[len++] = '\\';
      buf[len++] = 'x';
      buf[len++] = kHex[c >> 4];
      buf[len++] = kHex[c & 15];
    }
  }
  return len;
}

void emit(Level l, const char* module, const char* suffix, const char* fmt, va_list ap) {
  char buf[kLineMax];
  int n = 0;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  if (g_format.load(std::memory_order_relaxed) == Format::journal) {
    n = std::snprintf(buf, sizeof buf, "<%d>%s: ", journal_priority(l), module);
  } else {
    tm utc{};
    gmtime_r(&ts.tv_sec, &utc);
    n = std::snprintf(buf, sizeof buf,
                      "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ", utc.tm_year + 1900,
                      utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                      static_cast<long>(ts.tv_nsec / 1000000), level_name(l), module);
  }
  if (n < 0) return;
  size_t len = std::min(static_cast<size_t>(n), sizeof buf - 2);
  len = append_message(buf, len, fmt, ap);
  for (const char* s = suffix; s != nullptr && *s != '\0' && len < sizeof buf - 2; ++s) {
    buf[len++] = *s;
  }
  if (l >= Level::warn && l != Level::off) {
    const size_t head = std::min(static_cast<size_t>(n), len);
    remember(l, module, std::string_view(buf + head, len - head),
             static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000);
  }
  Sink sink = g_sink.load();
  if (sink != nullptr) {
    sink(l, std::string_view(buf, len), g_sink_ctx.load());
    return;
  }
  buf[len++] = '\n';
  const ssize_t w = ::write(STDERR_FILENO, buf, len);
  (void)w;
}

}  // namespace

void set_level(Level l) noexcept { g_level.store(l, std::memory_order_relaxed); }
Level level() noexcept { return g_level.load(std::memory_order_relaxed); }
void set_format(Format f) noexcept { g_format.store(f, std::memory_order_relaxed); }
Format format() noexcept { return g_format.load(std::memory_order_relaxed); }

bool is_journal_stream(const char* journal_stream, uint64_t dev, uint64_t ino) noexcept {
  if (journal_stream == nullptr) return false;
  unsigned long long want_dev = 0;
  unsigned long long want_ino = 0;
  char tail = 0;
  if (std::sscanf(journal_stream, "%llu:%llu%c", &want_dev, &want_ino, &tail) != 2) return false;
  return want_dev == dev && want_ino == ino;
}

Format detect_format() noexcept {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return Format::plain;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return Format::plain;
  return is_journal_stream(stream, static_cast<uint64_t>(st.st_dev),
                           static_cast<uint64_t>(st.st_ino))
             ? Format::journal
             : Format::plain;
}

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
  va_list ap;
  va_start(ap, fmt);
  emit(l, module, nullptr, fmt, ap);
  va_end(ap);
}

void write_ratelimited(Level l, const char* module, const char* cause, const char* fmt, ...) {
  uint64_t suppressed = 0;
  {
    std::lock_guard<std::mutex> lock(g_limiter_mutex);
    if (!limiter().allow(cause, monotonic_ms(), &suppressed)) return;
  }
  char suffix[64] = {0};
  if (suppressed > 0) {
    std::snprintf(suffix, sizeof suffix, " (%llu similar lines suppressed)",
                  static_cast<unsigned long long>(suppressed));
  }
  va_list ap;
  va_start(ap, fmt);
  emit(l, module, suffix, fmt, ap);
  va_end(ap);
}

void set_rate_limit(uint32_t burst, int64_t interval_ms) noexcept {
  std::lock_guard<std::mutex> lock(g_limiter_mutex);
  limiter().configure(burst, interval_ms);
}

std::string escape(std::string_view text, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t shown = std::min(text.size(), max_bytes);
  std::string out;
  out.reserve(shown + 16);
  for (size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (shown < text.size()) out += "...(" + std::to_string(text.size()) + " bytes)";
  return out;
}

bool RateLimiter::allow(std::string_view cause, int64_t now_ms, uint64_t* suppressed) {
  *suppressed = 0;
  Window* w = nullptr;
  for (auto& [key, window] : windows_) {
    if (key == cause) {
      w = &window;
      break;
    }
  }
  if (w == nullptr) {
    if (windows_.size() >= kMaxCauses) windows_.clear();
    windows_.emplace_back(std::string(cause), Window{now_ms, 0, 0});
    w = &windows_.back().second;
  }
  if (now_ms - w->start_ms >= interval_ms_) {
    w->start_ms = now_ms;
    w->lines = 0;
  }
  if (w->lines >= burst_) {
    ++w->suppressed;
    return false;
  }
  ++w->lines;
  *suppressed = w->suppressed;
  w->suppressed = 0;
  return true;
}

}  // namespace ferry::log
