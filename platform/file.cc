// POSIX implementation of durable file I/O (Linux: fdatasync, fallocate, statvfs).
#include "platform/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace ferry::platform {
namespace {

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Large I/O is split so a 32-bit ssize_t never overflows and a signal interrupts less.
constexpr size_t kMaxChunk = size_t{1} << 30;

}  // namespace

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

File::File(File&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

Result<File> File::open(const std::string& path, Mode mode) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case Mode::read_only: flags |= O_RDONLY; break;
    case Mode::read_write: flags |= O_RDWR; break;
    case Mode::create: flags |= O_RDWR | O_CREAT; break;
    case Mode::create_new: flags |= O_RDWR | O_CREAT | O_EXCL; break;
  }
  int fd;
  do {
    fd = ::open(path.c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Error(Errc::not_found, "open " + path + ": no such file");
    if (err == EEXIST) return Error(Errc::already_exists, "open " + path + ": exists");
    return Error::from_errno(err, "open " + path);
  }
  return File(fd, path);
}

namespace {

// The test seam's budget: -1 = off.
std::atomic<int64_t> g_write_space{-1};

// Takes up to `want` bytes from the test budget; returns how many may be written.
size_t take_write_space(size_t want) {
  int64_t left = g_write_space.load();
  for (;;) {
    if (left < 0) return want;
    const int64_t take = std::min<int64_t>(left, static_cast<int64_t>(want));
    if (g_write_space.compare_exchange_weak(left, left - take)) return static_cast<size_t>(take);
  }
}

}  // namespace

void set_write_space_for_testing(std::optional<uint64_t> bytes) {
  g_write_space.store(bytes ? static_cast<int64_t>(*bytes) : -1);
}

Status File::pwrite_all(std::span<const std::byte> data, uint64_t offset) {
  if (size_t fits = take_write_space(data.size()); fits < data.size()) {
    if (fits > 0) {
      std::span<const std::byte> part = data.first(fits);
      if (::pwrite(fd_, part.data(), part.size(), static_cast<off_t>(offset)) < 0)
        return Error::from_errno(errno, "write " + path_);
    }
    return Error::from_errno(ENOSPC, "write " + path_);
  }
  while (!data.empty()) {
    size_t chunk = std::min(data.size(), kMaxChunk);
    ssize_t n = ::pwrite(fd_, data.data(), chunk, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "write " + path_);
    }
    if (n == 0) return Error(Errc::io, "write " + path_ + ": wrote nothing");
    data = data.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

Status File::pwritev_all(std::span<const std::span<const std::byte>> parts, uint64_t offset) {
  if (g_write_space.load() >= 0) {  // the test seam: one part at a time, each taking budget
    for (auto p : parts) {
      FERRY_TRY(pwrite_all(p, offset));
      offset += p.size();
    }
    return {};
  }
  constexpr size_t kMaxParts = 8;
  if (parts.size() > kMaxParts) {
    for (auto p : parts) {
      FERRY_TRY(pwrite_all(p, offset));
      offset += p.size();
    }
    return {};
  }
  iovec iov[kMaxParts];
  size_t n = 0;
  for (auto p : parts) {
    if (p.empty()) continue;
    iov[n].iov_base = const_cast<std::byte*>(p.data());
    iov[n].iov_len = p.size();
    ++n;
  }
  size_t first = 0;
  while (first < n) {
    ssize_t w =
        ::pwritev(fd_, iov + first, static_cast<int>(n - first), static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "write " + path_);
    }
    if (w == 0) return Error(Errc::io, "write " + path_ + ": wrote nothing");
    offset += static_cast<uint64_t>(w);
    auto left = static_cast<size_t>(w);
    while (first < n && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (first < n) {  // a short write ended inside this part
      iov[first].iov_base = static_cast<std::byte*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return {};
}

Result<size_t> File::pread_some(std::span<std::byte> data, uint64_t offset) const {
  size_t total = 0;
  while (total < data.size()) {
    size_t chunk = std::min(data.size() - total, kMaxChunk);
    ssize_t n = ::pread(fd_, data.data() + total, chunk, static_cast<off_t>(offset + total));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "read " + path_);
    }
    if (n == 0) break;  // end of file
    total += static_cast<size_t>(n);
  }
  return total;
}

Status File::pread_exact(std::span<std::byte> data, uint64_t offset) const {
  auto n = pread_some(data, offset);
  if (!n) return std::move(n).error();
  if (*n != data.size()) {
    return Error(Errc::out_of_range, "read " + path_ + ": short read at " + std::to_string(offset));
  }
  return {};
}

Status File::datasync() {
  if (::fdatasync(fd_) != 0) return Error::from_errno(errno, "fdatasync " + path_);
  return {};
}

Status File::sync() {
  if (::fsync(fd_) != 0) return Error::from_errno(errno, "fsync " + path_);
  return {};
}

Status File::truncate(uint64_t size) {
  int rc;
  do {
    rc = ::ftruncate(fd_, static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return Error::from_errno(errno, "truncate " + path_);
  return {};
}

Status File::allocate(uint64_t offset, uint64_t len) {
  int rc =
      ::fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset), static_cast<off_t>(len));
  if (rc == 0) return {};
  int err = errno;
  if (err == EOPNOTSUPP || err == ENOSYS || err == EINTR) return {};  // best effort
  return Error::from_errno(err, "fallocate " + path_);
}

Result<uint64_t> File::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return Error::from_errno(errno, "stat " + path_);
  return static_cast<uint64_t>(st.st_size);
}

