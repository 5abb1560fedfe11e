// POSIX implementation of the FileSystem (Linux: fdatasync, fallocate, statvfs), the File
// wrapper and the helpers every FileSystem shares.
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

std::string parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Error sync_error(int err, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  msg += " (sticky: unsynced data may be lost)";
  return Error(Errc::failed_state, std::move(msg));
}

// ---- File ------------------------------------------------------------------------------------

Result<File> File::open(const std::string& path, Mode mode) { return real_fs().open(path, mode); }

Status File::pread_exact(std::span<std::byte> data, uint64_t offset) const {
  auto n = pread_some(data, offset);
  if (!n) return std::move(n).error();
  if (*n != data.size()) {
    return Error(Errc::out_of_range, "read " + path_ + ": short read at " + std::to_string(offset));
  }
  return {};
}

Status File::close() {
  if (!handle_) return {};
  Status st = handle_->close();
  handle_.reset();
  return st;
}

// ---- helpers shared by every FileSystem ------------------------------------------------------

Status FileSystem::create_dirs(const std::string& dir) {
  if (dir.empty() || exists(dir)) return {};
  std::string parent = parent_dir(dir);
  if (parent != dir) FERRY_TRY(create_dirs(parent));
  if (auto st = make_dir(dir); !st && st.error().code() != Errc::already_exists) return st;
  return sync_dir(parent);
}

Status FileSystem::remove_file_durable(const std::string& path) {
  if (auto st = unlink(path); !st) {
    if (st.error().code() == Errc::not_found) return {};
    return st;
  }
  return sync_dir(parent_dir(path));
}

Status FileSystem::rename_durable(const std::string& from, const std::string& to) {
  FERRY_TRY(rename(from, to));
  FERRY_TRY(sync_dir(parent_dir(to)));
  if (parent_dir(from) != parent_dir(to)) FERRY_TRY(sync_dir(parent_dir(from)));
  return {};
}

Status FileSystem::remove_tree(const std::string& dir) {
  auto is_dir = is_directory(dir);
  if (!is_dir) return is_dir.error().code() == Errc::not_found ? Status{} : Status(is_dir.error());
  if (*is_dir) {
    auto names = list_dir(dir);
    if (!names) return std::move(names).error();
    for (const auto& n : *names) FERRY_TRY(remove_tree(dir + "/" + n));
    return remove_dir(dir);
  }
  return unlink(dir);
}

Status FileSystem::write_file_atomic(const std::string& path, std::span<const std::byte> data) {
  std::string tmp = path + ".tmp";
  {
    auto f = open(tmp, File::Mode::create);
    if (!f) return std::move(f).error();
    FERRY_TRY(f->truncate(0));
    FERRY_TRY(f->pwrite_all(data, 0));
    FERRY_TRY(f->sync());
    FERRY_TRY(f->close());
  }
  return rename_durable(tmp, path);
}

// ---- the real (POSIX) file system ------------------------------------------------------------

namespace {

// Large I/O is split so a 32-bit ssize_t never overflows and a signal interrupts less.
constexpr size_t kMaxChunk = size_t{1} << 30;

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

class PosixFile final : public FileHandle {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  Status pwrite_all(std::span<const std::byte> data, uint64_t offset) override {
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

  Status pwritev_all(std::span<const std::span<const std::byte>> parts, uint64_t offset) override {
    constexpr size_t kMaxParts = 8;
    if (g_write_space.load() >= 0 || parts.size() > kMaxParts) {
      // The test seam (each part takes budget) or many parts: one part at a time.
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

  Result<size_t> pread_some(std::span<std::byte> data, uint64_t offset) const override {
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

  Status datasync() override {
    if (::fdatasync(fd_) != 0) return sync_error(errno, "fdatasync " + path_);
    return {};
  }

  Status sync() override {
    if (::fsync(fd_) != 0) return sync_error(errno, "fsync " + path_);
    return {};
  }

  Status truncate(uint64_t size) override {
    int rc;
    do {
      rc = ::ftruncate(fd_, static_cast<off_t>(size));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return Error::from_errno(errno, "truncate " + path_);
    return {};
  }

  Status allocate(uint64_t offset, uint64_t len) override {
    int rc =
        ::fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset), static_cast<off_t>(len));
    if (rc == 0) return {};
    int err = errno;
    if (err == EOPNOTSUPP || err == ENOSYS || err == EINTR) return {};  // best effort
    return Error::from_errno(err, "fallocate " + path_);
  }

  Result<uint64_t> size() const override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return Error::from_errno(errno, "stat " + path_);
    return static_cast<uint64_t>(st.st_size);
  }

  Status close() override {
    if (fd_ < 0) return {};
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0 && errno != EINTR) return Error::from_errno(errno, "close " + path_);
    return {};
  }

 private:
  int fd_;
  std::string path_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Result<File> open(const std::string& path, File::Mode mode) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case File::Mode::read_only: flags |= O_RDONLY; break;
      case File::Mode::read_write: flags |= O_RDWR; break;
      case File::Mode::create: flags |= O_RDWR | O_CREAT; break;
      case File::Mode::create_new: flags |= O_RDWR | O_CREAT | O_EXCL; break;
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
    return File(std::make_unique<PosixFile>(fd, path), path);
  }

  Status sync_dir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error::from_errno(errno, "open dir " + dir);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return sync_error(err, "fsync dir " + dir);
    return {};
  }

  Status make_dir(const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0755) != 0) {
      if (errno == EEXIST) return Error(Errc::already_exists, "mkdir " + dir + ": exists");
      return Error::from_errno(errno, "mkdir " + dir);
    }
    return {};
  }

  Status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return Error::from_errno(errno, "rename " + from + " -> " + to);
    }
    return {};
  }

  Status unlink(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return Error(Errc::not_found, "unlink " + path + ": no such file");
      return Error::from_errno(errno, "unlink " + path);
    }
    return {};
  }

  Status remove_dir(const std::string& dir) override {
    if (::rmdir(dir.c_str()) != 0) return Error::from_errno(errno, "rmdir " + dir);
    return {};
  }

  Result<bool> is_directory(const std::string& path) override {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Error(Errc::not_found, "stat " + path + ": no such file");
      return Error::from_errno(errno, "stat " + path);
    }
    return S_ISDIR(st.st_mode);
  }

  bool exists(const std::string& path) override {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  }

  Result<uint64_t> file_size(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Error(Errc::not_found, "stat " + path + ": no such file");
      return Error::from_errno(errno, "stat " + path);
    }
    return static_cast<uint64_t>(st.st_size);
  }

  Result<std::vector<std::string>> list_dir(const std::string& dir) override {
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

  Result<SpaceInfo> free_space(const std::string& path) override {
    struct statvfs s {};
    if (::statvfs(path.c_str(), &s) != 0) return Error::from_errno(errno, "statvfs " + path);
    SpaceInfo info;
    info.total_bytes = static_cast<uint64_t>(s.f_blocks) * s.f_frsize;
    info.available_bytes = static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
    return info;
  }
};

}  // namespace

void set_write_space_for_testing(std::optional<uint64_t> bytes) {
  g_write_space.store(bytes ? static_cast<int64_t>(*bytes) : -1);
}

FileSystem& real_fs() {
  static PosixFileSystem fs;
  return fs;
}

}  // namespace ferry::platform
