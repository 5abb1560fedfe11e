// Unit tests of the partition log: append/read, offsets, roll, retention, durability callbacks,
// group commit, reopen, timestamps and sticky write failures.
#include "storage/log.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <uv.h>

#include "platform/file.h"
#include "platform/file_system.h"
#include "platform/forwarding_fs.h"
#include "storage/segment_name.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

using protocol::BatchView;
using test::make_batch;
using test::TempDir;

std::shared_ptr<Log> open_log(const std::string& dir, const LogConfig& cfg = {},
                              LogOptions opts = {}) {
  auto log = Log::open(dir, cfg, opts);
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().to_string());
  return log.ok() ? log.value() : nullptr;
}

// Every batch of a read, as views.
std::vector<BatchView> batches_of(const ReadResult& r) {
  std::vector<BatchView> out;
  std::span<const std::byte> rest(r.data);
  while (!rest.empty()) {
    auto n = protocol::declared_batch_size(rest);
    EXPECT_TRUE(n.has_value());
    if (!n || *n > rest.size()) break;
    out.emplace_back(rest.first(*n));
    rest = rest.subspan(*n);
  }
  return out;
}

TEST(Log, AppendAssignsConsecutiveOffsetsAndReadsBack) {
  TempDir dir;
  auto log = open_log(dir.path());
  ASSERT_TRUE(log);
  EXPECT_EQ(log->log_start_offset(), Offset(0));
  EXPECT_EQ(log->log_end_offset(), Offset(0));
  std::vector<std::vector<std::byte>> sent;
  for (int i = 0; i < 10; ++i) {
    sent.push_back(make_batch(i + 1, "b" + std::to_string(i)));
    auto info = log->append(sent.back());
    ASSERT_TRUE(info.ok()) << info.error().to_string();
  }
  EXPECT_EQ(log->log_end_offset(), Offset(55));  // 1 + 2 + ... + 10
  auto r = log->read(Offset(0), 1 << 20);
  ASSERT_TRUE(r.ok());
  auto views = batches_of(*r);
  ASSERT_EQ(views.size(), 10u);
  EXPECT_EQ(r->next_offset, Offset(55));
  int64_t expect_base = 0;
  for (size_t i = 0; i < views.size(); ++i) {
    EXPECT_EQ(views[i].base_offset(), Offset(expect_base));
    EXPECT_TRUE(protocol::validate_batch(views[i].bytes()).ok());
    // Identical to what was sent except the base offset.
    std::vector<std::byte> expect = sent[i];
    protocol::set_base_offset(expect, Offset(expect_base));
    EXPECT_TRUE(
        std::equal(expect.begin(), expect.end(), views[i].bytes().begin(), views[i].bytes().end()));
    expect_base += static_cast<int64_t>(i) + 1;
  }
}

TEST(Log, ReadFromTheMiddleOfABatchReturnsThatBatch) {
  TempDir dir;
  auto log = open_log(dir.path());
  ASSERT_TRUE(log->append(make_batch(5)).ok());
  ASSERT_TRUE(log->append(make_batch(5)).ok());
  auto r = log->read(Offset(7), 1 << 20);
  ASSERT_TRUE(r.ok());
  auto v = batches_of(*r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].base_offset(), Offset(5));
}

TEST(Log, ReadHonoursBudgetAndReturnsFirstBatchWhole) {
  TempDir dir;
  auto log = open_log(dir.path());
  auto b = make_batch(10, "x", 1, 200);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->append(b).ok());
  auto tiny = log->read(Offset(0), 1);
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(batches_of(*tiny).size(), 1u);  // the first batch whole, even over budget
  EXPECT_EQ(tiny->next_offset, Offset(10));
  auto two = log->read(Offset(0), b.size() * 2 + b.size() / 2);
  EXPECT_EQ(batches_of(*two).size(), 2u);
  auto bounded = log->read(Offset(0), 1 << 20, Offset(30));
  EXPECT_EQ(batches_of(*bounded).size(), 3u);
  EXPECT_EQ(bounded->next_offset, Offset(30));
}

TEST(Log, ReadOutsideTheLogIsOutOfRange) {
  TempDir dir;
  auto log = open_log(dir.path());
  ASSERT_TRUE(log->append(make_batch(3)).ok());
  auto at_end = log->read(Offset(3), 100);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->data.empty());
  auto past = log->read(Offset(4), 100);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code(), Errc::out_of_range);
  EXPECT_EQ(log->read(Offset(-1), 100).error().code(), Errc::out_of_range);
}

