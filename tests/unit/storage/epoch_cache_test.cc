// The leader-epoch cache (storage/epoch_cache.h) and the log's upkeep of it (log.h, "Leader
// epochs"): entries from appended batches, OffsetForLeaderEpoch answers, truncation, retention
// and drop_oldest clipping, reopening, a missing, corrupt, torn or stale file rebuilt from the
// batch headers, and the file written on the thread pool before the batches of its job.
#include "storage/epoch_cache.h"

#include <gtest/gtest.h>
#include <uv.h>

#include "common/clock.h"
#include "platform/file.h"
#include "protocol/record_batch.h"
#include "storage/log.h"
#include "support/loop.h"
#include "support/stalling_fs.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

using test::make_batch;

std::vector<std::byte> batch_in_epoch(int32_t epoch, int records = 2, int64_t ts = 0) {
  auto b = ts > 0 ? make_batch(records, "e", ts) : make_batch(records, "e");
  protocol::set_leader_epoch(b, LeaderEpoch(epoch));
  return b;
}

std::vector<EpochEntry> entries(std::initializer_list<std::pair<int32_t, int64_t>> list) {
  std::vector<EpochEntry> out;
  for (auto [e, o] : list) out.push_back({LeaderEpoch(e), Offset(o)});
  return out;
}

EpochEndOffset end(int32_t epoch, int64_t offset) { return {LeaderEpoch(epoch), Offset(offset)}; }

std::string read_text(const std::string& path) {
  auto f = platform::File::open(path, platform::File::Mode::read_only);
  if (!f) return "";
  auto size = f->size();
  std::string s(static_cast<size_t>(*size), '\0');
  auto st = f->pread_exact(std::as_writable_bytes(std::span(s)), 0);
  return st ? s : "";
}

void write_text(const std::string& path, const std::string& text) {
  auto f = platform::File::open(path, platform::File::Mode::create);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->truncate(0).ok());
  ASSERT_TRUE(f->pwrite_all(platform::as_bytes(text), 0).ok());
}

// ---- the cache as a value ------------------------------------------------------------------

TEST(LeaderEpochCache, AssignsOnlyNewerEpochsAtHigherOffsets) {
  LeaderEpochCache c;
  EXPECT_EQ(c.last_epoch(), LeaderEpoch(-1));
  EXPECT_FALSE(c.assign(LeaderEpoch(-1), Offset(0)));  // never stamped
  EXPECT_TRUE(c.assign(LeaderEpoch(1), Offset(0)));
  EXPECT_FALSE(c.assign(LeaderEpoch(1), Offset(5)));
  EXPECT_FALSE(c.assign(LeaderEpoch(0), Offset(6)));
  EXPECT_TRUE(c.assign(LeaderEpoch(4), Offset(10)));
  EXPECT_FALSE(c.assign(LeaderEpoch(5), Offset(10)));  // same offset: not a new batch
  EXPECT_EQ(c.entries(), entries({{1, 0}, {4, 10}}));
  EXPECT_EQ(c.last_epoch(), LeaderEpoch(4));
}

TEST(LeaderEpochCache, EndOfEpochFollowsOffsetForLeaderEpoch) {
  auto c = LeaderEpochCache::from_entries(entries({{1, 0}, {3, 10}, {6, 25}})).value();
  const Offset log_end(40);
  EXPECT_EQ(c.end_of_epoch(LeaderEpoch(0), log_end), end(-1, -1));  // older than all
  EXPECT_EQ(c.end_of_epoch(LeaderEpoch(1), log_end), end(1, 10));
  EXPECT_EQ(c.end_of_epoch(LeaderEpoch(2), log_end), end(1, 10));  // largest epoch <= 2
  EXPECT_EQ(c.end_of_epoch(LeaderEpoch(3), log_end), end(3, 25));
  EXPECT_EQ(c.end_of_epoch(LeaderEpoch(5), log_end), end(3, 25));
  EXPECT_EQ(c.end_of_epoch(LeaderEpoch(6), log_end), end(6, 40));  // the last: log end
  EXPECT_EQ(c.end_of_epoch(LeaderEpoch(9), log_end), end(6, 40));  // newer than all
  EXPECT_EQ(LeaderEpochCache{}.end_of_epoch(LeaderEpoch(3), log_end), end(-1, -1));
}

