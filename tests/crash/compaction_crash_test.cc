// Crash safety of the log cleaner. A compacted log is built deterministically; a reference run
// cleans a copy of it in process (several passes: the key map holds 14 keys) and records the
// records after every pass, S0 (before) ... Sn. Then, round after round, a forked child cleans a
// fresh copy and dies at a random point, either by SIGKILL after a random delay or by _exit at a
// random counted file-system operation (every write, fdatasync, rename, unlink and directory
// fsync of the pass and its swap is a possible point; exiting there is what a kill -9 at that
// instant leaves: the page cache survives). The parent reopens the log (recovery) and checks:
// the records are exactly one of S0..Sn (never a partially swapped pass, nothing lost), no
// `.cleaned`/`.swap` file is left, recovery logged what it finished or discarded when such
// files were there, and a clean to the end then reaches Sn. FERRY_COMPACTION_CRASH_ROUNDS
// (default 40), FERRY_COMPACTION_CRASH_SEED.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "common/log.h"
#include "platform/file.h"
#include "platform/forwarding_fs.h"
#include "protocol/record_batch.h"
#include "storage/cleaner.h"
#include "storage/cleaner_map.h"
#include "storage/cleaner_swap.h"
#include "storage/log.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

// Counts mutating file-system operations; at operation `exit_at` the process _exits on the spot.
std::atomic<uint64_t> g_ops{0};
uint64_t g_exit_at = 0;           // 0: never
std::vector<uint64_t> g_renames;  // the operation numbers of renames (reference run)

void count_op() {
  const uint64_t n = ++g_ops;
  if (g_exit_at != 0 && n == g_exit_at) _exit(42);
}

class CountingHandle : public platform::ForwardingFileHandle {
 public:
  using ForwardingFileHandle::ForwardingFileHandle;
  Status pwrite_all(std::span<const std::byte> d, uint64_t off) override {
    count_op();
    return ForwardingFileHandle::pwrite_all(d, off);
  }
  Status pwritev_all(std::span<const std::span<const std::byte>> p, uint64_t off) override {
    count_op();
    return ForwardingFileHandle::pwritev_all(p, off);
  }
  // A process kill keeps the page cache, so syncs are counted (as points to die at) but not
  // made: the test then takes seconds, not minutes.
  Status datasync() override {
    count_op();
    return {};
  }
  Status sync() override {
    count_op();
    return {};
  }
  Status truncate(uint64_t s) override {
    count_op();
    return ForwardingFileHandle::truncate(s);
  }
};

class CountingFs : public platform::ForwardingFileSystem {
 public:
  Result<platform::File> open(const std::string& path, platform::File::Mode mode) override {
    if (mode == platform::File::Mode::create || mode == platform::File::Mode::create_new) {
      count_op();
    }
    auto f = ForwardingFileSystem::open(path, mode);
    if (!f) return f;
    return platform::File(std::make_unique<CountingHandle>(std::move(f).value()), path);
  }
  Status sync_dir(const std::string&) override {
    count_op();
    return {};
  }
  Status rename(const std::string& a, const std::string& b) override {
    count_op();
    g_renames.push_back(g_ops);
    return ForwardingFileSystem::rename(a, b);
  }
  Status unlink(const std::string& p) override {
    count_op();
    return ForwardingFileSystem::unlink(p);
  }
};

constexpr int64_t kNow = 1'700'000'000'000;

LogConfig config() {
  LogConfig cfg;
  cfg.segment_bytes = 1024;
  cfg.index_interval_bytes = 256;
  cfg.cleanup_compact = true;
  cfg.cleanup_delete = false;
  cfg.retention_ms = -1;
  cfg.min_cleanable_dirty_ratio = 0;
  return cfg;
}

CleanerConfig cleaner_config() {
  CleanerConfig cc;
  cc.dedupe_buffer_bytes = 16 * OffsetMap::kEntryBytes;  // 14 keys a pass: several passes
  return cc;
}

std::shared_ptr<Log> open(const std::string& dir, platform::FileSystem& fs, const Clock& clock) {
  LogOptions o;
  o.fs = &fs;
  o.clock = &clock;
  auto l = Log::open(dir, config(), o);
  EXPECT_TRUE(l.ok()) << l.error().to_string();
  return l.ok() ? *l : nullptr;
}