TEST(Log, RejectsCorruptAndOversizedBatchesWithoutStoringThem) {
  TempDir dir;
  LogConfig cfg;
  cfg.max_batch_bytes = 2000;
  auto log = open_log(dir.path(), cfg);
  auto b = make_batch(3);
  b[b.size() - 1] ^= std::byte{1};  // breaks the CRC
  auto bad = log->append(b);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::corrupt);
  auto big = log->append(make_batch(10, "v", 1, 500));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code(), Errc::too_large);
  std::vector<std::byte> truncated = make_batch(3);
  truncated.resize(truncated.size() - 5);
  EXPECT_FALSE(log->append(truncated).ok());
  EXPECT_EQ(log->log_end_offset(), Offset(0));
  EXPECT_EQ(log->size_bytes(), 0u);
  EXPECT_TRUE(log->append(make_batch(2)).ok());  // still usable
}

TEST(Log, ReopenKeepsEverythingAndContinuesOffsets) {
  TempDir dir;
  LogConfig cfg;
  cfg.segment_bytes = 4096;  // several segments
  cfg.index_interval_bytes = 256;
  {
    auto log = open_log(dir.path(), cfg);
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(log->append(make_batch(4, "r", 1, 50)).ok());
    log->flush();
    EXPECT_GT(log->segment_count(), 3u);
  }
  auto log = open_log(dir.path(), cfg);
  EXPECT_EQ(log->log_end_offset(), Offset(160));
  EXPECT_GT(log->segment_count(), 3u);
  for (int64_t off = 0; off < 160; off += 7) {
    auto r = log->read(Offset(off), 1);
    ASSERT_TRUE(r.ok());
    auto v = batches_of(*r);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_LE(v[0].base_offset(), Offset(off));
    EXPECT_GE(v[0].last_offset(), Offset(off));
  }
  auto info = log->append(make_batch(1));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->base_offset, Offset(160));
}

TEST(Log, SegmentFilesAreNamedByBaseOffset) {
  TempDir dir;
  LogConfig cfg;
  cfg.segment_bytes = 1000;
  auto log = open_log(dir.path(), cfg);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->append(make_batch(3, "s", 1, 300)).ok());
  log->flush();
  auto names = platform::list_dir(dir.path());
  ASSERT_TRUE(names.ok());
  std::vector<int64_t> bases;
  for (const auto& n : *names) {
    if (n == "recovery.point") continue;
    auto p = parse_segment_file_name(n);
    ASSERT_TRUE(p.has_value()) << n;
    if (p->kind == SegmentFile::log) bases.push_back(p->base.value());
  }
  EXPECT_EQ(bases, (std::vector<int64_t>{0, 3, 6, 9, 12}));
  EXPECT_TRUE(platform::exists(dir.file("00000000000000000003.log")));
}

TEST(SegmentName, RoundTripsAndRejectsOtherNames) {
  EXPECT_EQ(segment_file_name(Offset(42), SegmentFile::index), "00000000000000000042.index");
  auto p = parse_segment_file_name("09223372036854775807.timeindex");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->base, Offset(INT64_MAX));
  EXPECT_EQ(p->kind, SegmentFile::timeindex);
  for (const char* bad : {"0000000000000000004.log", "00000000000000000042.log.tmp",
                          "0000000000000000004x.log", "99999999999999999999.log", "x.log", ""}) {
    EXPECT_FALSE(parse_segment_file_name(bad).has_value()) << bad;
  }
}

