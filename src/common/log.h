// Logging to stderr (journald picks it up under systemd), with a process-wide level.
//
//   FERRY_LOG(warn, "storage", "truncated %s at %llu", name.c_str(), pos);
//
// Thread-safe: each line is formatted into a buffer and written with one write(2).
#pragma once

#include <cstdarg>
#include <string_view>

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

}  // namespace ferry::log

#define FERRY_LOG(lvl, module, ...)                                       \
  do {                                                                    \
    if (::ferry::log::Level::lvl >= ::ferry::log::level())                \
      ::ferry::log::write(::ferry::log::Level::lvl, module, __VA_ARGS__); \
  } while (0)
