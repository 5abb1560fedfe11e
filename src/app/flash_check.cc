// The flash check of `ferry selfcheck`. See flash_check.h.
#include "app/flash_check.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "platform/file.h"

namespace ferry::app {
namespace {

Error io_error(const std::string& what, const std::string& path) {
  return Error(Errc::io, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<FlashReport> check_flash(const std::string& dir, int rounds, size_t bytes) {
  const std::string path = dir + "/.flash-check-" + std::to_string(::getpid());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("create", path);
  struct Cleanup {
    int fd;
    const std::string& path;
    ~Cleanup() {
      ::close(fd);
      ::unlink(path.c_str());
    }
  } cleanup{fd, path};

  std::string block(bytes, 'f');
  FlashReport r;
  for (int i = 0; i < rounds; ++i) {
    block[0] = static_cast<char>('0' + i % 10);  // new content each round
    const auto start = std::chrono::steady_clock::now();
    const ssize_t w = ::pwrite(fd, block.data(), block.size(), 0);
    if (w != static_cast<ssize_t>(block.size())) {
      if (w >= 0) errno = ENOSPC;
      return io_error("write", path);
    }
    if (::fdatasync(fd) != 0) return io_error("fdatasync", path);
    const auto end = std::chrono::steady_clock::now();
    r.sync_ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  if (!r.sync_ms.empty()) {
    std::vector<double> sorted = r.sync_ms;
    std::sort(sorted.begin(), sorted.end());
    r.min_ms = sorted.front();
    r.max_ms = sorted.back();
    r.median_ms = sorted[sorted.size() / 2];
  }
  auto space = platform::free_space(dir);
  if (!space) return space.error();
  r.available_bytes = space->available_bytes;
  r.total_bytes = space->total_bytes;
  return r;
}

}  // namespace ferry::app