TEST(LeaderEpochCache, TruncatesFromBothEnds) {
  auto c = LeaderEpochCache::from_entries(entries({{1, 0}, {3, 10}, {6, 25}})).value();
  EXPECT_FALSE(c.truncate_from_end(Offset(30)));
  EXPECT_TRUE(c.truncate_from_end(Offset(25)));  // epoch 6 started at the new end: gone
  EXPECT_EQ(c.entries(), entries({{1, 0}, {3, 10}}));
  EXPECT_TRUE(c.truncate_from_start(Offset(12)));  // epoch 1 wholly below, 3 moved up
  EXPECT_EQ(c.entries(), entries({{3, 12}}));
  EXPECT_FALSE(c.truncate_from_start(Offset(12)));
  EXPECT_FALSE(c.truncate_from_start(Offset(5)));
}

TEST(LeaderEpochCache, FileRoundTripsAndRejectsDamage) {
  auto c = LeaderEpochCache::from_entries(entries({{0, 0}, {7, 123456789012}})).value();
  const std::string text = c.encode();
  EXPECT_EQ(text.substr(0, 22), "ferry-leader-epochs 1\n");
  auto back = LeaderEpochCache::decode(platform::as_bytes(text));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, c);
  // Empty caches are files too.
  EXPECT_TRUE(LeaderEpochCache::decode(platform::as_bytes(LeaderEpochCache{}.encode())).ok());

  std::string flipped = text;
  flipped[24] = flipped[24] == '1' ? '2' : '1';  // a digit of an entry
  EXPECT_FALSE(LeaderEpochCache::decode(platform::as_bytes(flipped)).ok());
  for (size_t cut = 0; cut < text.size(); ++cut) {  // every torn prefix
    EXPECT_FALSE(LeaderEpochCache::decode(platform::as_bytes(text.substr(0, cut))).ok()) << cut;
  }
  std::string version2 = text;
  version2[20] = '2';
  EXPECT_FALSE(LeaderEpochCache::decode(platform::as_bytes(version2)).ok());
  // Entries out of order are refused even under a good CRC.
  EXPECT_FALSE(LeaderEpochCache::from_entries(entries({{3, 0}, {2, 5}})).ok());
  EXPECT_FALSE(LeaderEpochCache::from_entries(entries({{1, 5}, {2, 5}})).ok());
}

// ---- the log's cache -----------------------------------------------------------------------

struct LogEpochs : ::testing::Test {
  test::TempDir dir;
  LogConfig cfg;
  std::shared_ptr<Log> log;

  void open() {
    log.reset();
    auto opened = Log::open(dir.path(), cfg);
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    log = opened.value();
  }
  void append(int32_t epoch, int records = 2) {
    auto info = log->append(batch_in_epoch(epoch, records));
    ASSERT_TRUE(info.ok()) << info.error().to_string();
  }
  std::string cache_path() const { return dir.file(kEpochCacheFile); }
  std::vector<EpochEntry> on_disk() const {
    const std::string text = read_text(cache_path());
    auto c = LeaderEpochCache::decode(platform::as_bytes(text));
    return c ? c->entries() : std::vector<EpochEntry>{{LeaderEpoch(-99), Offset(-99)}};
  }
  // Epochs 0 (offsets 0-3), 2 (4-9), 5 (10-11): six batches of two records.
  void write_three_epochs() {
    open();
    append(0);
    append(0);
    append(2);
    append(2);
    append(2);
    append(5);
  }
};

