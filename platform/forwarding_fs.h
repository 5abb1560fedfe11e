// Forwarding bases for FileSystem wrappers: ForwardingFileSystem passes every call to an inner
// file system (the real one by default), ForwardingFileHandle every call to an inner File. A
// wrapper that counts or meters some calls derives from them and overrides only those.
//
// Header-only. Thread safety is the inner file system's: the forwarding adds no state.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "platform/file_system.h"

namespace ferry::platform {

class ForwardingFileHandle : public FileHandle {
 public:
  explicit ForwardingFileHandle(File inner) : inner_(std::move(inner)) {}

  Status pwrite_all(std::span<const std::byte> data, uint64_t offset) override {
    return inner_.pwrite_all(data, offset);
  }
  Status pwritev_all(std::span<const std::span<const std::byte>> parts, uint64_t offset) override {
    return inner_.pwritev_all(parts, offset);
  }
  Result<size_t> pread_some(std::span<std::byte> data, uint64_t offset) const override {
    return inner_.pread_some(data, offset);
  }
  Status datasync() override { return inner_.datasync(); }
  Status sync() override { return inner_.sync(); }
  Status truncate(uint64_t size) override { return inner_.truncate(size); }
  Status allocate(uint64_t offset, uint64_t len) override { return inner_.allocate(offset, len); }
  Result<uint64_t> size() const override { return inner_.size(); }
  Status close() override { return inner_.close(); }

 protected:
  File& inner() noexcept { return inner_; }
  const File& inner() const noexcept { return inner_; }

 private:
  File inner_;
};

class ForwardingFileSystem : public FileSystem {
 public:
  explicit ForwardingFileSystem(FileSystem& inner = real_fs()) : inner_(inner) {}

  Result<File> open(const std::string& path, File::Mode mode) override {
    return inner_.open(path, mode);
  }
  Status sync_dir(const std::string& dir) override { return inner_.sync_dir(dir); }
  Status make_dir(const std::string& dir) override { return inner_.make_dir(dir); }
  Status rename(const std::string& from, const std::string& to) override {
    return inner_.rename(from, to);
  }
  Status unlink(const std::string& path) override { return inner_.unlink(path); }
  Status remove_dir(const std::string& dir) override { return inner_.remove_dir(dir); }
  Result<bool> is_directory(const std::string& path) override { return inner_.is_directory(path); }
  bool exists(const std::string& path) override { return inner_.exists(path); }
  Result<uint64_t> file_size(const std::string& path) override { return inner_.file_size(path); }
  Result<std::vector<std::string>> list_dir(const std::string& dir) override {
    return inner_.list_dir(dir);
  }
  Result<SpaceInfo> free_space(const std::string& path) override { return inner_.free_space(path); }
  uint64_t incarnation() const override { return inner_.incarnation(); }

 protected:
  FileSystem& inner() const noexcept { return inner_; }

 private:
  FileSystem& inner_;
};

}  // namespace ferry::platform
