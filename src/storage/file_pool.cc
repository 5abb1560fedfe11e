// Bounded LRU pool of open files (see file_pool.h).
#include "storage/file_pool.h"

#include <cassert>

namespace ferry::storage {

FileId FilePool::add(std::string path, platform::File::Mode mode) {
  FileId id = next_id_++;
  Entry e;
  e.path = std::move(path);
  e.mode = mode;
  entries_.emplace(id, std::move(e));
  return id;
}

Result<std::shared_ptr<platform::File>> FilePool::acquire(FileId id) {
  auto it = entries_.find(id);
  assert(it != entries_.end());
  Entry& e = it->second;
  if (e.file) {
    lru_.splice(lru_.begin(), lru_, e.lru_pos);
    return e.file;
  }
  evict_if_needed();
  auto f = fs_.open(e.path, e.mode);
  if (!f) return std::move(f).error();
  e.file = std::make_shared<platform::File>(std::move(f).value());
  lru_.push_front(id);
  e.lru_pos = lru_.begin();
  ++open_count_;
  return e.file;
}

std::shared_ptr<platform::File> FilePool::peek(FileId id) {
  auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.file) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.lru_pos);
  return it->second.file;
}

void FilePool::adopt(FileId id, std::shared_ptr<platform::File> file) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.file || !file) return;
  evict_if_needed();
  it->second.file = std::move(file);
  lru_.push_front(id);
  it->second.lru_pos = lru_.begin();
  ++open_count_;
}

void FilePool::evict_if_needed() {
  // Walk from the least recently used end; skip files somebody still holds.
  auto it = lru_.end();
  while (open_count_ >= capacity_ && it != lru_.begin()) {
    --it;
    Entry& e = entries_.at(*it);
    if (e.file.use_count() > 1) continue;
    e.file.reset();
    it = lru_.erase(it);
    --open_count_;
  }
}

void FilePool::forget(FileId id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (it->second.file) {
    lru_.erase(it->second.lru_pos);
    --open_count_;
  }
  entries_.erase(it);
}

const std::string& FilePool::path(FileId id) const { return entries_.at(id).path; }

}  // namespace ferry::storage
