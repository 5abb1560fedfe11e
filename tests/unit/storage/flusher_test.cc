// Unit tests of the Flusher: one job on the thread pool covers every log that asked, and its
// counters report fdatasync calls and the durability waits each released.
#include "storage/flusher.h"

#include <gtest/gtest.h>

#include <optional>

#include "storage/log_manager.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

const std::string kId = "AAAAAAAAAAAAAAAAAAAAAA";

// acks=all appends to many partitions at once: the first asks for a job at once, the others join
// the next one, so two jobs (not one per partition and round) cover all of them, every wait is
// released in offset order and each fdatasync counts.
TEST(Flusher, OneJobCoversEveryPartitionThatAsked) {
  test::TempDir dir;
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    LogOptions opts;
    opts.loop = &loop;
    LogManager m(dir.file("logs"), opts);
    ASSERT_TRUE(m.open_all([](const TopicPartition&) { return LogConfig{}; }).ok());
    const int partitions = 8, rounds = 5;
    std::vector<std::shared_ptr<Log>> logs;
    for (int p = 0; p < partitions; ++p) {
      auto log = m.get_or_create({"t", PartitionId(p)}, LogConfig{}, kId);
      ASSERT_TRUE(log.ok());
      logs.push_back(*log);
    }
    ASSERT_NE(m.flusher(), nullptr);
    const FlushStats before = m.flusher()->stats();  // creating partitions flushes nothing here
    std::vector<std::vector<int64_t>> acked(partitions);
    for (int r = 0; r < rounds; ++r) {
      for (int p = 0; p < partitions; ++p) {
        AppendOptions o;
        o.flush_now = true;
        o.on_durable = [&acked, p, r, &logs](Status st) {
          EXPECT_TRUE(st.ok());
          EXPECT_GE(logs[static_cast<size_t>(p)]->durable_offset(), Offset(2 * (r + 1)));
          acked[static_cast<size_t>(p)].push_back(r);
        };
        ASSERT_TRUE(logs[static_cast<size_t>(p)]->append(test::make_batch(2), std::move(o)).ok());
      }
    }
    EXPECT_FALSE(m.flusher()->job_running());  // starts once this loop iteration is done
    EXPECT_EQ(m.flusher()->waiting(), static_cast<size_t>(partitions));
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int p = 0; p < partitions; ++p) {
      ASSERT_EQ(acked[static_cast<size_t>(p)].size(), static_cast<size_t>(rounds));
      for (int r = 0; r < rounds; ++r) EXPECT_EQ(acked[static_cast<size_t>(p)][r], r);
    }
    const FlushStats s = m.flusher()->stats();
    EXPECT_EQ(s.jobs - before.jobs, 1u) << "one job for every partition that asked";
    EXPECT_EQ(s.log_flushes - before.log_flushes, static_cast<uint64_t>(partitions));
    EXPECT_EQ(s.datasyncs - before.datasyncs, static_cast<uint64_t>(partitions));
    EXPECT_EQ(s.durable_waits - before.durable_waits, static_cast<uint64_t>(partitions * rounds));
    bool closed = false;
    m.close_all([&](Status st) {
      EXPECT_TRUE(st.ok());
      closed = true;
    });
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_TRUE(closed);
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // lets the timers' handles close
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

// A log with nothing to sync answers a flush at once, without waiting for another log's job.
TEST(Flusher, ADurableLogDoesNotWaitForOtherLogsJobs) {
  test::TempDir dir;
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    LogOptions opts;
    opts.loop = &loop;
    opts.flusher = std::make_shared<Flusher>(&loop);
    auto a = Log::open(dir.file("a"), LogConfig{}, opts);
    auto b = Log::open(dir.file("b"), LogConfig{}, opts);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE((*a)->append(test::make_batch(1)).ok());
    std::optional<Status> got_a, got_b;
    (*a)->flush([&](Status st) { got_a = st; });  // a waits for the next job
    EXPECT_EQ(opts.flusher->waiting(), 1u);
    (*b)->flush([&](Status st) { got_b = st; });  // b holds nothing unsynced
    ASSERT_TRUE(got_b.has_value());
    EXPECT_TRUE(got_b->ok());
    EXPECT_FALSE(got_a.has_value());
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_TRUE(got_a.has_value());
    EXPECT_TRUE(got_a->ok());
    EXPECT_EQ(opts.flusher->stats().jobs, 1u);
    EXPECT_EQ(opts.flusher->stats().durable_waits, 2u);  // b's without a job
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace ferry::storage
