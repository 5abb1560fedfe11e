// FaultFileSystem: an in-memory file system with power cuts and injected errors (fault_fs.h).
#include "platform/fault_fs.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <set>

#include "platform/file.h"

namespace ferry::platform {

struct FaultFileSystem::Node {
  bool dir = false;
  // Files: what reads see, and what survives a cut.
  std::vector<std::byte> data;
  std::vector<std::byte> durable;
  // Directories: the entries now, and as of the last sync_dir.
  std::map<std::string, std::shared_ptr<Node>> entries;
  std::map<std::string, std::shared_ptr<Node>> durable_entries;
};

namespace {

using Node = FaultFileSystem::Node;

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i && !(j - i == 1 && path[i] == '.')) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

Error eio(const std::string& what) { return Error::from_errno(EIO, what + " (power is off)"); }

// The sectors of a file whose unsynced content differs from its durable content.
std::vector<uint64_t> dirty_sectors(const Node& n) {
  const uint64_t ncur = n.data.size();
  const uint64_t ndur = n.durable.size();
  const uint64_t span = std::max(ncur, ndur);
  const uint64_t common = std::min(ncur, ndur);
  std::vector<uint64_t> dirty;
  for (uint64_t lo = 0; lo < span; lo += FaultFileSystem::kSectorSize) {
    const uint64_t hi = std::min(lo + FaultFileSystem::kSectorSize, span);
    bool differs = hi > common;
    if (!differs) {
      differs = std::memcmp(n.data.data() + static_cast<size_t>(lo),
                            n.durable.data() + static_cast<size_t>(lo),
                            static_cast<size_t>(hi - lo)) != 0;
    }
    if (differs) dirty.push_back(lo / FaultFileSystem::kSectorSize);
  }
  return dirty;
}

}  // namespace

// A handle: the node it was opened on, dead once the power was cut after it was opened.
class FaultFileSystem::Handle final : public FileHandle {
 public:
  Handle(FaultFileSystem& fs, std::shared_ptr<Node> node, std::string path, bool writable)
      : fs_(fs),
        node_(std::move(node)),
        path_(std::move(path)),
        generation_(fs.generation_),
        writable_(writable) {}

  Status pwrite_all(std::span<const std::byte> data, uint64_t offset) override {
    std::span<const std::byte> parts[] = {data};
    return pwritev_all(parts, offset);
  }

  Status pwritev_all(std::span<const std::span<const std::byte>> parts, uint64_t offset) override {
    std::lock_guard lock(fs_.mu_);
    FERRY_TRY(alive("write"));
    if (!writable_) return Error::from_errno(EBADF, "write " + path_);
    FERRY_TRY(fs_.check(Op::write, "write " + path_));
    for (auto p : parts) {
      const uint64_t end = offset + p.size();
      if (end > node_->data.size()) node_->data.resize(static_cast<size_t>(end));
      if (!p.empty())
        std::memcpy(node_->data.data() + static_cast<size_t>(offset), p.data(), p.size());
      offset = end;
    }
    return {};
  }

  Result<size_t> pread_some(std::span<std::byte> data, uint64_t offset) const override {
    std::lock_guard lock(fs_.mu_);
    FERRY_TRY(alive("read"));
    const uint64_t size = node_->data.size();
    if (offset >= size) return size_t{0};
    const size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), size - offset));
    std::memcpy(data.data(), node_->data.data() + static_cast<size_t>(offset), n);
    return n;
  }

  Status datasync() override { return sync(); }

  Status sync() override {
    std::lock_guard lock(fs_.mu_);
    FERRY_TRY(alive("fsync"));
    FERRY_TRY(fs_.check(Op::sync, "fsync " + path_));
    node_->durable = node_->data;
    return {};
  }

  Status truncate(uint64_t size) override {
    std::lock_guard lock(fs_.mu_);
    FERRY_TRY(alive("truncate"));
    FERRY_TRY(fs_.check(Op::write, "truncate " + path_));
    node_->data.resize(static_cast<size_t>(size));
    return {};
  }

  Status allocate(uint64_t, uint64_t) override {
    std::lock_guard lock(fs_.mu_);
    return alive("fallocate");
  }

  Result<uint64_t> size() const override {
    std::lock_guard lock(fs_.mu_);
    FERRY_TRY(alive("stat"));
    return static_cast<uint64_t>(node_->data.size());
  }

  Status close() override { return {}; }

 private:
  Status alive(const char* what) const {
    if (fs_.cut_ || generation_ != fs_.generation_) return eio(std::string(what) + " " + path_);
    return {};
  }

  FaultFileSystem& fs_;
  std::shared_ptr<Node> node_;
  std::string path_;
  uint64_t generation_;
  bool writable_;
};