TEST_F(LogEpochs, AppendedEpochsAreKeptAndAnswered) {
  open();
  EXPECT_EQ(log->last_epoch(), LeaderEpoch(-1));
  EXPECT_EQ(log->end_of_epoch(LeaderEpoch(0)), end(-1, -1));
  append(-1);  // an unstamped batch adds nothing
  EXPECT_TRUE(log->epoch_entries().empty());
  append(0);
  append(0);
  append(2);
  append(2);
  append(5);
  EXPECT_EQ(log->epoch_entries(), entries({{0, 2}, {2, 6}, {5, 10}}));
  EXPECT_EQ(log->last_epoch(), LeaderEpoch(5));
  EXPECT_EQ(log->end_of_epoch(LeaderEpoch(0)), end(0, 6));
  EXPECT_EQ(log->end_of_epoch(LeaderEpoch(1)), end(0, 6));
  EXPECT_EQ(log->end_of_epoch(LeaderEpoch(4)), end(2, 10));
  EXPECT_EQ(log->end_of_epoch(LeaderEpoch(5)), end(5, 12));
  EXPECT_EQ(log->end_of_epoch(LeaderEpoch(8)), end(5, 12));
  EXPECT_EQ(on_disk(), log->epoch_entries());
  open();  // reopen: read from the file
  EXPECT_EQ(log->epoch_entries(), entries({{0, 2}, {2, 6}, {5, 10}}));
}

TEST_F(LogEpochs, AnEpochStartBatchStartsItsEpoch) {
  open();
  ASSERT_TRUE(log->append(batch_in_epoch(1, 3, 1'000'000)).ok());
  auto info = log->append(protocol::build_epoch_start_batch(LeaderEpoch(4), 5'000'000));
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(info->base_offset, Offset(3));
  EXPECT_EQ(info->last_offset, Offset(3));  // one offset, no records
  ASSERT_TRUE(log->append(batch_in_epoch(4, 2, 6'000'000)).ok());
  EXPECT_EQ(log->epoch_entries(), entries({{1, 0}, {4, 3}}));
  EXPECT_EQ(log->log_end_offset(), Offset(6));
  // Timestamp lookups step over it to the next record: its own timestamp is no record's.
  auto ts = log->offset_for_timestamp(3'000'000);
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(*ts, std::optional<Offset>(Offset(4)));
}

TEST_F(LogEpochs, TruncationDropsEntriesAtOrAfterTheNewEnd) {
  write_three_epochs();
  auto cut = log->truncate_to(Offset(6));  // inside epoch 2
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(*cut, Offset(6));
  EXPECT_EQ(log->epoch_entries(), entries({{0, 0}, {2, 4}}));
  EXPECT_EQ(log->end_of_epoch(LeaderEpoch(5)), end(2, 6));
  EXPECT_EQ(on_disk(), entries({{0, 0}, {2, 4}}));
  ASSERT_TRUE(log->truncate_to(Offset(4)).ok());  // the whole of epoch 2
  EXPECT_EQ(log->epoch_entries(), entries({{0, 0}}));
  append(3);  // a new epoch after the cut
  EXPECT_EQ(log->epoch_entries(), entries({{0, 0}, {3, 4}}));
  open();
  EXPECT_EQ(log->epoch_entries(), entries({{0, 0}, {3, 4}}));
}

TEST_F(LogEpochs, RetentionAndDropOldestClipTheFirstEntries) {
  cfg.segment_bytes = 1;  // every batch its own segment
  cfg.retention_bytes = 0;
  cfg.retention_ms = -1;
  write_three_epochs();
  ASSERT_EQ(log->segment_count(), 6u);
  log->flush();
  auto r = log->apply_retention();
  ASSERT_TRUE(r.ok());
  ASSERT_GT(r->segments_deleted, 0u);
  // Retention keeps the active segment: the log now starts at the epoch-5 batch.
  EXPECT_EQ(log->log_start_offset(), Offset(10));
  EXPECT_EQ(log->epoch_entries(), entries({{5, 10}}));
  EXPECT_EQ(on_disk(), entries({{5, 10}}));
  EXPECT_EQ(log->end_of_epoch(LeaderEpoch(2)), end(-1, -1));
  open();
  EXPECT_EQ(log->epoch_entries(), entries({{5, 10}}));
}

TEST_F(LogEpochs, DropOldestClipsTheFirstEntry) {
  cfg.segment_bytes = 1;
  write_three_epochs();
  log->flush();
  auto d = log->drop_oldest_segment();
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ(log->log_start_offset(), Offset(2));
  EXPECT_EQ(log->epoch_entries(), entries({{0, 2}, {2, 4}, {5, 10}}));
  EXPECT_EQ(on_disk(), entries({{0, 2}, {2, 4}, {5, 10}}));
  // Down to an empty log: the last epoch is kept at the log start, and so after a reopen.
  for (int i = 0; i < 10 && log->log_start_offset() < log->log_end_offset(); ++i) {
    log->flush();
    ASSERT_TRUE(log->drop_oldest_segment().ok());
  }
  ASSERT_EQ(log->log_start_offset(), Offset(12));
  EXPECT_EQ(log->epoch_entries(), entries({{5, 12}}));
  EXPECT_EQ(log->last_epoch(), LeaderEpoch(5));
  open();
  EXPECT_EQ(log->epoch_entries(), entries({{5, 12}}));
  EXPECT_EQ(log->end_of_epoch(LeaderEpoch(5)), end(5, 12));
}