Status File::close() {
  if (fd_ < 0) return {};
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0 && errno != EINTR) return Error::from_errno(errno, "close " + path_);
  return {};
}

Status sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::from_errno(errno, "open dir " + dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Error::from_errno(err, "fsync dir " + dir);
  return {};
}

Status create_dirs(const std::string& dir) {
  if (dir.empty() || exists(dir)) return {};
  std::string parent = parent_of(dir);
  if (parent != dir) FERRY_TRY(create_dirs(parent));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Error::from_errno(errno, "mkdir " + dir);
  }
  return sync_dir(parent);
}

Status remove_file_durable(const std::string& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return Error::from_errno(errno, "unlink " + path);
  }
  return sync_dir(parent_of(path));
}

Status rename_durable(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return Error::from_errno(errno, "rename " + from + " -> " + to);
  }
  FERRY_TRY(sync_dir(parent_of(to)));
  if (parent_of(from) != parent_of(to)) FERRY_TRY(sync_dir(parent_of(from)));
  return {};
}

Status remove_tree(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    return errno == ENOENT ? Status{} : Error::from_errno(errno, "stat " + dir);
  if (S_ISDIR(st.st_mode)) {
    auto names = list_dir(dir);
    if (!names) return std::move(names).error();
    for (const auto& n : *names) FERRY_TRY(remove_tree(dir + "/" + n));
    if (::rmdir(dir.c_str()) != 0) return Error::from_errno(errno, "rmdir " + dir);
    return {};
  }
  if (::unlink(dir.c_str()) != 0) return Error::from_errno(errno, "unlink " + dir);
  return {};
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<uint64_t> file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error(Errc::not_found, "stat " + path + ": no such file");
    return Error::from_errno(errno, "stat " + path);
  }
  return static_cast<uint64_t>(st.st_size);
}

Result<std::vector<std::string>> list_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return Error(Errc::not_found, "opendir " + dir + ": no such directory");
    return Error::from_errno(errno, "opendir " + dir);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Status write_file_atomic(const std::string& path, std::span<const std::byte> data) {
  std::string tmp = path + ".tmp";
  {
    auto f = File::open(tmp, File::Mode::create);
    if (!f) return std::move(f).error();
    FERRY_TRY(f->truncate(0));
    FERRY_TRY(f->pwrite_all(data, 0));
    FERRY_TRY(f->sync());
    FERRY_TRY(f->close());
  }
  return rename_durable(tmp, path);
}

Result<SpaceInfo> free_space(const std::string& path) {
  struct statvfs s {};
  if (::statvfs(path.c_str(), &s) != 0) return Error::from_errno(errno, "statvfs " + path);
  SpaceInfo info;
  info.total_bytes = static_cast<uint64_t>(s.f_blocks) * s.f_frsize;
  info.available_bytes = static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
  return info;
}

}  // namespace ferry::platform