FaultFileSystem::FaultFileSystem(uint64_t seed) : rng_(seed) { reset(); }

FaultFileSystem::~FaultFileSystem() = default;

void FaultFileSystem::reset() {
  std::lock_guard lock(mu_);
  root_ = std::make_shared<Node>();
  root_->dir = true;
  ++generation_;
  cut_ = false;
  ops_ = 0;
  cut_at_.reset();
  rules_.clear();
  faults_ = 0;
}

Error FaultFileSystem::dead(const std::string& what) const { return eio(what); }

Status FaultFileSystem::check(Op op, const std::string& what) {
  if (cut_) return eio(what);
  ++ops_;
  if (cut_at_ && ops_ >= *cut_at_) {
    cut_locked(cut_mode_);
    return eio(what);
  }
  for (size_t i = 0; i < rules_.size(); ++i) {
    Rule& r = rules_[i];
    if (r.op != op) continue;
    bool hit;
    if (r.probability >= 0) {
      hit = std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < r.probability;
    } else if (r.skip > 0) {
      --r.skip;
      hit = false;
    } else {
      hit = true;
      if (r.times > 0 && --r.times == 0) rules_.erase(rules_.begin() + static_cast<long>(i));
    }
    if (hit) {
      ++faults_;
      const int err = r.err;
      if (op == Op::sync || op == Op::sync_dir) return sync_error(err, what);
      return Error::from_errno(err, what);
    }
  }
  return {};
}

std::shared_ptr<Node> FaultFileSystem::lookup(const std::string& path) const {
  std::shared_ptr<Node> n = root_;
  for (const auto& part : split(path)) {
    if (!n->dir) return nullptr;
    auto it = n->entries.find(part);
    if (it == n->entries.end()) return nullptr;
    n = it->second;
  }
  return n;
}

std::shared_ptr<Node> FaultFileSystem::parent_of(const std::string& path, std::string* name) const {
  auto parts = split(path);
  if (parts.empty()) return nullptr;
  *name = parts.back();
  std::shared_ptr<Node> n = root_;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!n->dir) return nullptr;
    auto it = n->entries.find(parts[i]);
    if (it == n->entries.end()) return nullptr;
    n = it->second;
  }
  return n->dir ? n : nullptr;
}

Result<File> FaultFileSystem::open(const std::string& path, File::Mode mode) {
  std::lock_guard lock(mu_);
  if (cut_) return dead("open " + path);
  std::string name;
  auto parent = parent_of(path, &name);
  if (!parent) return Error(Errc::not_found, "open " + path + ": no such file");
  auto it = parent->entries.find(name);
  std::shared_ptr<Node> node;
  if (it != parent->entries.end()) {
    if (mode == File::Mode::create_new)
      return Error(Errc::already_exists, "open " + path + ": exists");
    if (it->second->dir) return Error::from_errno(EISDIR, "open " + path);
    node = it->second;
  } else {
    if (mode == File::Mode::read_only || mode == File::Mode::read_write)
      return Error(Errc::not_found, "open " + path + ": no such file");
    FERRY_TRY(check(Op::create, "create " + path));
    node = std::make_shared<Node>();
    parent->entries[name] = node;
  }
  const bool writable = mode != File::Mode::read_only;
  return File(std::make_unique<Handle>(*this, std::move(node), path, writable), path);
}

Status FaultFileSystem::sync_dir(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (cut_) return dead("fsync dir " + dir);
  auto n = lookup(dir);
  if (!n || !n->dir) return Error::from_errno(ENOENT, "open dir " + dir);
  FERRY_TRY(check(Op::sync_dir, "fsync dir " + dir));
  n->durable_entries = n->entries;
  return {};
}

