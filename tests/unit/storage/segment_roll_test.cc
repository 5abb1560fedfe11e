// Rolls under acks=all load and the recovery point: segments stay within one batch of
// segment.bytes while flushes are still in flight, and recovery scans every segment from the
// recovery point, so a lost unsynced tail in any of them is found.
#include <gtest/gtest.h>
#include <uv.h>

#include "platform/file.h"
#include "storage/log.h"
#include "storage/segment_name.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

using test::make_batch;
using test::TempDir;

std::vector<Offset> segment_bases(const std::string& dir) {
  std::vector<Offset> out;
  auto names = platform::list_dir(dir);
  EXPECT_TRUE(names.ok());
  if (!names) return out;
  for (const auto& n : *names) {
    auto parsed = parse_segment_file_name(n);
    if (parsed && parsed->kind == SegmentFile::log) out.push_back(parsed->base);
  }
  return out;
}

std::string read_text(const std::string& path) {
  auto f = platform::File::open(path, platform::File::Mode::read_only).value();
  std::string s(static_cast<size_t>(f.size().value()), '\0');
  EXPECT_TRUE(f.pread_exact({reinterpret_cast<std::byte*>(s.data()), s.size()}, 0).ok());
  return s;
}

TEST(SegmentRoll, SegmentsStayWithinOneBatchOfSegmentBytesWhileFlushesAreInFlight) {
  TempDir dir;
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  LogConfig cfg;
  cfg.segment_bytes = 1 << 20;
  const auto batch = make_batch(16, "acks-all", 1'700'000'000'000, 1000);  // ~16 KiB
  const int n = 400;                                                       // ~6.5 MiB
  {
    LogOptions opts;
    opts.loop = &loop;
    auto log = Log::open(dir.path(), cfg, opts).value();
    int acked = 0;
    for (int i = 0; i < n; ++i) {
      AppendOptions o;
      o.flush_now = true;  // acks=all: a flush is in flight nearly all the time
      o.on_durable = [&acked](Status st) {
        EXPECT_TRUE(st.ok());
        ++acked;
      };
      ASSERT_TRUE(log->append(batch, std::move(o)).ok());
      if (i % 50 == 49) uv_run(&loop, UV_RUN_NOWAIT);  // some flushes complete meanwhile
    }
    while (acked < n && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    ASSERT_EQ(acked, n);
    EXPECT_GE(log->segment_count(), 6u);
    for (Offset base : segment_bases(dir.path())) {
      auto size = platform::file_size(dir.file(segment_file_name(base, SegmentFile::log)));
      ASSERT_TRUE(size.ok());
      EXPECT_LE(*size, cfg.segment_bytes + batch.size()) << "segment " << base.value();
    }
    // The last flush synced every sealed segment: the recovery point is the active segment.
    EXPECT_EQ(read_text(dir.file("recovery.point")),
              std::to_string(log->active_segment_base().value()) + "\n");
    bool closed = false;
    log->close([&](Status st) {
      EXPECT_TRUE(st.ok());
      closed = true;
    });
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_TRUE(closed);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
  auto log = Log::open(dir.path(), cfg).value();
  EXPECT_EQ(log->log_end_offset(), Offset(16 * n));
  auto r = log->read(Offset(16 * (n - 1)), 1 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->batch_count, 1u);
}

struct RecoveryPoint : ::testing::Test {
  TempDir dir;
  LogConfig cfg;
  std::vector<Offset> bases;

  // Several segments, all durable; the recovery point then says the first may not be (as
  // after a crash before the flush that synced them completed).
  void write_and_rewind_recovery_point(const std::string& content) {
    cfg.segment_bytes = 4000;
    {
      auto log = Log::open(dir.path(), cfg).value();
      for (int i = 0; i < 40; ++i) ASSERT_TRUE(log->append(make_batch(3, "r", 1, 120)).ok());
      log->flush();
    }
    bases = segment_bases(dir.path());
    ASSERT_GE(bases.size(), 5u);
    ASSERT_TRUE(
        platform::write_file_atomic(dir.file("recovery.point"), platform::as_bytes(content)).ok());
  }
  void cut_tail_of_segment(size_t i) {
    const std::string path = dir.file(segment_file_name(bases[i], SegmentFile::log));
    auto f = platform::File::open(path, platform::File::Mode::read_write).value();
    ASSERT_TRUE(f.truncate(f.size().value() - 10).ok());
  }
};

TEST_F(RecoveryPoint, ALostTailInAnySegmentFromTheRecoveryPointOnIsFound) {
  write_and_rewind_recovery_point("0\n");
  cut_tail_of_segment(1);  // third from last or older: not one of the last two
  test::LogCapture capture;
  auto log = Log::open(dir.path(), cfg);
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  EXPECT_TRUE(capture.saw("removing segment that follows a truncated one"));
  EXPECT_EQ((*log)->segment_count(), 2u);
  EXPECT_LT((*log)->log_end_offset(), bases[2]);
  EXPECT_GT((*log)->log_end_offset(), bases[1]);
  auto r = (*log)->read(Offset(0), 1 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->next_offset, (*log)->log_end_offset());  // no hole
  // Recovery made what it kept durable and moved the recovery point to the active segment.
  EXPECT_EQ(read_text(dir.file("recovery.point")),
            std::to_string((*log)->active_segment_base().value()) + "\n");
}

TEST_F(RecoveryPoint, AnUnreadableRecoveryPointScansEverySegment) {
  write_and_rewind_recovery_point("garbage");
  cut_tail_of_segment(0);
  auto log = Log::open(dir.path(), cfg);
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  EXPECT_EQ((*log)->segment_count(), 1u);
  EXPECT_LT((*log)->log_end_offset(), bases[1]);
}

TEST_F(RecoveryPoint, SegmentsBelowTheRecoveryPointAreNotRead) {
  write_and_rewind_recovery_point("");
  const Offset last = bases.back();
  ASSERT_TRUE(platform::write_file_atomic(dir.file("recovery.point"),
                                          platform::as_bytes(std::to_string(last.value()) + "\n"))
                  .ok());
  const std::string first = dir.file(segment_file_name(bases[0], SegmentFile::log));
  const uint64_t size = platform::file_size(first).value();
  cut_tail_of_segment(0);  // damage, not a crash: a durable segment is not re-read at open
  auto log = Log::open(dir.path(), cfg);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(platform::file_size(first).value(), size - 10);
  EXPECT_EQ((*log)->segment_count(), bases.size());
}

}  // namespace
}  // namespace ferry::storage
