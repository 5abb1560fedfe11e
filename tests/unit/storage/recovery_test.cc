// Recovery of damaged partition logs: flipped bytes, truncation mid-header and mid-batch, zero
// tails, missing or corrupt indexes, damage in the segment before last, empty segments; sealed
// segments damaged behind the log's back (reported when read); the background sync of a
// recovered tail with a loop.
#include <gtest/gtest.h>
#include <uv.h>

#include "common/log.h"
#include "platform/file.h"
#include "storage/index.h"
#include "storage/log.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

using platform::File;

struct Recovery : ::testing::Test {
  test::TempDir dir;
  LogConfig cfg;
  std::vector<std::vector<std::byte>> stored;  // batches as stored (base offsets set)
  std::vector<uint64_t> positions;             // start of each batch in the first segment

  Recovery() {
    cfg.index_interval_bytes = 512;
    cfg.segment_bytes = 1 << 20;
  }

  std::string seg(int64_t base, const char* ext = ".log") const {
    char name[32];
    std::snprintf(name, sizeof name, "%020lld%s", static_cast<long long>(base), ext);
    return dir.file(name);
  }

  // Writes `n` batches of 3 records (about 400 bytes each) and closes the log.
  void write(int n) {
    auto log = Log::open(dir.path(), cfg).value();
    uint64_t pos = log->size_bytes();
    for (int i = 0; i < n; ++i) {
      auto b = test::make_batch(3, "r" + std::to_string(i), 1000 * i, 120);
      auto info = log->append(b);
      ASSERT_TRUE(info.ok());
      protocol::set_base_offset(b, info->base_offset);
      positions.push_back(pos);
      pos += b.size();
      stored.push_back(std::move(b));
    }
    log->flush();
  }

  // Reopens and checks the log holds exactly the first `keep` stored batches.
  void expect_first(size_t keep) {
    auto log = Log::open(dir.path(), cfg);
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    EXPECT_EQ((*log)->log_end_offset(), Offset(static_cast<int64_t>(3 * keep)));
    std::vector<std::byte> expect;
    for (size_t i = 0; i < keep; ++i)
      expect.insert(expect.end(), stored[i].begin(), stored[i].end());
    auto r = (*log)->read(Offset(0), 16 << 20);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->data == expect) << "surviving batches differ";
    // Random access through the (possibly rebuilt) index still lands on the right batch.
    for (size_t i = 0; i < keep; i += 3) {
      auto one = (*log)->read(Offset(static_cast<int64_t>(3 * i + 1)), 1);
      ASSERT_TRUE(one.ok());
      ASSERT_EQ(one->data.size(), stored[i].size());
      EXPECT_TRUE(std::equal(one->data.begin(), one->data.end(), stored[i].begin()));
    }
    // And appends continue right after the survivors.
    auto info = (*log)->append(test::make_batch(1));
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->base_offset, Offset(static_cast<int64_t>(3 * keep)));
  }

  File open_rw(const std::string& path) { return File::open(path, File::Mode::read_write).value(); }
};

TEST_F(Recovery, FlippedByteInTheLastBatchCutsOnlyThatBatch) {
  write(20);
  File f = open_rw(seg(0));
  std::byte b[1];
  uint64_t at = positions[19] + 70;
  ASSERT_TRUE(f.pread_exact(b, at).ok());
  b[0] ^= std::byte{0x40};
  ASSERT_TRUE(f.pwrite_all(b, at).ok());
  test::LogCapture capture;
  expect_first(19);
  EXPECT_TRUE(capture.saw("truncating")) << "the cut must be logged";
  EXPECT_TRUE(capture.saw("CRC")) << "with its reason";
  EXPECT_EQ(platform::file_size(seg(0)).value(), positions[19] + 0);
}

TEST_F(Recovery, TruncatedMidHeader) {
  write(20);
  ASSERT_TRUE(open_rw(seg(0)).truncate(positions[19] + 7).ok());
  test::LogCapture capture;
  expect_first(19);
  EXPECT_TRUE(capture.saw("torn write"));
}

TEST_F(Recovery, TruncatedMidBatch) {
  write(20);
  ASSERT_TRUE(open_rw(seg(0)).truncate(positions[19] + 100).ok());
  expect_first(19);
}

TEST_F(Recovery, ZeroFilledTailIsCut) {
  write(20);
  File f = open_rw(seg(0));
  std::vector<std::byte> zeros(5000);
  ASSERT_TRUE(f.pwrite_all(zeros, f.size().value()).ok());
  test::LogCapture capture;
  expect_first(20);
  EXPECT_TRUE(capture.saw("5000 bytes cut"));
}

