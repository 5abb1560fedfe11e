// Durable file I/O on the process's real file system: File (see file_system.h) and the
// directory operations storage needs to make creates, renames and deletes durable, as free
// functions over real_fs(). Code that must be testable under simulated power loss takes a
// FileSystem& instead and calls the same operations on it.
//
// Threading: a File may be used from one thread at a time; fdatasync on the thread pool while
// the loop appends to the same fd is allowed (the kernel orders them) — storage relies on it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "platform/file_system.h"

namespace ferry::platform {

// Directory and file-system operations on real_fs(). Each "durable" variant fsyncs the parent
// directory so the change survives power loss.
inline Status sync_dir(const std::string& dir) { return real_fs().sync_dir(dir); }
inline Status create_dirs(const std::string& dir) { return real_fs().create_dirs(dir); }
inline Status remove_file_durable(const std::string& path) {
  return real_fs().remove_file_durable(path);
}
inline Status rename_durable(const std::string& from, const std::string& to) {
  return real_fs().rename_durable(from, to);
}
inline Status remove_tree(const std::string& dir) { return real_fs().remove_tree(dir); }
inline bool exists(const std::string& path) { return real_fs().exists(path); }
inline Result<uint64_t> file_size(const std::string& path) { return real_fs().file_size(path); }
inline Result<std::vector<std::string>> list_dir(const std::string& dir) {
  return real_fs().list_dir(dir);
}
inline Status write_file_atomic(const std::string& path, std::span<const std::byte> data) {
  return real_fs().write_file_atomic(path, data);
}
inline Result<SpaceInfo> free_space(const std::string& path) { return real_fs().free_space(path); }

// Test seam: pretends the real file system has `bytes` left for writes. A write that does not
// fit writes what fits, then fails with ENOSPC (as a real full disk does); each write takes
// what it wrote from the budget. nullopt (the default) turns the limit off.
// Process-wide and thread-safe; only tests set it.
void set_write_space_for_testing(std::optional<uint64_t> bytes);

// Classifies a failed fsync/fdatasync: failed_state (sticky, not retriable) whatever errno was,
// because the kernel may have dropped the dirty pages it could not write.
Error sync_error(int err, std::string_view what);

inline std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace ferry::platform