// The deterministic input: 30 keys written 6 times, every 7th write a tombstone, batches of 1-3.
void build(const std::string& dir) {
  FakeClock clock(kNow - 100'000);
  static CountingFs fs;
  auto log = open(dir, fs, clock);
  ASSERT_TRUE(log);
  std::mt19937 rng(7);
  int n = 0;
  for (int round = 0; round < 6; ++round) {
    for (int k = 0; k < 30;) {
      std::vector<std::string> keys, values;
      const int count = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < count && k < 30; ++i, ++k, ++n) {
        keys.push_back("key-" + std::to_string(k));
        values.push_back(n % 7 == 3
                             ? std::string()
                             : "v" + std::to_string(round) + "-" + std::string(rng() % 40, 'x'));
      }
      std::vector<protocol::RecordInput> in;
      for (size_t i = 0; i < keys.size(); ++i) {
        in.push_back({keys[i],
                      values[i].empty() ? std::nullopt : std::optional<std::string_view>(values[i]),
                      clock.now_ms(),
                      {}});
      }
      protocol::BuildOptions o;
      o.compression = round % 2 ? protocol::Compression::lz4 : protocol::Compression::none;
      ASSERT_TRUE(log->append(protocol::build_batch(in, o).value()).ok());
      clock.advance_ms(10);
    }
  }
}

using State = std::vector<std::string>;  // "offset key value" per record

State state_of(Log& log) {
  State out;
  auto r = log.read(log.log_start_offset(), 64 << 20);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  if (!r) return out;
  std::span<const std::byte> rest(r->data);
  while (!rest.empty()) {
    auto n = protocol::declared_batch_size(rest);
    EXPECT_TRUE(n && *n <= rest.size());
    if (!n || *n > rest.size()) break;
    protocol::BatchView v(rest.first(*n));
    EXPECT_TRUE(protocol::validate_batch(v.bytes()).ok());
    // The batch header too: a pass may change only headers (a tombstone's delete horizon, a
    // batch emptied), and a state must match in those as well.
    out.push_back("batch " + std::to_string(v.base_offset().value()) + ".." +
                  std::to_string(v.last_offset().value()) + " n=" +
                  std::to_string(v.record_count()) + " attrs=" + std::to_string(v.attributes()) +
                  " base_ts=" + std::to_string(v.base_timestamp()));
    std::vector<std::byte> scratch;
    auto recs = protocol::decode_records(v, scratch);
    EXPECT_TRUE(recs.ok());
    for (const auto& rec : *recs) {
      out.push_back(std::to_string(v.base_offset().value() + rec.offset_delta) + " " +
                    (rec.key ? test::to_string(*rec.key) : "<null>") + " " +
                    (rec.value ? test::to_string(*rec.value) : "<tombstone>"));
    }
    rest = rest.subspan(*n);
  }
  return out;
}

// Cleans until nothing is left to clean; `states` (optional) gets the records after each pass.
void clean_all(Log& log, const Clock& clock, std::vector<State>* states) {
  Cleaner cleaner(nullptr, cleaner_config(), &clock);
  for (int i = 0; i < 100; ++i) {
    auto r = cleaner.clean_now(log);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    if (!r->has_value()) return;
    if (states) states->push_back(state_of(log));
  }
  FAIL() << "no end to cleaning";
}

struct Captured {
  std::mutex mu;
  std::vector<std::string> lines;
};
void capture(ferry::log::Level, std::string_view line, void* ctx) {
  auto* c = static_cast<Captured*>(ctx);
  std::lock_guard lock(c->mu);
  c->lines.emplace_back(line);
}

bool has_swap_files(const std::string& dir) {
  auto names = platform::list_dir(dir);
  for (const auto& n : names.value()) {
    if (n.ends_with(kCleanedSuffix) || n.ends_with(kSwapSuffix)) return true;
  }
  return false;
}

uint64_t env_or(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : dflt;
}