TEST(Log, RollsByAgeWithAFakeClock) {
  TempDir dir;
  FakeClock clock;
  LogConfig cfg;
  cfg.segment_ms = 60'000;
  LogOptions opts;
  opts.clock = &clock;
  auto log = open_log(dir.path(), cfg, opts);
  ASSERT_TRUE(log->append(make_batch(1, "a", clock.now_ms())).ok());
  clock.advance_ms(59'000);
  ASSERT_TRUE(log->append(make_batch(1, "a", clock.now_ms())).ok());
  EXPECT_EQ(log->segment_count(), 1u);
  clock.advance_ms(2'000);
  ASSERT_TRUE(log->append(make_batch(1, "a", clock.now_ms())).ok());
  EXPECT_EQ(log->segment_count(), 2u);
  clock.advance_ms(61'000);
  ASSERT_TRUE(log->maybe_roll().ok());
  EXPECT_EQ(log->segment_count(), 3u);
  ASSERT_TRUE(log->maybe_roll().ok());  // an empty active segment never rolls
  EXPECT_EQ(log->segment_count(), 3u);
}

TEST(Log, RetentionByTimeDeletesWholeExpiredSegmentsOnly) {
  TempDir dir;
  FakeClock clock;
  LogConfig cfg;
  cfg.segment_bytes = 600;
  cfg.retention_ms = 10'000;
  LogOptions opts;
  opts.clock = &clock;
  auto log = open_log(dir.path(), cfg, opts);
  // Three old segments, then two fresh ones.
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(log->append(make_batch(2, "o", clock.now_ms(), 250)).ok());
  clock.advance_ms(20'000);
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(log->append(make_batch(2, "n", clock.now_ms(), 250)).ok());
  log->flush();
  ASSERT_EQ(log->segment_count(), 5u);
  auto r = log->apply_retention();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_deleted, 3u);
  EXPECT_EQ(log->log_start_offset(), Offset(6));
  EXPECT_FALSE(platform::exists(dir.file("00000000000000000000.log")));
  EXPECT_FALSE(platform::exists(dir.file("00000000000000000000.index")));
  EXPECT_EQ(log->read(Offset(0), 100).error().code(), Errc::out_of_range);
  auto first = log->read(Offset(6), 1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(batches_of(*first)[0].base_offset(), Offset(6));
}

TEST(Log, RetentionRollsAndDeletesAnExpiredActiveSegment) {
  TempDir dir;
  FakeClock clock;
  LogConfig cfg;
  cfg.retention_ms = 1'000;
  LogOptions opts;
  opts.clock = &clock;
  auto log = open_log(dir.path(), cfg, opts);
  ASSERT_TRUE(log->append(make_batch(4, "x", clock.now_ms())).ok());
  log->flush();
  clock.advance_ms(5'000);
  auto r = log->apply_retention();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_deleted, 1u);
  EXPECT_EQ(log->log_start_offset(), Offset(4));
  EXPECT_EQ(log->log_end_offset(), Offset(4));
  auto info = log->append(make_batch(1, "y", clock.now_ms()));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->base_offset, Offset(4));
}

TEST(Log, RetentionBySizeKeepsTheNewestBytes) {
  TempDir dir;
  LogConfig cfg;
  cfg.segment_bytes = 1000;
  cfg.retention_ms = -1;
  auto log = open_log(dir.path(), cfg);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->append(make_batch(1, "s", 1, 800)).ok());
  log->flush();
  ASSERT_EQ(log->segment_count(), 10u);
  uint64_t seg = log->size_bytes() / 10;
  cfg.retention_bytes = static_cast<int64_t>(seg * 3);
  log->set_config(cfg);
  auto r = log->apply_retention();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_deleted, 7u);
  EXPECT_EQ(log->segment_count(), 3u);
  EXPECT_LE(log->size_bytes(), static_cast<uint64_t>(cfg.retention_bytes));
  EXPECT_EQ(log->log_start_offset(), Offset(7));
}

TEST(Log, RetentionKeepsUnmirroredDataUnlessTheDiskIsNearlyFull) {
  TempDir dir;
  LogConfig cfg;
  cfg.segment_bytes = 1000;
  cfg.retention_ms = -1;
  cfg.retention_bytes = 0;
  auto log = open_log(dir.path(), cfg);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(log->append(make_batch(2, "m", 1, 400)).ok());
  log->flush();
  ASSERT_EQ(log->segment_count(), 6u);
  // Mirrored up to offset 5: segments [0,2) and [2,4) may go; [4,6) holds offset 5.
  auto r = log->apply_retention(Offset(5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_deleted, 2u);
  EXPECT_EQ(log->log_start_offset(), Offset(4));
  r = log->apply_retention(Offset(5));
  EXPECT_EQ(r->segments_deleted, 0u);
  r = log->apply_retention(Offset(5), /*disk_nearly_full=*/true);
  EXPECT_EQ(r->segments_deleted, 3u);  // everything but the active segment
  EXPECT_EQ(log->log_start_offset(), Offset(10));
}

TEST(Log, OffsetForTimestampFindsTheFirstRecordAtOrAfter) {
  TempDir dir;
  LogConfig cfg;
  cfg.segment_bytes = 700;
  cfg.index_interval_bytes = 100;
  auto log = open_log(dir.path(), cfg);
  // Batch i holds 5 records with timestamps 1000*i + 0..4.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(log->append(make_batch(5, "t", 1000 * i, 60)).ok());
  log->flush();
  auto at = [&](int64_t ts) {
    auto r = log->offset_for_timestamp(ts);
    EXPECT_TRUE(r.ok());
    return r.ok() && r->has_value() ? (*r)->value() : -1;
  };
  EXPECT_EQ(at(0), 0);
  EXPECT_EQ(at(3), 3);
  EXPECT_EQ(at(5), 5);  // between batches: the next batch's first record
  EXPECT_EQ(at(7002), 37);
  EXPECT_EQ(at(19004), 99);
  EXPECT_EQ(at(19005), -1);
  // The same after reopening (indexes loaded from disk).
  log.reset();
  log = open_log(dir.path(), cfg);
  EXPECT_EQ(at(7002), 37);
  EXPECT_EQ(at(12000), 60);
}

TEST(Log, DurabilityCallbacksWithoutALoopFireOnFlush) {
  TempDir dir;
  auto log = open_log(dir.path());
  std::vector<int> fired;
  for (int i = 0; i < 3; ++i) {
    AppendOptions o;
    o.on_durable = [&fired, i](Status st) {
      EXPECT_TRUE(st.ok());
      fired.push_back(i);
    };
    ASSERT_TRUE(log->append(make_batch(1), std::move(o)).ok());
  }
  EXPECT_TRUE(fired.empty());
  EXPECT_EQ(log->durable_offset(), Offset(0));
  log->flush();
  EXPECT_EQ(fired, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(log->durable_offset(), Offset(3));
  EXPECT_EQ(log->flush_count(), 1u);
}

TEST(Log, FlushMessagesPolicyFlushesEveryNRecords) {
  TempDir dir;
  LogConfig cfg;
  cfg.flush_messages = 10;
  auto log = open_log(dir.path(), cfg);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(log->append(make_batch(1)).ok());
  EXPECT_EQ(log->flush_count(), 0u);
  ASSERT_TRUE(log->append(make_batch(1)).ok());
  EXPECT_EQ(log->flush_count(), 1u);
  EXPECT_EQ(log->durable_offset(), Offset(10));
}

TEST(Log, GroupCommitOnTheLoopSharesFsyncsAndKeepsOrder) {
  TempDir dir;
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    LogOptions opts;
    opts.loop = &loop;
    auto log = open_log(dir.path(), {}, opts);
    std::vector<int64_t> acked;
    const int n = 200;
    for (int i = 0; i < n; ++i) {
      AppendOptions o;
      o.flush_now = true;  // acks=all
      int64_t expect = i;
      o.on_durable = [&acked, expect, &log](Status st) {
        EXPECT_TRUE(st.ok());
        EXPECT_GE(log->durable_offset(), Offset(expect + 1));
        acked.push_back(expect);
      };
      ASSERT_TRUE(log->append(make_batch(1), std::move(o)).ok());
    }
    EXPECT_TRUE(acked.empty());  // nothing is durable before the loop runs the fsync
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(acked.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) EXPECT_EQ(acked[static_cast<size_t>(i)], i);
    EXPECT_LT(log->flush_count(), 10u) << "appends should share fdatasyncs";
    EXPECT_GE(log->flush_count(), 1u);
    bool closed = false;
    log->close([&](Status st) {
      EXPECT_TRUE(st.ok());
      closed = true;
    });
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_TRUE(closed);
    EXPECT_EQ(log->append(make_batch(1)).error().code(), Errc::closed);
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // lets the timer handle close
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(Log, FlushMsTimerMakesAcks1DataDurable) {
  TempDir dir;
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    LogConfig cfg;
    cfg.flush_ms = 20;
    LogOptions opts;
    opts.loop = &loop;
    auto log = open_log(dir.path(), cfg, opts);
    ASSERT_TRUE(log->append(make_batch(3)).ok());
    EXPECT_EQ(log->durable_offset(), Offset(0));
    uv_run(&loop, UV_RUN_DEFAULT);  // returns once the timer fired and the flush completed
    EXPECT_EQ(log->durable_offset(), Offset(3));
    EXPECT_EQ(log->flush_count(), 1u);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(Log, AWriteFailureIsStickyAndFailsWaiters) {
  TempDir dir;
  auto log = open_log(dir.path());
  bool waiter_failed = false;
  AppendOptions o;
  o.on_durable = [&](Status st) { waiter_failed = !st.ok(); };
  ASSERT_TRUE(log->append(make_batch(2), std::move(o)).ok());  // not yet durable
  // A real write error: the file-size limit makes the next pwrite fail with EFBIG.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGXFSZ, &ignore, &old);
  rlimit saved{};
  getrlimit(RLIMIT_FSIZE, &saved);
  rlimit small = saved;
  small.rlim_cur = static_cast<rlim_t>(log->size_bytes() + 10);
  setrlimit(RLIMIT_FSIZE, &small);
  auto r = log->append(make_batch(50, "big", 1, 100));
  setrlimit(RLIMIT_FSIZE, &saved);
  sigaction(SIGXFSZ, &old, nullptr);
  ASSERT_FALSE(r.ok());
  ASSERT_TRUE(log->failure().has_value());
  EXPECT_TRUE(waiter_failed) << "a pending durability wait must fail with the log";
  EXPECT_EQ(log->append(make_batch(1)).error().code(), Errc::failed_state);
  // Reads of what was stored keep working.
  auto read = log->read(Offset(0), 1 << 20);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(batches_of(*read).size(), 1u);
  // Reopening recovers: the partial batch is cut, appends work again.
  log.reset();
  log = open_log(dir.path());
  EXPECT_EQ(log->log_end_offset(), Offset(2));
  EXPECT_TRUE(log->append(make_batch(1)).ok());
}

}  // namespace
}  // namespace ferry::storage

namespace ferry::storage {
namespace {

// Opening must not read old segments: damage in the middle of the oldest segment goes unseen by
// open (only the last two segments' tails are scanned), and the log end is still right.
TEST(Log, OpenReadsOnlyTheTailsOfTheLastTwoSegments) {
  test::TempDir dir;
  LogConfig cfg;
  cfg.segment_bytes = 2000;
  {
    auto log = Log::open(dir.path(), cfg).value();
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(log->append(test::make_batch(2, "o", 1, 150)).ok());
    log->flush();
    ASSERT_GE(log->segment_count(), 5u);
  }
  std::string first = dir.file("00000000000000000000.log");
  auto f = platform::File::open(first, platform::File::Mode::read_write).value();
  std::byte junk[8] = {};
  ASSERT_TRUE(f.pwrite_all(junk, 500).ok());
  auto size_before = platform::file_size(first).value();
  auto log = Log::open(dir.path(), cfg);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->log_end_offset(), Offset(60));
  EXPECT_EQ(platform::file_size(first).value(), size_before) << "an old segment was modified";
}

// Counts the bytes read through it; everything else goes to the real file system.
class ReadCountingFs final : public platform::ForwardingFileSystem {
 public:
  uint64_t bytes_read = 0;

  Result<platform::File> open(const std::string& path, platform::File::Mode mode) override {
    auto f = inner().open(path, mode);
    if (!f) return std::move(f).error();
    return platform::File(std::make_unique<Handle>(std::move(*f), this), path);
  }

 private:
  class Handle final : public platform::ForwardingFileHandle {
   public:
    Handle(platform::File f, ReadCountingFs* fs) : ForwardingFileHandle(std::move(f)), fs_(fs) {}
    Result<size_t> pread_some(std::span<std::byte> d, uint64_t o) const override {
      auto n = inner().pread_some(d, o);
      if (n) fs_->bytes_read += *n;
      return n;
    }

   private:
    ReadCountingFs* fs_;
  };
};

// A fetch-sized read reads its batches once: locating the first batch must not pull a
// scan-sized window (a megabyte) through the file as well, which doubled the bytes copied and
// the memory touched by every fetch of a partition.
TEST(Log, ReadLocatesItsFirstBatchWithoutAScanSizedRead) {
  TempDir dir;
  ReadCountingFs fs;
  LogOptions opts;
  opts.fs = &fs;
  LogConfig cfg;
  auto log = Log::open(dir.path(), cfg, opts).value();
  // Batches of about 300 KiB, so 1 MiB holds three of them and the file holds six.
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(log->append(make_batch(300, "v", 1'700'000'000'000, 1000)).ok());
  log->flush();
  constexpr size_t kBudget = 1 << 20;
  for (int64_t from : {0, 300, 900}) {
    fs.bytes_read = 0;
    auto r = log->read(Offset(from), kBudget);
    ASSERT_TRUE(r.ok());
    ASSERT_FALSE(r->data.empty());
    EXPECT_EQ(r->next_offset, Offset(from + 900));
    EXPECT_LE(fs.bytes_read, kBudget + (64u << 10)) << "reading from offset " << from;
  }
}

}  // namespace
}  // namespace ferry::storage
