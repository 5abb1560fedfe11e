// Log::drop_oldest_segment, the storage side of disk.full.policy=drop_oldest: the oldest segment
// goes whatever retention says, the log start moves to the next one, the active segment is
// rolled first when it is the only one, and nothing is dropped while it is not all on disk.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "platform/file.h"
#include "storage/log.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

using test::make_batch;

struct DropOldest : ::testing::Test {
  test::TempDir dir;
  FakeClock clock;
  std::shared_ptr<Log> log;

  void SetUp() override {
    LogConfig cfg;
    cfg.retention_ms = -1;  // retention alone would delete nothing
    cfg.retention_bytes = -1;
    LogOptions opts;
    opts.clock = &clock;
    log = Log::open(dir.path(), cfg, opts).value();
  }
};

TEST_F(DropOldest, DropsTheOldestSegmentWhateverRetentionSays) {
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(log->append(make_batch(5, "a")).ok());
  log->flush();
  ASSERT_TRUE(log->append(make_batch(5, "b")).ok());
  log->flush();
  {
    auto d = log->drop_oldest_segment();  // only the active: rolled, then dropped
    ASSERT_TRUE(d.ok()) << d.error().to_string();
    ASSERT_TRUE(d->has_value());
    EXPECT_EQ((*d)->first, Offset(0));
    EXPECT_EQ((*d)->next, Offset(15));
    EXPECT_GT((*d)->bytes, 0u);
  }
  EXPECT_EQ(log->log_start_offset(), Offset(15));
  EXPECT_EQ(log->log_end_offset(), Offset(15));
  EXPECT_EQ(log->size_bytes(), 0u);
  EXPECT_FALSE(platform::exists(dir.file("00000000000000000000.log")));

  // An empty log has nothing to drop; appends go on at the old end.
  auto none = log->drop_oldest_segment();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto info = log->append(make_batch(3, "c"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->base_offset, Offset(15));
}

TEST_F(DropOldest, TakesOneSegmentAtATimeOldestFirst) {
  ASSERT_TRUE(log->append(make_batch(4, "a")).ok());
  log->flush();
  auto first = log->drop_oldest_segment();  // rolls [0,4) out and drops it
  ASSERT_TRUE(first.ok() && first->has_value());
  ASSERT_TRUE(log->append(make_batch(4, "b")).ok());
  log->flush();
  clock.advance_ms(8ll * 24 * 3600 * 1000);  // past segment.ms: the next append rolls
  ASSERT_TRUE(log->maybe_roll().ok());
  ASSERT_TRUE(log->append(make_batch(4, "c")).ok());
  log->flush();
  // Segments [4, 8) and [8, 12): the older goes, the newer stays.
  auto d = log->drop_oldest_segment();
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->first, Offset(4));
  EXPECT_EQ((*d)->next, Offset(8));
  EXPECT_EQ(log->log_start_offset(), Offset(8));
  auto read = log->read(Offset(8), 1 << 20);
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->data.empty());
}

TEST_F(DropOldest, NothingIsDroppedBeforeItIsOnDisk) {
  LogOptions opts;
  opts.clock = &clock;
  // A log with a loop flushes later; without a flush the tail is not durable.
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  opts.loop = &loop;
  test::TempDir other;
  {
    auto l = Log::open(other.path(), LogConfig{}, opts).value();
    ASSERT_TRUE(l->append(make_batch(2, "x")).ok());
    auto d = l->drop_oldest_segment();
    ASSERT_TRUE(d.ok());
    EXPECT_FALSE(d->has_value()) << "an unsynced segment was dropped";
    EXPECT_EQ(l->log_start_offset(), Offset(0));
    bool closed = false;
    l->close([&](Status) { closed = true; });
    while (!closed && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace ferry::storage