Status FaultFileSystem::make_dir(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (cut_) return dead("mkdir " + dir);
  std::string name;
  auto parent = parent_of(dir, &name);
  if (!parent) return Error::from_errno(ENOENT, "mkdir " + dir);
  if (parent->entries.count(name)) return Error(Errc::already_exists, "mkdir " + dir + ": exists");
  FERRY_TRY(check(Op::create, "mkdir " + dir));
  auto n = std::make_shared<Node>();
  n->dir = true;
  parent->entries[name] = std::move(n);
  return {};
}

Status FaultFileSystem::rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  const std::string what = "rename " + from + " -> " + to;
  if (cut_) return dead(what);
  std::string from_name, to_name;
  auto from_parent = parent_of(from, &from_name);
  auto to_parent = parent_of(to, &to_name);
  if (!from_parent || !to_parent || !from_parent->entries.count(from_name))
    return Error::from_errno(ENOENT, what);
  auto node = from_parent->entries.at(from_name);
  if (auto existing = to_parent->entries.find(to_name); existing != to_parent->entries.end()) {
    if (existing->second->dir != node->dir) return Error::from_errno(EISDIR, what);
    if (existing->second->dir && !existing->second->entries.empty())
      return Error::from_errno(ENOTEMPTY, what);
  }
  FERRY_TRY(check(Op::rename, what));
  from_parent->entries.erase(from_name);
  to_parent->entries[to_name] = std::move(node);
  return {};
}

Status FaultFileSystem::unlink(const std::string& path) {
  std::lock_guard lock(mu_);
  if (cut_) return dead("unlink " + path);
  std::string name;
  auto parent = parent_of(path, &name);
  auto it = parent ? parent->entries.find(name) : decltype(parent->entries.end()){};
  if (!parent || it == parent->entries.end())
    return Error(Errc::not_found, "unlink " + path + ": no such file");
  if (it->second->dir) return Error::from_errno(EISDIR, "unlink " + path);
  FERRY_TRY(check(Op::unlink, "unlink " + path));
  parent->entries.erase(it);
  return {};
}

Status FaultFileSystem::remove_dir(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (cut_) return dead("rmdir " + dir);
  std::string name;
  auto parent = parent_of(dir, &name);
  if (!parent || !parent->entries.count(name)) return Error::from_errno(ENOENT, "rmdir " + dir);
  auto& n = parent->entries.at(name);
  if (!n->dir) return Error::from_errno(ENOTDIR, "rmdir " + dir);
  if (!n->entries.empty()) return Error::from_errno(ENOTEMPTY, "rmdir " + dir);
  FERRY_TRY(check(Op::unlink, "rmdir " + dir));
  parent->entries.erase(name);
  return {};
}

Result<bool> FaultFileSystem::is_directory(const std::string& path) {
  std::lock_guard lock(mu_);
  if (cut_) return dead("stat " + path);
  auto n = lookup(path);
  if (!n) return Error(Errc::not_found, "stat " + path + ": no such file");
  return n->dir;
}

bool FaultFileSystem::exists(const std::string& path) {
  std::lock_guard lock(mu_);
  return !cut_ && lookup(path) != nullptr;
}

Result<uint64_t> FaultFileSystem::file_size(const std::string& path) {
  std::lock_guard lock(mu_);
  if (cut_) return dead("stat " + path);
  auto n = lookup(path);
  if (!n) return Error(Errc::not_found, "stat " + path + ": no such file");
  return static_cast<uint64_t>(n->data.size());
}

Result<std::vector<std::string>> FaultFileSystem::list_dir(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (cut_) return dead("opendir " + dir);
  auto n = lookup(dir);
  if (!n || !n->dir) return Error(Errc::not_found, "opendir " + dir + ": no such directory");
  std::vector<std::string> names;
  for (const auto& [name, child] : n->entries) names.push_back(name);
  return names;  // std::map keeps them sorted
}

