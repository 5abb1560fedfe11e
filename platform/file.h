// Durable file I/O: an RAII file descriptor with short-write-safe writes, positional reads,
// fdatasync, fallocate and truncate, plus the directory operations storage needs to make
// creates, renames and deletes durable (fsync of the parent directory).
//
// Threading: a File may be used from one thread at a time; fdatasync on the thread pool while
// the loop appends to the same fd is allowed (the kernel orders them) — storage relies on it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace ferry::platform {

class File {
 public:
  enum class Mode {
    read_only,   // O_RDONLY
    read_write,  // O_RDWR, must exist
    create,      // O_RDWR | O_CREAT
    create_new,  // O_RDWR | O_CREAT | O_EXCL
  };

  File() = default;
  explicit File(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~File();
  File(File&& o) noexcept;
  File& operator=(File&& o) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  static Result<File> open(const std::string& path, Mode mode);

  bool is_open() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  const std::string& path() const noexcept { return path_; }

  // Writes all bytes at `offset`, retrying short writes and EINTR.
  Status pwrite_all(std::span<const std::byte> data, uint64_t offset);
  // Writes the concatenation of `parts` at `offset` with one pwritev where possible.
  Status pwritev_all(std::span<const std::span<const std::byte>> parts, uint64_t offset);
  // Reads up to data.size() bytes at `offset`; returns the count (less only at end of file).
  Result<size_t> pread_some(std::span<std::byte> data, uint64_t offset) const;
  // Reads exactly data.size() bytes or fails with out_of_range at end of file.
  Status pread_exact(std::span<std::byte> data, uint64_t offset) const;

  Status datasync();  // fdatasync: data and the metadata needed to read it back
  Status sync();      // fsync
  Status truncate(uint64_t size);
  // Reserves [offset, offset+len) so appends do not fragment the file or hit ENOSPC midway.
  // A file system without fallocate support is not an error.
  Status allocate(uint64_t offset, uint64_t len);
  Result<uint64_t> size() const;
  Status close();  // reports close(2) errors; the destructor ignores them

 private:
  int fd_ = -1;
  std::string path_;
};

// Directory and file-system operations. Each "durable" variant fsyncs the parent directory so
// the change survives power loss.
Status sync_dir(const std::string& dir);
Status create_dirs(const std::string& dir);  // mkdir -p, then fsync of each created level
Status remove_file_durable(const std::string& path);
Status rename_durable(const std::string& from, const std::string& to);
Status remove_tree(const std::string& dir);  // rm -r (tests, topic deletion)
bool exists(const std::string& path);
// Size of the file at `path` without opening it (not_found if missing).
Result<uint64_t> file_size(const std::string& path);
// Names (not paths) of the entries of `dir`, sorted, without "." and "..".
Result<std::vector<std::string>> list_dir(const std::string& dir);
// Writes `data` to `path` atomically: temp file, fsync, rename, fsync of the directory.
Status write_file_atomic(const std::string& path, std::span<const std::byte> data);

struct SpaceInfo {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;  // to an unprivileged writer
};
Result<SpaceInfo> free_space(const std::string& path);

// Test seam: pretends the file system has `bytes` left for File::pwrite_all/pwritev_all. A write
// that does not fit writes what fits, then fails with ENOSPC (as a real full disk does); each
// write takes what it wrote from the budget. nullopt (the default) turns the limit off.
// Process-wide and thread-safe; only tests set it.
void set_write_space_for_testing(std::optional<uint64_t> bytes);

inline std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace ferry::platform
