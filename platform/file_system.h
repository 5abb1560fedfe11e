// The I/O seam under storage and the metadata store: an abstract FileSystem that opens files
// (handles with positional I/O, fdatasync, fsync, truncate, fallocate) and changes the
// namespace (mkdir, rename, unlink, directory fsync). The real one (real_fs(), file.cc) is thin
// POSIX; tests substitute a fault-injecting one (platform/fault_fs.h, a test-only library) that
// drops what was not synced at a simulated power cut.
//
// Durability contract every implementation keeps (and storage relies on): file bytes are
// durable after datasync()/sync() of a handle of that file; a create, rename or unlink is
// durable after sync_dir() of the directory holding the name (both directories for a rename).
// The *_durable helpers and write_file_atomic() do the directory fsyncs.
//
// fsync errors are sticky. After a failed fdatasync/fsync the kernel may have dropped the dirty
// pages while marking them clean, so a later successful fsync proves nothing: every sync that
// fails is reported as Errc::failed_state (not retriable) and the caller must treat what it
// wrote since its last successful sync as lost (the log fails its partition).
//
// Threading: a FileSystem is shared by every thread (loop and thread pool); each method is
// thread-safe. A File is used by one thread at a time, except that datasync on the thread pool
// may run while the loop appends to the same file (the kernel orders them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace ferry::platform {

// One open file, as a FileSystem implements it. Reached through File (below).
class FileHandle {
 public:
  virtual ~FileHandle() = default;
  // Writes all bytes at `offset` (short writes and EINTR retried).
  virtual Status pwrite_all(std::span<const std::byte> data, uint64_t offset) = 0;
  // Writes the concatenation of `parts` at `offset`.
  virtual Status pwritev_all(std::span<const std::span<const std::byte>> parts,
                             uint64_t offset) = 0;
  // Reads up to data.size() bytes at `offset`; fewer only at end of file.
  virtual Result<size_t> pread_some(std::span<std::byte> data, uint64_t offset) const = 0;
  virtual Status datasync() = 0;  // errors are failed_state (sticky)
  virtual Status sync() = 0;      // errors are failed_state (sticky)
  virtual Status truncate(uint64_t size) = 0;
  virtual Status allocate(uint64_t offset, uint64_t len) = 0;
  virtual Result<uint64_t> size() const = 0;
  virtual Status close() = 0;
};

class File {
 public:
  enum class Mode {
    read_only,   // O_RDONLY
    read_write,  // O_RDWR, must exist
    create,      // O_RDWR | O_CREAT
    create_new,  // O_RDWR | O_CREAT | O_EXCL
  };

  File() = default;
  File(std::unique_ptr<FileHandle> handle, std::string path)
      : handle_(std::move(handle)), path_(std::move(path)) {}
  ~File() = default;
  File(File&& o) noexcept = default;
  File& operator=(File&& o) noexcept = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Opens through real_fs().
  static Result<File> open(const std::string& path, Mode mode);

  bool is_open() const noexcept { return handle_ != nullptr; }
  const std::string& path() const noexcept { return path_; }

  // Each call below is one virtual call into the file system's handle.
  Status pwrite_all(std::span<const std::byte> data, uint64_t offset) {
    return handle_->pwrite_all(data, offset);
  }
  Status pwritev_all(std::span<const std::span<const std::byte>> parts, uint64_t offset) {
    return handle_->pwritev_all(parts, offset);
  }
  Result<size_t> pread_some(std::span<std::byte> data, uint64_t offset) const {
    return handle_->pread_some(data, offset);
  }
  // Reads exactly data.size() bytes or fails with out_of_range at end of file.
  Status pread_exact(std::span<std::byte> data, uint64_t offset) const;

  Status datasync() { return handle_->datasync(); }  // fdatasync
  Status sync() { return handle_->sync(); }          // fsync
  Status truncate(uint64_t size) { return handle_->truncate(size); }
  // Reserves [offset, offset+len) so appends do not fragment the file or hit ENOSPC midway.
  // A file system without fallocate support is not an error.
  Status allocate(uint64_t offset, uint64_t len) { return handle_->allocate(offset, len); }
  Result<uint64_t> size() const { return handle_->size(); }
  // Reports close(2) errors; destroying an open File closes it and ignores them.
  Status close();

 private:
  std::unique_ptr<FileHandle> handle_;
  std::string path_;
};

struct SpaceInfo {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;  // to an unprivileged writer
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Opening: not_found / already_exists as the mode implies. A created file's name is durable
  // only after sync_dir() of its directory.
  virtual Result<File> open(const std::string& path, File::Mode mode) = 0;
  // fsync of a directory: makes creates, renames and unlinks in it durable. Errors are sticky.
  virtual Status sync_dir(const std::string& dir) = 0;
  // mkdir of one level; already_exists if the name exists.
  virtual Status make_dir(const std::string& dir) = 0;
  // rename(2) (replaces `to`); not durable by itself.
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // unlink(2) of a file; not_found if missing; not durable by itself.
  virtual Status unlink(const std::string& path) = 0;
  // rmdir(2) of an empty directory.
  virtual Status remove_dir(const std::string& dir) = 0;
  // Whether `path` names a directory (false for a file); not_found if it names nothing.
  virtual Result<bool> is_directory(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  // Size of the file at `path` without opening it (not_found if missing).
  virtual Result<uint64_t> file_size(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`, sorted, without "." and "..".
  virtual Result<std::vector<std::string>> list_dir(const std::string& dir) = 0;
  virtual Result<SpaceInfo> free_space(const std::string& path) = 0;
  // Changes when the machine "rebooted" (a simulated power cut): state kept in memory across
  // open files of one path (SQLite's WAL index and locks) must not outlive it. 0 for real ones.
  virtual uint64_t incarnation() const { return 0; }

  // Helpers built on the operations above.
  // mkdir -p, then fsync of each created level's parent.
  Status create_dirs(const std::string& dir);
  // unlink, then fsync of the parent (a missing file is not an error).
  Status remove_file_durable(const std::string& path);
  // rename, then fsync of both parents.
  Status rename_durable(const std::string& from, const std::string& to);
  // rm -r (no directory fsync: the caller syncs the parent).
  Status remove_tree(const std::string& dir);
  // Writes `data` to `path` atomically: temp file, fsync, rename, fsync of the directory.
  Status write_file_atomic(const std::string& path, std::span<const std::byte> data);
};

// The process's real file system (POSIX). Lives for the whole process.
FileSystem& real_fs();

// "a/b/c" -> "a/b"; "c" -> "."; "/c" -> "/".
std::string parent_dir(const std::string& path);

}  // namespace ferry::platform
