// A FileSystem for tests that simulates power loss and injects I/O errors (test-only library
// ferry_fault_fs; never linked into the broker binary).
//
// The whole tree lives in memory. Each file keeps two contents: what reads see (every write so
// far) and what a power cut leaves (as of its last fdatasync/fsync). Each directory keeps two
// entry tables likewise: creates, renames, unlinks, mkdirs and rmdirs become durable only when
// that directory is fsynced (sync_dir). power_cut() rebuilds the tree from the durable tables
// and, per file, drops the unsynced bytes in one of three ways:
//   - drop:    all of them;
//   - torn:    the unsynced 512-byte sectors in file-offset order are kept up to a random one
//              (a write torn at a sector boundary; for appends, a prefix);
//   - reorder: a random subset of the unsynced sectors (the disk wrote them in any order).
// A file's size grows with the kept sectors; an unsynced truncation survives only when every
// unsynced sector does. After the cut every operation fails with EIO, through handles opened
// before it too, so a process torn down afterwards persists nothing; restart() makes the
// surviving state usable again (handles from before stay dead).
//
// Faults: fail(op, ...) makes the next matching operations fail with an errno (ENOSPC, EIO)
// after `skip` successes, `times` times, or each with a probability (seeded). A failed sync
// reports Errc::failed_state, as the real one does. cut_after(n) cuts the power inside the
// n-th counted operation from now (writes, truncates, syncs and namespace changes count; reads
// do not), which is how crash tests cut "at a random point".
//
// Paths are absolute ("/data/logs/..."); the root always exists.
// Threading: every method and every handle is thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "platform/file_system.h"

namespace ferry::platform {

class FaultFileSystem final : public FileSystem {
 public:
  enum class CutMode { drop, torn, reorder };
  enum class Op { write, sync, sync_dir, rename, unlink, create };
  static constexpr uint64_t kSectorSize = 512;

  explicit FaultFileSystem(uint64_t seed = 1);
  ~FaultFileSystem() override;

  Result<File> open(const std::string& path, File::Mode mode) override;
  Status sync_dir(const std::string& dir) override;
  Status make_dir(const std::string& dir) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status unlink(const std::string& path) override;
  Status remove_dir(const std::string& dir) override;
  Result<bool> is_directory(const std::string& path) override;
  bool exists(const std::string& path) override;
  Result<uint64_t> file_size(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& dir) override;
  Result<SpaceInfo> free_space(const std::string& path) override;
  uint64_t incarnation() const override;

  // Power loss now (see above). Idempotent until restart().
  void power_cut(CutMode mode);
  // Cuts the power (with `mode`) inside the `n`-th counted operation from now (n >= 1).
  void cut_after(uint64_t n, CutMode mode);
  // Power is back: operations work on what survived. Handles opened before stay dead.
  void restart();
  bool is_cut() const;
  // Counted operations so far.
  uint64_t op_count() const;

  // Makes operations of kind `op` fail with `err`: after `skip` more succeed, the next `times`
  // fail (times = 0: every one from then on).
  void fail(Op op, int err, uint64_t skip = 0, uint64_t times = 1);
  // Makes each operation of kind `op` fail with `err` with probability `p` (from the seed).
  void fail_randomly(Op op, int err, double p);
  void clear_faults();
  // Faults injected so far.
  uint64_t faults_injected() const;

  // Empties the tree and clears faults and the cut (a fresh disk); keeps the random stream.
  void reset();
  // The bytes of the file at `path` a cut would leave now (tests inspect it).
  Result<std::vector<std::byte>> durable_contents(const std::string& path);

  struct Node;  // a file or directory (fault_fs.cc)
  class Handle;

 private:
  friend class Handle;
  // Counts an operation of kind `op` and decides its fate: ok, the cut (EIO), or a fault.
  Status check(Op op, const std::string& what);
  Error dead(const std::string& what) const;
  void cut_locked(CutMode mode);
  std::shared_ptr<Node> lookup(const std::string& path) const;
  std::shared_ptr<Node> parent_of(const std::string& path, std::string* name) const;

  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  std::shared_ptr<Node> root_;
  uint64_t generation_ = 0;  // bumped by each cut; handles of older generations fail
  bool cut_ = false;
  uint64_t ops_ = 0;
  std::optional<uint64_t> cut_at_;
  CutMode cut_mode_ = CutMode::drop;
  struct Rule {
    Op op;
    int err;
    uint64_t skip;
    uint64_t times;      // 0 = unlimited
    double probability;  // < 0: deterministic (skip/times)
  };
  std::vector<Rule> rules_;
  uint64_t faults_ = 0;
};

}  // namespace ferry::platform