TEST(CompactionCrash, KillDuringCleaningLeavesOldOrNewSegmentsNeverAMix) {
  const uint64_t rounds = env_or("FERRY_COMPACTION_CRASH_ROUNDS", 40);
  const uint64_t seed =
      env_or("FERRY_COMPACTION_CRASH_SEED", static_cast<uint64_t>(std::random_device{}()));
  std::mt19937_64 rng(seed);
  FakeClock clock(kNow);

  // The reference: every state a pass can leave (reading between passes rebuilds indexes, so
  // the states come from one copy and the operation numbers from another, cleaned unread).
  std::vector<State> states;
  uint64_t total_ops = 0;
  int64_t clean_us = 0;
  {
    test::TempDir ref;
    build(ref.path());
    CountingFs fs;
    auto log = open(ref.path(), fs, clock);
    ASSERT_TRUE(log);
    states.push_back(state_of(*log));
    clean_all(*log, clock, &states);
  }
  {
    test::TempDir ref;
    build(ref.path());
    CountingFs fs;
    auto log = open(ref.path(), fs, clock);
    ASSERT_TRUE(log);
    const uint64_t before = g_ops;
    g_renames.clear();
    const auto t0 = std::chrono::steady_clock::now();
    clean_all(*log, clock, nullptr);
    clean_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    total_ops = g_ops - before;
    for (auto& r : g_renames) r -= before;
  }
  // Renames are where a swap commits and completes: half the counted rounds die at one of them
  // (or right after it), so every step of the swap protocol is hit.
  const std::vector<uint64_t> renames = g_renames;
  ASSERT_FALSE(renames.empty());
  ASSERT_GE(states.size(), 4u) << "the reference should take several passes";
  ASSERT_GT(total_ops, 20u);
  ASSERT_LT(states.back().size(), states.front().size());

  std::map<size_t, int> landed;  // which state each round recovered to
  int finished_logged = 0, discarded_logged = 0;
  for (uint64_t round = 0; round < rounds; ++round) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " round " + std::to_string(round));
    test::TempDir dir;
    build(dir.path());
    const bool by_op = round % 2 == 0;
    const uint64_t exit_at = round % 4 == 0
                                 ? renames[static_cast<size_t>(rng() % renames.size())] + rng() % 2
                                 : 1 + rng() % total_ops;
    const int64_t delay_us = static_cast<int64_t>(rng() % static_cast<uint64_t>(clean_us / 3 + 1));
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(ready[0]);
      ferry::log::set_level(ferry::log::Level::error);
      CountingFs fs;
      auto log = open(dir.path(), fs, clock);
      if (!log) _exit(3);
      if (write(ready[1], "r", 1) != 1) _exit(3);
      g_ops = 0;
      g_exit_at = by_op ? exit_at : 0;
      Cleaner cleaner(nullptr, cleaner_config(), &clock);
      for (int i = 0; i < 100; ++i) {
        auto r = cleaner.clean_now(*log);
        if (!r) _exit(4);
        if (!r->has_value()) break;
      }
      _exit(0);
    }
    close(ready[1]);
    char c = 0;
    (void)!read(ready[0], &c, 1);  // the child has opened the log and starts cleaning
    close(ready[0]);
    if (!by_op) {
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
      kill(pid, SIGKILL);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_FALSE(WIFEXITED(status) && (WEXITSTATUS(status) == 3 || WEXITSTATUS(status) == 4))
        << "the child failed, status " << status;

    const bool leftovers = has_swap_files(dir.path());
    Captured cap;
    ferry::log::set_sink(&capture, &cap);
    CountingFs fs;
    auto log = open(dir.path(), fs, clock);
    ferry::log::set_sink(nullptr, nullptr);
    ASSERT_TRUE(log);
    EXPECT_FALSE(has_swap_files(dir.path()));
    if (leftovers) {
      bool logged = false;
      for (const auto& l : cap.lines) {
        if (l.find("finished an interrupted compaction swap") != std::string::npos) {
          logged = true;
          ++finished_logged;
        } else if (l.find("of a compaction pass that did not commit") != std::string::npos) {
          logged = true;
          ++discarded_logged;
        }
      }
      EXPECT_TRUE(logged) << "recovery found swap files but logged nothing";
    }
    const State got = state_of(*log);
    size_t which = states.size();
    for (size_t i = 0; i < states.size(); ++i) {
      if (states[i] == got) which = i;
    }
    ASSERT_LT(which, states.size()) << "recovered records are none of the states a pass leaves ("
                                    << got.size() << " records, exit_at " << exit_at << ")";
    ++landed[which];
    // And the cleaner goes on from there to the same end.
    clean_all(*log, clock, nullptr);
    EXPECT_EQ(state_of(*log), states.back());
  }
  std::string spread;
  for (const auto& [s, n] : landed) spread += " S" + std::to_string(s) + ":" + std::to_string(n);
  std::printf(
      "seed %llu, %llu rounds, %llu operations per clean, recovered to%s; recovery "
      "finished %d swaps and discarded %d uncommitted passes\n",
      static_cast<unsigned long long>(seed), static_cast<unsigned long long>(rounds),
      static_cast<unsigned long long>(total_ops), spread.c_str(), finished_logged,
      discarded_logged);
  EXPECT_GT(landed.size(), 2u) << "the crashes should land in several passes";
}

}  // namespace
}  // namespace ferry::storage
