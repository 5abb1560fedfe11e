// A bounded pool of open files shared by all partition logs, so 1,000 partitions (each with a
// .log, .index and .timeindex per segment) need at most `capacity` descriptors.
//
// Files are named by a FileId the pool hands out; acquire() opens on demand and returns a
// shared handle. Handles are closed least-recently-used first, and only when nobody holds
// one (a flush job on the thread pool keeps its handle alive until it completes).
//
// Threading: acquire/forget run on the loop thread only. Handles may be used (pwrite,
// fdatasync) on the thread pool while the loop holds the pool.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "platform/file.h"

namespace ferry::storage {

using FileId = uint64_t;

class FilePool {
 public:
  // Files are opened through `fs`, which must outlive the pool.
  explicit FilePool(size_t capacity = 256, platform::FileSystem& fs = platform::real_fs())
      : capacity_(capacity), fs_(fs) {}
  FilePool(const FilePool&) = delete;
  FilePool& operator=(const FilePool&) = delete;

  // Registers a path; the file is not opened until acquire().
  FileId add(std::string path, platform::File::Mode mode);
  // Opens if needed and returns a handle (moving the file to most-recently-used).
  Result<std::shared_ptr<platform::File>> acquire(FileId id);
  // The handle if the file is open (moving it to most-recently-used), else null; opens nothing.
  std::shared_ptr<platform::File> peek(FileId id);
  // Takes a handle opened elsewhere (a write job on the thread pool) for `id`, unless the file
  // is open already.
  void adopt(FileId id, std::shared_ptr<platform::File> file);
  // Closes (when unused) and unregisters a file, e.g. before its segment is deleted.
  void forget(FileId id);
  // The path registered for `id`.
  const std::string& path(FileId id) const;

  size_t open_count() const noexcept { return open_count_; }
  size_t capacity() const noexcept { return capacity_; }
  platform::FileSystem& fs() const noexcept { return fs_; }

 private:
  struct Entry {
    std::string path;
    platform::File::Mode mode;
    std::shared_ptr<platform::File> file;  // null while closed
    std::list<FileId>::iterator lru_pos;   // valid while open
  };
  void evict_if_needed();

  size_t capacity_;
  platform::FileSystem& fs_;
  size_t open_count_ = 0;
  FileId next_id_ = 1;
  std::unordered_map<FileId, Entry> entries_;
  std::list<FileId> lru_;  // front = most recently used; open files only
};

}  // namespace ferry::storage
