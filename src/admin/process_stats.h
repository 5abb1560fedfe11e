// The process's own numbers from /proc/self (Linux): resident memory, CPU time, bytes read and
// written by its I/O system calls and by the storage below (write_bytes: what reached the block
// layer, the flash-wear figure), open file descriptors. Zero where /proc is unavailable.
// Reading them costs a few small file reads; loop thread, once per scrape.
#pragma once

#include <cstdint>

namespace ferry::admin {

struct ProcessStats {
  uint64_t resident_bytes = 0;
  double cpu_user_seconds = 0;
  double cpu_system_seconds = 0;
  uint64_t io_read_bytes = 0;   // /proc/self/io read_bytes
  uint64_t io_write_bytes = 0;  // /proc/self/io write_bytes
  uint64_t io_wchar = 0;        // /proc/self/io wchar: bytes passed to write calls
  uint64_t threads = 0;
  bool available = false;
};

ProcessStats read_process_stats();

}  // namespace ferry::admin
