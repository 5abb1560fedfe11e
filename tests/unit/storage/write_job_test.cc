// Log write jobs (log.h, "Write jobs"): batches written on the thread pool while the loop goes on,
// reads bounded by what is in the file, a failed job undone so the next one writes in place, and
// segment rolls (file creation, preallocation) inside the job, never on the loop thread.
#include <gtest/gtest.h>
#include <uv.h>

#include <cerrno>
#include <thread>

#include "common/clock.h"
#include "platform/file.h"
#include "storage/log.h"
#include "support/loop.h"
#include "support/stalling_fs.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

using test::make_batch;

struct WriteJobTest : ::testing::Test {
  test::TempDir dir;
  uv_loop_t loop{};
  test::StallingFileSystem fs;
  LogConfig cfg;
  std::shared_ptr<Log> log;

  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop), 0); }
  void TearDown() override {
    EXPECT_FALSE(fs.hold_expired())
        << "a held write was not let go by the test: it ran on the loop";
    fs.release();
    if (log) {
      bool closed = false;
      log->close([&](Status) { closed = true; });
      EXPECT_TRUE(test::run_until(&loop, [&] { return closed; }));
      log.reset();
    }
    for (int i = 0; i < 20; ++i) uv_run(&loop, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop), 0);
  }
  void open() {
    LogOptions opts;
    opts.loop = &loop;
    opts.fs = &fs;
    log = Log::open(dir.path(), cfg, opts).value();
  }
  std::string segment(int64_t base) {
    char name[32];
    std::snprintf(name, sizeof name, "%020lld.log", static_cast<long long>(base));
    return dir.file(name);
  }
  // Submits one job of `batches` and returns a flag set (with the status) when it is back.
  struct Outcome {
    bool done = false;
    Status status;
  };
  std::shared_ptr<Outcome> submit(const std::vector<std::vector<std::byte>>& batches) {
    auto out = std::make_shared<Outcome>();
    auto job = log->begin_write();
    EXPECT_TRUE(job.ok());
    if (!job) return out;
    for (const auto& b : batches) EXPECT_TRUE(log->add(**job, b).ok());
    log->submit(std::move(job).value(), [out](Status st) {
      out->status = std::move(st);
      out->done = true;
    });
    return out;
  }
  bool wait(const std::shared_ptr<Outcome>& o) {
    return test::run_until(&loop, [&] { return o->done; });
  }
};

TEST_F(WriteJobTest, ReadsSeeOnlyWrittenBatchesWhileAJobIsInFlight) {
  fs.watch(segment(0));
  open();
  const auto first = make_batch(3, "first");
  ASSERT_TRUE(wait(submit({first})));
  ASSERT_EQ(log->log_end_offset(), Offset(3));

  fs.stall();
  const auto b1 = make_batch(2, "second");
  const auto b2 = make_batch(4, "third");
  auto out = submit({b1, b2});
  ASSERT_TRUE(fs.wait_for_stalled_write());
  // The loop runs on while the write is held; the log shows nothing of the job.
  for (int i = 0; i < 5; ++i) uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_FALSE(out->done);
  EXPECT_TRUE(log->write_in_flight());
  EXPECT_EQ(log->log_end_offset(), Offset(3));
  auto at_end = log->read(Offset(3), 1 << 20);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->data.empty());
  EXPECT_FALSE(log->read(Offset(4), 1 << 20).ok()) << "an offset of the job in flight is readable";
  auto all = log->read(Offset(0), 1 << 20);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->batch_count, 1u);
  EXPECT_EQ(all->next_offset, Offset(3));
  // One job per log at a time; the synchronous append and a cut refuse too.
  EXPECT_FALSE(log->begin_write().ok());
  EXPECT_FALSE(log->append(make_batch(1)).ok());
  EXPECT_FALSE(log->truncate_to(Offset(1)).ok());

  fs.release();
  ASSERT_TRUE(wait(out));
  ASSERT_TRUE(out->status.ok()) << out->status.error().to_string();
  EXPECT_EQ(log->log_end_offset(), Offset(9));
  all = log->read(Offset(0), 1 << 20);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->batch_count, 3u);
  EXPECT_EQ(all->next_offset, Offset(9));
}

TEST_F(WriteJobTest, CloseWaitsForTheJobInFlight) {
  fs.watch(segment(0));
  open();
  fs.stall();
  auto out = submit({make_batch(2)});
  ASSERT_TRUE(fs.wait_for_stalled_write());
  bool closed = false;
  log->close([&](Status st) {
    EXPECT_TRUE(st.ok());
    EXPECT_TRUE(out->done) << "closed before the write job completed";
    closed = true;
  });
  for (int i = 0; i < 5; ++i) uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_FALSE(closed);
  fs.release();
  ASSERT_TRUE(test::run_until(&loop, [&] { return closed; }));
  EXPECT_TRUE(out->status.ok());
  EXPECT_EQ(log->durable_offset(), Offset(2));
  log.reset();
  auto reopened = Log::open(dir.path(), cfg).value();
  EXPECT_EQ(reopened->log_end_offset(), Offset(2));
}