Result<SpaceInfo> FaultFileSystem::free_space(const std::string& path) {
  std::lock_guard lock(mu_);
  if (cut_) return dead("statvfs " + path);
  constexpr uint64_t kTotal = uint64_t{1} << 30;
  uint64_t used = 0;
  std::set<const Node*> seen;
  std::function<void(const Node&)> walk = [&](const Node& n) {
    if (!seen.insert(&n).second) return;
    used += n.data.size();
    for (const auto& [name, child] : n.entries) walk(*child);
  };
  walk(*root_);
  return SpaceInfo{kTotal, used < kTotal ? kTotal - used : 0};
}

uint64_t FaultFileSystem::incarnation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

void FaultFileSystem::power_cut(CutMode mode) {
  std::lock_guard lock(mu_);
  if (!cut_) cut_locked(mode);
}

void FaultFileSystem::cut_locked(CutMode mode) {
  cut_ = true;
  ++generation_;
  cut_at_.reset();
  std::set<Node*> seen;
  std::function<void(Node&)> walk = [&](Node& n) {
    if (!seen.insert(&n).second) return;
    if (n.dir) {
      n.entries = n.durable_entries;
      for (auto& [name, child] : n.entries) walk(*child);
      return;
    }
    const std::vector<uint64_t> dirty = dirty_sectors(n);
    if (dirty.empty()) return;
    std::vector<bool> keep(dirty.size(), false);
    if (mode == CutMode::torn) {
      const size_t k = std::uniform_int_distribution<size_t>(0, dirty.size())(rng_);
      for (size_t i = 0; i < k; ++i) keep[i] = true;
    } else if (mode == CutMode::reorder) {
      for (size_t i = 0; i < dirty.size(); ++i) keep[i] = (rng_() & 1) != 0;
    }
    if (std::all_of(keep.begin(), keep.end(), [](bool b) { return b; })) {
      n.durable = n.data;
      return;
    }
    std::vector<std::byte> result = n.durable;
    const uint64_t ncur = n.data.size();
    for (size_t i = 0; i < dirty.size(); ++i) {
      if (!keep[i]) continue;
      const uint64_t lo = dirty[i] * kSectorSize;
      const uint64_t hi = std::min(lo + kSectorSize, ncur);
      if (lo >= hi) continue;  // a truncated sector: the truncation is not kept
      if (result.size() < hi) result.resize(static_cast<size_t>(hi));
      std::memcpy(result.data() + static_cast<size_t>(lo), n.data.data() + static_cast<size_t>(lo),
                  static_cast<size_t>(hi - lo));
    }
    n.durable = std::move(result);
    n.data = n.durable;
  };
  walk(*root_);
  // Files reached only through names that did not survive are gone; so is unsynced data of
  // files that were fully synced (data == durable already).
  for (Node* n : seen) {
    if (!n->dir) n->data = n->durable;
  }
}

void FaultFileSystem::cut_after(uint64_t n, CutMode mode) {
  std::lock_guard lock(mu_);
  cut_at_ = ops_ + std::max<uint64_t>(n, 1);
  cut_mode_ = mode;
}

void FaultFileSystem::restart() {
  std::lock_guard lock(mu_);
  cut_ = false;
  rules_.clear();
}

bool FaultFileSystem::is_cut() const {
  std::lock_guard lock(mu_);
  return cut_;
}

uint64_t FaultFileSystem::op_count() const {
  std::lock_guard lock(mu_);
  return ops_;
}

void FaultFileSystem::fail(Op op, int err, uint64_t skip, uint64_t times) {
  std::lock_guard lock(mu_);
  rules_.push_back(Rule{op, err, skip, times, -1.0});
}

void FaultFileSystem::fail_randomly(Op op, int err, double p) {
  std::lock_guard lock(mu_);
  rules_.push_back(Rule{op, err, 0, 0, p});
}

void FaultFileSystem::clear_faults() {
  std::lock_guard lock(mu_);
  rules_.clear();
}

uint64_t FaultFileSystem::faults_injected() const {
  std::lock_guard lock(mu_);
  return faults_;
}

Result<std::vector<std::byte>> FaultFileSystem::durable_contents(const std::string& path) {
  std::lock_guard lock(mu_);
  auto n = lookup(path);
  if (!n || n->dir) return Error(Errc::not_found, path + ": no such file");
  return n->durable;
}

}  // namespace ferry::platform