TEST_F(Recovery, MissingIndexIsRebuilt) {
  write(30);
  uint64_t before = platform::file_size(seg(0, ".index")).value();
  ASSERT_GT(before, 0u);
  ASSERT_TRUE(platform::remove_file_durable(seg(0, ".index")).ok());
  expect_first(30);
  EXPECT_TRUE(platform::exists(seg(0, ".index")));
  EXPECT_EQ(platform::file_size(seg(0, ".index")).value(), before);
  EXPECT_EQ(platform::file_size(seg(0, ".timeindex")).value() / kTimeEntrySize,
            before / kOffsetEntrySize);
}

TEST_F(Recovery, GarbageIndexIsRebuilt) {
  write(30);
  uint64_t before = platform::file_size(seg(0, ".index")).value();
  std::vector<std::byte> junk(static_cast<size_t>(before), std::byte{0xEE});
  ASSERT_TRUE(open_rw(seg(0, ".index")).pwrite_all(junk, 0).ok());
  test::LogCapture capture;
  expect_first(30);
  EXPECT_TRUE(capture.saw("rebuilding index"));
  EXPECT_EQ(platform::file_size(seg(0, ".index")).value(), before);
}

TEST_F(Recovery, IndexEntryPointingPastTheEndIsRebuilt) {
  write(30);
  File idx = open_rw(seg(0, ".index"));
  uint64_t n = idx.size().value() / kOffsetEntrySize;
  std::byte entry[kOffsetEntrySize];
  store_be32(entry, 1000);
  store_be32(entry + 4, 1u << 30);
  ASSERT_TRUE(idx.pwrite_all(entry, (n - 1) * kOffsetEntrySize).ok());
  expect_first(30);
}

TEST_F(Recovery, MissingTimeIndexStillFindsTimestamps) {
  write(30);
  ASSERT_TRUE(platform::remove_file_durable(seg(0, ".timeindex")).ok());
  auto log = Log::open(dir.path(), cfg).value();
  auto off = log->offset_for_timestamp(17000);  // batch 17 holds timestamps 17000..17002
  ASSERT_TRUE(off.ok());
  ASSERT_TRUE(off->has_value());
  EXPECT_EQ((*off)->value(), 51);
  EXPECT_EQ(log->offset_for_timestamp(17001)->value().value(), 52);
}

TEST_F(Recovery, DamageInTheSegmentBeforeLastDropsWhatFollows) {
  cfg.segment_bytes = 4000;  // about 9 batches per segment
  write(30);
  auto log = Log::open(dir.path(), cfg).value();
  ASSERT_GE(log->segment_count(), 3u);
  // The segment before last: find its base and cut its last batch short.
  std::vector<int64_t> bases;
  auto names = platform::list_dir(dir.path()).value();
  for (const auto& n : names) {
    if (n.ends_with(".log")) bases.push_back(std::stoll(n.substr(0, 20)));
  }
  ASSERT_GE(bases.size(), 3u);
  Offset before_last(bases[bases.size() - 2]);
  log.reset();
  std::string path = seg(before_last.value());
  uint64_t size = platform::file_size(path).value();
  ASSERT_TRUE(open_rw(path).truncate(size - 10).ok());
  test::LogCapture capture;
  auto reopened = Log::open(dir.path(), cfg);
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE(capture.saw("removing segment that follows a truncated one"));
  EXPECT_FALSE(platform::exists(seg(bases.back())));
  // Everything before the damaged batch is intact and readable.
  int64_t end = (*reopened)->log_end_offset().value();
  EXPECT_LT(end, bases.back());
  EXPECT_GE(end, before_last.value());
  auto r = (*reopened)->read(Offset(0), 64 << 20);
  ASSERT_TRUE(r.ok());
  std::vector<std::byte> expect;
  for (size_t i = 0; i < static_cast<size_t>(end / 3); ++i) {
    expect.insert(expect.end(), stored[i].begin(), stored[i].end());
  }
  EXPECT_TRUE(r->data == expect);
}

TEST_F(Recovery, EmptyLastSegmentIsFine) {
  write(10);
  { File::open(seg(30), File::Mode::create_new).value(); }  // a roll that crashed right away
  auto log = Log::open(dir.path(), cfg);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->segment_count(), 2u);
  EXPECT_EQ((*log)->log_end_offset(), Offset(30));
  auto info = (*log)->append(test::make_batch(2));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->base_offset, Offset(30));
  auto r = (*log)->read(Offset(0), 64 << 20);
  EXPECT_EQ(r->batch_count, 11u);
}

TEST_F(Recovery, StrayFilesAreCleanedUp) {
  write(5);
  { File::open(dir.file("00000000000000000000.log.tmp"), File::Mode::create).value(); }
  { File::open(seg(999, ".index"), File::Mode::create).value(); }  // index without a log
  auto log = Log::open(dir.path(), cfg);
  ASSERT_TRUE(log.ok());
  EXPECT_FALSE(platform::exists(dir.file("00000000000000000000.log.tmp")));
  EXPECT_FALSE(platform::exists(seg(999, ".index")));
  EXPECT_EQ((*log)->log_end_offset(), Offset(15));
}

