// A full disk (ENOSPC injected through platform's write-space seam): the partial batch is cut,
// appends pause with no_space instead of failing for good, and resume without a reopen once
// space returns; reads, retention and close go on meanwhile. Other write errors stay sticky.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "platform/file.h"
#include "storage/log.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

using test::make_batch;

// Restores unlimited space however the test ends.
struct SpaceLimit {
  explicit SpaceLimit(uint64_t bytes) { platform::set_write_space_for_testing(bytes); }
  ~SpaceLimit() { platform::set_write_space_for_testing(std::nullopt); }
  void set(std::optional<uint64_t> bytes) { platform::set_write_space_for_testing(bytes); }
};

struct DiskFull : ::testing::Test {
  test::TempDir dir;
  FakeClock clock;
  LogConfig cfg;
  std::shared_ptr<Log> log;

  void SetUp() override {
    LogOptions opts;
    opts.clock = &clock;
    log = Log::open(dir.path(), cfg, opts).value();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->append(make_batch(2, "before")).ok());
    log->flush();
  }
  uint64_t segment_file_size() {
    return platform::file_size(dir.file("00000000000000000000.log")).value();
  }
};

TEST_F(DiskFull, APartialWriteIsCutAndAppendsResumeWhenSpaceReturns) {
  const uint64_t size_before = segment_file_size();
  SpaceLimit space(100);  // less than one batch
  test::LogCapture capture;
  auto r = log->append(make_batch(5, "too-big", 1, 100));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::no_space);
  EXPECT_TRUE(log->full());
  EXPECT_FALSE(log->failure().has_value()) << "a full disk must not fail the log for good";
  EXPECT_EQ(segment_file_size(), size_before) << "the partial batch was not cut";
  EXPECT_EQ(log->log_end_offset(), Offset(6));
  EXPECT_TRUE(capture.saw("disk full, appends paused"));

  // Space returns, but until the probe interval passed appends do not touch the disk.
  space.set(std::nullopt);
  auto paused = log->append(make_batch(1));
  ASSERT_FALSE(paused.ok());
  EXPECT_EQ(paused.error().code(), Errc::no_space);
  EXPECT_EQ(segment_file_size(), size_before);

  clock.advance_ms(Log::kFullProbeIntervalMs);
  auto resumed = log->append(make_batch(2, "after"));
  ASSERT_TRUE(resumed.ok()) << resumed.error().to_string();
  EXPECT_EQ(resumed->base_offset, Offset(6));
  EXPECT_FALSE(log->full());
  EXPECT_TRUE(capture.saw("appends resumed"));

  bool closed = false;
  log->close([&](Status st) {
    EXPECT_TRUE(st.ok()) << st.error().to_string();
    closed = true;
  });
  EXPECT_TRUE(closed);
  log.reset();
  auto reopened = Log::open(dir.path(), cfg).value();
  EXPECT_EQ(reopened->log_end_offset(), Offset(8));
  auto all = reopened->read(Offset(0), 1 << 20);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->batch_count, 4u);
}

TEST_F(DiskFull, AProbeThatStillFindsNoSpaceKeepsTheLogPaused) {
  SpaceLimit space(10);
  ASSERT_FALSE(log->append(make_batch(3)).ok());
  clock.advance_ms(Log::kFullProbeIntervalMs);
  auto again = log->append(make_batch(3));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Errc::no_space);
  EXPECT_TRUE(log->full());
  EXPECT_FALSE(log->failure().has_value());
  // Reads, flushes and close work while full.
  auto read = log->read(Offset(0), 1 << 20);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->batch_count, 3u);
  bool flushed = false;
  log->flush([&](Status st) { flushed = st.ok(); });
  EXPECT_TRUE(flushed);
}

TEST_F(DiskFull, RetentionFreesSpaceWhileFull) {
  // Several segments of old records, then a full disk.
  test::TempDir other;
  cfg.segment_bytes = 1000;
  cfg.retention_ms = 1000;
  LogOptions opts;
  opts.clock = &clock;
  log = Log::open(other.path(), cfg, opts).value();
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(log->append(make_batch(3, "old", clock.now_ms() - 10'000, 50)).ok());
  log->flush();
  const size_t segments = log->segment_count();
  ASSERT_GE(segments, 3u);
  SpaceLimit space(0);
  ASSERT_FALSE(log->append(make_batch(1)).ok());
  ASSERT_TRUE(log->full());
  auto r = log->apply_retention();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GE(r->segments_deleted, segments - 1);
}

}  // namespace
}  // namespace ferry::storage