TEST_F(LogEpochs, MissingFileIsRebuiltFromTheHeaders) {
  // Two batches per segment: [0 0] [2 2] [2 5]. The first and last are walked, the middle one
  // (its first epoch is the next one's) is not.
  cfg.segment_bytes = 200;
  write_three_epochs();
  const auto want = log->epoch_entries();
  ASSERT_EQ(log->segment_count(), 3u);
  log.reset();
  ASSERT_TRUE(platform::real_fs().unlink(cache_path()).ok());
  test::LogCapture logs;
  open();
  EXPECT_EQ(log->epoch_entries(), want);
  EXPECT_TRUE(logs.saw("missing, building it from the batch headers"));
  EXPECT_EQ(on_disk(), want);  // and written back
}

TEST_F(LogEpochs, CorruptOrTornFileIsRebuilt) {
  write_three_epochs();
  const auto want = log->epoch_entries();
  const std::string good = read_text(cache_path());
  log.reset();
  // A flipped byte, a torn write (kill -9 or power cut mid-file), an empty file.
  for (const std::string& bad :
       {std::string(good).replace(23, 1, "9"), good.substr(0, good.size() / 2), std::string()}) {
    write_text(cache_path(), bad);
    test::LogCapture logs;
    open();
    EXPECT_EQ(log->epoch_entries(), want);
    EXPECT_TRUE(logs.saw("rebuilding it from the batch headers"));
    EXPECT_EQ(read_text(cache_path()), good);
    log.reset();
  }
  // A torn temporary file next to a good one (a crash before the rename) changes nothing.
  write_text(cache_path() + ".tmp", good.substr(0, 10));
  open();
  EXPECT_EQ(log->epoch_entries(), want);
  EXPECT_FALSE(platform::real_fs().exists(cache_path() + ".tmp"));
}

TEST_F(LogEpochs, StaleFileIsClippedOrRebuilt) {
  write_three_epochs();
  log.reset();
  // Entries past the log end (a tail lost at a crash after the file was written): clipped.
  write_text(cache_path(),
             LeaderEpochCache::from_entries(entries({{0, 0}, {2, 4}, {5, 10}, {7, 12}}))->encode());
  open();
  EXPECT_EQ(log->epoch_entries(), entries({{0, 0}, {2, 4}, {5, 10}}));
  EXPECT_EQ(on_disk(), entries({{0, 0}, {2, 4}, {5, 10}}));
  log.reset();
  // A file behind the log (its last epoch is not the last batch's): rebuilt.
  write_text(cache_path(), LeaderEpochCache::from_entries(entries({{0, 0}}))->encode());
  test::LogCapture logs;
  open();
  EXPECT_EQ(log->epoch_entries(), entries({{0, 0}, {2, 4}, {5, 10}}));
  EXPECT_TRUE(logs.saw("but the last batch has epoch 5"));
}

TEST_F(LogEpochs, TailRecoveryCutFixesTheCache) {
  write_three_epochs();
  log.reset();
  // Tear the last batch (the epoch-5 one): recovery cuts it, the entry goes with it.
  const std::string seg = dir.file("00000000000000000000.log");
  auto size = platform::real_fs().file_size(seg).value();
  {
    auto f = platform::File::open(seg, platform::File::Mode::read_write).value();
    ASSERT_TRUE(f.truncate(size - 10).ok());
  }
  open();
  EXPECT_EQ(log->log_end_offset(), Offset(10));
  EXPECT_EQ(log->epoch_entries(), entries({{0, 0}, {2, 4}}));
  EXPECT_EQ(log->last_epoch(), LeaderEpoch(2));
  EXPECT_EQ(on_disk(), entries({{0, 0}, {2, 4}}));
}

