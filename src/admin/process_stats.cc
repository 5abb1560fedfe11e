// The process's own numbers from /proc/self. See process_stats.h.
#include "admin/process_stats.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace ferry::admin {
namespace {

std::string read_small_file(const char* path) {
  std::string out;
  FILE* f = std::fopen(path, "re");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

uint64_t field_after(const std::string& text, const char* key) {
  const size_t at = text.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(text.c_str() + at + std::strlen(key), nullptr, 10);
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats s;
  const long page = sysconf(_SC_PAGESIZE);
  const long ticks = sysconf(_SC_CLK_TCK);
  const std::string statm = read_small_file("/proc/self/statm");
  if (!statm.empty()) {
    unsigned long long size = 0, resident = 0;
    if (std::sscanf(statm.c_str(), "%llu %llu", &size, &resident) == 2 && page > 0) {
      s.resident_bytes = static_cast<uint64_t>(resident) * static_cast<uint64_t>(page);
      s.available = true;
    }
  }
  // /proc/self/stat: fields after the command name in parentheses (which may hold spaces);
  // utime and stime are fields 14 and 15, num_threads 20.
  const std::string stat = read_small_file("/proc/self/stat");
  const size_t close = stat.rfind(')');
  if (close != std::string::npos && ticks > 0) {
    unsigned long long utime = 0, stime = 0;
    long long threads = 0;
    if (std::sscanf(stat.c_str() + close + 1,
                    " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %lld",
                    &utime, &stime, &threads) == 3) {
      s.cpu_user_seconds = static_cast<double>(utime) / static_cast<double>(ticks);
      s.cpu_system_seconds = static_cast<double>(stime) / static_cast<double>(ticks);
      s.threads = threads > 0 ? static_cast<uint64_t>(threads) : 0;
    }
  }
  const std::string io = read_small_file("/proc/self/io");
  if (!io.empty()) {
    s.io_read_bytes = field_after(io, "\nread_bytes:");
    s.io_write_bytes = field_after(io, "\nwrite_bytes:");
    s.io_wchar = field_after(io, "\nwchar:");
  }
  return s;
}

}  // namespace ferry::admin