TEST_F(WriteJobTest, AJobCutShortByAFullDiskIsUndoneAndTheNextWritesInPlace) {
  FakeClock clock;
  fs.watch(segment(0));
  LogOptions opts;
  opts.loop = &loop;
  opts.fs = &fs;
  opts.clock = &clock;
  log = Log::open(dir.path(), cfg, opts).value();
  ASSERT_TRUE(wait(submit({make_batch(2, "a")})));
  const uint64_t size_before = platform::file_size(segment(0)).value();

  fs.fail_next_write(ENOSPC, 30);  // part of the first batch reaches the file
  auto failed = submit({make_batch(3, "b"), make_batch(1, "c")});
  ASSERT_TRUE(wait(failed));
  ASSERT_FALSE(failed->status.ok());
  EXPECT_EQ(failed->status.error().code(), Errc::no_space);
  EXPECT_TRUE(log->full());
  EXPECT_FALSE(log->failure().has_value());
  EXPECT_EQ(log->log_end_offset(), Offset(2));
  EXPECT_EQ(platform::file_size(segment(0)).value(), size_before) << "the partial write stayed";

  clock.advance_ms(Log::kFullProbeIntervalMs);
  auto next = submit({make_batch(4, "d")});
  ASSERT_TRUE(wait(next));
  ASSERT_TRUE(next->status.ok()) << next->status.error().to_string();
  EXPECT_FALSE(log->full());
  EXPECT_EQ(log->log_end_offset(), Offset(6));

  bool closed = false;
  log->close([&](Status) { closed = true; });
  ASSERT_TRUE(test::run_until(&loop, [&] { return closed; }));
  log.reset();
  auto reopened = Log::open(dir.path(), cfg).value();
  auto all = reopened->read(Offset(0), 1 << 20);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->batch_count, 2u);  // "a" at 0, "d" at 2: no gap, nothing of the failed job
  EXPECT_EQ(all->next_offset, Offset(6));
}

TEST_F(WriteJobTest, AnIoErrorFailsTheJobAndTheLogButLeavesTheFileWhole) {
  fs.watch(segment(0));
  open();
  ASSERT_TRUE(wait(submit({make_batch(2, "a")})));
  const uint64_t size_before = platform::file_size(segment(0)).value();
  fs.fail_next_write(EIO, 50);
  auto failed = submit({make_batch(3, "b")});
  ASSERT_TRUE(wait(failed));
  ASSERT_FALSE(failed->status.ok());
  EXPECT_TRUE(log->failure().has_value()) << "a write error other than a full disk is sticky";
  EXPECT_EQ(log->log_end_offset(), Offset(2));
  EXPECT_EQ(platform::file_size(segment(0)).value(), size_before);
  EXPECT_FALSE(log->begin_write().ok());
  auto all = log->read(Offset(0), 1 << 20);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->batch_count, 1u);
}

TEST_F(WriteJobTest, SegmentsRollInsideTheJobNeverOnTheLoopThread) {
  cfg.segment_bytes = 1024;
  cfg.preallocate_bytes = 4096;
  open();
  fs.watch(".log");  // every segment file of the log
  const auto loop_thread = std::this_thread::get_id();
  int64_t expected_end = 0;
  for (int round = 0; round < 12; ++round) {
    std::vector<std::vector<std::byte>> batches;
    for (int i = 0; i < 5; ++i) {
      batches.push_back(make_batch(2, "r" + std::to_string(round), 1'700'000'000'000, 100));
      expected_end += 2;
    }
    auto out = submit(batches);
    ASSERT_TRUE(wait(out));
    ASSERT_TRUE(out->status.ok()) << out->status.error().to_string();
  }
  EXPECT_EQ(log->log_end_offset(), Offset(expected_end));
  EXPECT_GE(log->segment_count(), 20u);
  EXPECT_GT(fs.watched_writes(), 0);
  EXPECT_EQ(fs.writer_threads().count(loop_thread), 0u)
      << "the loop thread created, preallocated, wrote or cut a segment file";

  bool closed = false;
  log->close([&](Status) { closed = true; });
  ASSERT_TRUE(test::run_until(&loop, [&] { return closed; }));
  const size_t segments = log->segment_count();
  log.reset();
  auto reopened = Log::open(dir.path(), cfg).value();
  EXPECT_EQ(reopened->segment_count(), segments);
  EXPECT_EQ(reopened->log_end_offset(), Offset(expected_end));
  Offset at(0);
  size_t batches = 0;
  while (at < reopened->log_end_offset()) {
    auto r = reopened->read(at, 1 << 20);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_GT(r->next_offset, at);
    batches += r->batch_count;
    at = r->next_offset;
  }
  EXPECT_EQ(batches, 60u);
}

}  // namespace
}  // namespace ferry::storage