// ---- off the loop ----------------------------------------------------------------------------

struct LogEpochsOnLoop : ::testing::Test {
  test::TempDir dir;
  uv_loop_t loop{};
  test::StallingFileSystem fs;
  LogConfig cfg;
  std::shared_ptr<Log> log;

  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop), 0);
    LogOptions opts;
    opts.loop = &loop;
    opts.fs = &fs;
    log = Log::open(dir.path(), cfg, opts).value();
  }
  void TearDown() override {
    EXPECT_FALSE(fs.hold_expired()) << "a held write ran on the loop";
    fs.release();
    bool closed = false;
    log->close([&](Status) { closed = true; });
    EXPECT_TRUE(test::run_until(&loop, [&] { return closed; }));
    log.reset();
    for (int i = 0; i < 20; ++i) uv_run(&loop, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop), 0);
  }
  std::vector<EpochEntry> on_disk() const {
    const std::string text = read_text(dir.file(kEpochCacheFile));
    auto c = LeaderEpochCache::decode(platform::as_bytes(text));
    return c ? c->entries() : std::vector<EpochEntry>{};
  }
};

TEST_F(LogEpochsOnLoop, AJobWritesTheFileOnThePoolBeforeItsBatches) {
  const auto b = batch_in_epoch(3);
  fs.watch(kEpochCacheFile);
  fs.stall();
  auto job = log->begin_write();
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(log->add(**job, b).ok());
  bool done = false;
  Status status;
  log->submit(std::move(job).value(), [&](Status st) {
    status = st;
    done = true;
  });
  // The cache write is held on a pool thread; the loop (this thread) goes on, and the batch is
  // not in the segment yet.
  ASSERT_TRUE(fs.wait_for_stalled_write());
  EXPECT_EQ(platform::real_fs().file_size(dir.file("00000000000000000000.log")).value(), 0u);
  EXPECT_TRUE(log->epoch_entries().empty());  // taken only when the job is back
  fs.release();
  ASSERT_TRUE(test::run_until(&loop, [&] { return done; }));
  ASSERT_TRUE(status.ok()) << status.error().to_string();
  EXPECT_EQ(log->epoch_entries(), entries({{3, 0}}));
  EXPECT_EQ(on_disk(), entries({{3, 0}}));

  // A job with no new epoch does not write the file.
  const int writes = fs.stalled_writes();
  fs.stall();
  auto job2 = log->begin_write();
  ASSERT_TRUE(log->add(**job2, batch_in_epoch(3)).ok());
  done = false;
  log->submit(std::move(job2).value(), [&](Status st) {
    status = st;
    done = true;
  });
  ASSERT_TRUE(test::run_until(&loop, [&] { return done; }));
  EXPECT_EQ(fs.stalled_writes(), writes);
  fs.release();
}

TEST_F(LogEpochsOnLoop, TruncationWritesTheFileOffTheLoop) {
  for (int e : {1, 2, 3}) {
    auto job = log->begin_write();
    ASSERT_TRUE(log->add(**job, batch_in_epoch(e)).ok());
    bool done = false;
    log->submit(std::move(job).value(), [&](Status) { done = true; });
    ASSERT_TRUE(test::run_until(&loop, [&] { return done; }));
  }
  EXPECT_EQ(on_disk(), entries({{1, 0}, {2, 2}, {3, 4}}));
  fs.watch(kEpochCacheFile);
  fs.stall();
  ASSERT_TRUE(log->truncate_to(Offset(2)).ok());  // returns while the write is held
  ASSERT_TRUE(fs.wait_for_stalled_write());
  EXPECT_EQ(log->epoch_entries(), entries({{1, 0}}));
  // A write job submitted meanwhile carries the state too: the file is right before its batch.
  auto job = log->begin_write();
  ASSERT_TRUE(log->add(**job, batch_in_epoch(1)).ok());
  bool done = false;
  log->submit(std::move(job).value(), [&](Status) { done = true; });
  fs.release();
  ASSERT_TRUE(test::run_until(&loop, [&] { return done; }));
  ASSERT_TRUE(test::run_until(&loop, [&] { return on_disk() == entries({{1, 0}}); }));
}

}  // namespace
}  // namespace ferry::storage