// Sealed segments below the recovery point are not read at start-up; damage to one must be
// reported when it is first read, not served as an empty answer.
TEST_F(Recovery, ShortSealedSegmentIsReportedWhenRead) {
  cfg.segment_bytes = 4000;  // about 9 batches per segment
  write(30);
  std::string first = seg(0);
  uint64_t size = platform::file_size(first).value();
  ASSERT_TRUE(open_rw(first).truncate(size / 2).ok());
  auto log = Log::open(dir.path(), cfg);
  ASSERT_TRUE(log.ok()) << log.error().to_string();  // start-up does not look at it
  EXPECT_EQ((*log)->log_end_offset(), Offset(90));
  // Offsets in the surviving half are served; the ones cut off are an error, not "no data".
  auto head = (*log)->read(Offset(0), 1);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->batch_count, 1u);
  auto names = platform::list_dir(dir.path()).value();
  std::vector<int64_t> bases;
  for (const auto& n : names) {
    if (n.ends_with(".log")) bases.push_back(std::stoll(n.substr(0, 20)));
  }
  ASSERT_GE(bases.size(), 2u);
  auto cut = (*log)->read(Offset(bases[1] - 1), 1 << 20);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code(), Errc::corrupt) << cut.error().to_string();
  // A read spanning from the intact part stops with what it has, then fails on the next call.
  auto from_start = (*log)->read(Offset(0), 64 << 20);
  ASSERT_TRUE(from_start.ok());
  EXPECT_LT(from_start->next_offset, Offset(bases[1]));
  EXPECT_FALSE((*log)->read(from_start->next_offset, 64 << 20).ok());
}

TEST_F(Recovery, VanishedSealedSegmentIsReportedWhenRead) {
  cfg.segment_bytes = 4000;
  write(30);
  auto log = Log::open(dir.path(), cfg).value();
  ASSERT_GE(log->segment_count(), 3u);
  ASSERT_TRUE(platform::remove_file_durable(seg(0)).ok());
  auto r = log->read(Offset(0), 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::not_found) << r.error().to_string();
  // The rest of the log is still served.
  EXPECT_TRUE(log->read(Offset(60), 1 << 20).ok());
}

// With a loop, start-up does not wait for the fdatasync of the recovered tail: the log opens
// with its data not yet known durable, a flush on the thread pool syncs it, and only then do
// durable_offset() and recovery.point move. A torn tail is still cut (and logged) at open.
TEST_F(Recovery, WithALoopTheRecoveredTailIsSyncedInTheBackground) {
  cfg.segment_bytes = 4000;
  write(30);
  std::vector<int64_t> bases;
  auto names = platform::list_dir(dir.path()).value();
  for (const auto& n : names) {
    if (n.ends_with(".log")) bases.push_back(std::stoll(n.substr(0, 20)));
  }
  ASSERT_GE(bases.size(), 3u);
  // A kill -9 after a roll, before the flush that records it; and a torn last batch.
  ASSERT_TRUE(platform::write_file_atomic(dir.file("recovery.point"),
                                          platform::as_bytes(std::to_string(bases[1]) + "\n"))
                  .ok());
  std::string last = seg(bases.back());
  ASSERT_TRUE(open_rw(last).truncate(platform::file_size(last).value() - 5).ok());
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    test::LogCapture capture;
    LogOptions opts;
    opts.loop = &loop;
    auto log = Log::open(dir.path(), cfg, opts);
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    EXPECT_TRUE(capture.saw("truncating torn or corrupt tail"));
    EXPECT_EQ((*log)->log_end_offset(), Offset(87));
    // Not synced yet: the segments from the recovery point on are not known durable.
    EXPECT_EQ((*log)->durable_offset(), Offset(bases[1]));
    for (int i = 0; i < 1000 && (*log)->durable_offset() < (*log)->log_end_offset(); ++i) {
      uv_run(&loop, UV_RUN_ONCE);
    }
    EXPECT_EQ((*log)->durable_offset(), Offset(87));
    auto point = File::open(dir.file("recovery.point"), File::Mode::read_only).value();
    std::vector<std::byte> text(static_cast<size_t>(point.size().value()));
    ASSERT_TRUE(point.pread_exact(text, 0).ok());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(text.data()), text.size()),
              std::to_string(bases.back()) + "\n");
    bool closed = false;
    (*log)->close([&](Status st) {
      EXPECT_TRUE(st.ok());
      closed = true;
    });
    for (int i = 0; i < 1000 && !closed; ++i) uv_run(&loop, UV_RUN_ONCE);
    EXPECT_TRUE(closed);
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace ferry::storage
