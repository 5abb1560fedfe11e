// A FileSystem for write-path tests: forwards to the real one, and for files whose path contains
// a chosen text it can hold writes on a latch (the test sees the write has started, then lets it
// go), make the next write fail with an errno after writing part of its bytes, and records which
// threads created (create_new), preallocated, wrote and truncated them (so a test can assert the
// loop thread never did).
//
// Threading: every method is thread-safe (one mutex); writes wait on a condition variable.
#pragma once

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "platform/forwarding_fs.h"

namespace ferry::test {

class StallingFileSystem : public platform::ForwardingFileSystem {
 public:
  using ForwardingFileSystem::ForwardingFileSystem;

  // Files whose path contains `text` are the watched ones.
  void watch(std::string text) {
    std::lock_guard lock(mu_);
    match_ = std::move(text);
  }
  // From now on writes to watched files wait until release(), or at most kMaxHoldMs (so a test
  // whose write runs on the loop thread fails instead of hanging: see hold_expired()).
  static constexpr int kMaxHoldMs = 3000;
  void stall() {
    std::lock_guard lock(mu_);
    stalled_ = true;
  }
  void release() {
    std::lock_guard lock(mu_);
    stalled_ = false;
    cv_.notify_all();
  }
  // Whether a held write was let go by the time bound rather than by release().
  bool hold_expired() const {
    std::lock_guard lock(mu_);
    return hold_expired_;
  }
  // Writes that have started waiting on the latch so far.
  int stalled_writes() const {
    std::lock_guard lock(mu_);
    return waiting_;
  }
  // Waits (bounded) until a write is held on the latch.
  bool wait_for_stalled_write(int at_least = 1, int max_ms = 10000) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(max_ms),
                        [&] { return waiting_ >= at_least; });
  }
  // The next write to a watched file writes its first `partial` bytes, then fails with `err`.
  void fail_next_write(int err, size_t partial = 0) {
    std::lock_guard lock(mu_);
    fail_errno_ = err;
    fail_partial_ = partial;
  }
  // Threads that created, preallocated, wrote or truncated a watched file.
  std::set<std::thread::id> writer_threads() const {
    std::lock_guard lock(mu_);
    return threads_;
  }
  int watched_writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }

  Result<platform::File> open(const std::string& path, platform::File::Mode mode) override {
    auto f = inner().open(path, mode);
    if (!f || !watched(path)) return f;
    if (mode == platform::File::Mode::create_new) note_thread();
    return platform::File(std::make_unique<Handle>(std::move(f).value(), *this), path);
  }

 private:
  class Handle : public platform::ForwardingFileHandle {
   public:
    Handle(platform::File inner, StallingFileSystem& fs)
        : ForwardingFileHandle(std::move(inner)), fs_(fs) {}
    Status pwrite_all(std::span<const std::byte> data, uint64_t offset) override {
      std::span<const std::byte> parts[] = {data};
      return pwritev_all(parts, offset);
    }
    Status pwritev_all(std::span<const std::span<const std::byte>> parts,
                       uint64_t offset) override {
      auto [err, partial] = fs_.before_write();
      if (err != 0) {
        // Write the first `partial` bytes, as a write cut short by the disk would.
        uint64_t at = offset;
        for (auto p : parts) {
          if (partial == 0) break;
          auto piece = p.first(std::min(p.size(), partial));
          if (auto st = inner().pwrite_all(piece, at); !st) return st;
          at += piece.size();
          partial -= piece.size();
        }
        return Error::from_errno(err, "write " + inner().path());
      }
      return inner().pwritev_all(parts, offset);
    }
    Status truncate(uint64_t size) override {
      fs_.note_thread();
      return inner().truncate(size);
    }
    Status allocate(uint64_t offset, uint64_t len) override {
      fs_.note_thread();
      return inner().allocate(offset, len);
    }

   private:
    StallingFileSystem& fs_;
  };

  bool watched(const std::string& path) const {
    std::lock_guard lock(mu_);
    return !match_.empty() && path.find(match_) != std::string::npos;
  }
  void note_thread() {
    std::lock_guard lock(mu_);
    threads_.insert(std::this_thread::get_id());
  }
  // Waits while stalled; returns the fault to inject (errno 0: none).
  std::pair<int, size_t> before_write() {
    std::unique_lock lock(mu_);
    threads_.insert(std::this_thread::get_id());
    ++writes_;
    if (stalled_) {
      ++waiting_;
      cv_.notify_all();
      if (!cv_.wait_for(lock, std::chrono::milliseconds(kMaxHoldMs), [&] { return !stalled_; })) {
        hold_expired_ = true;
        stalled_ = false;
      }
    }
    std::pair<int, size_t> fault{fail_errno_, fail_partial_};
    fail_errno_ = 0;
    return fault;
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string match_;
  bool stalled_ = false;
  bool hold_expired_ = false;
  int waiting_ = 0;
  int writes_ = 0;
  int fail_errno_ = 0;
  size_t fail_partial_ = 0;
  std::set<std::thread::id> threads_;
};

}  // namespace ferry::test
