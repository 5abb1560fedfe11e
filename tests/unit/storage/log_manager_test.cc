// Unit tests of LogManager: partition directory naming, open_all, create/remove, shared fd pool.
#include "storage/log_manager.h"

#include <gtest/gtest.h>

#include "platform/file.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

TEST(PartitionDirName, RoundTripsTopicsWithDashes) {
  TopicPartition tp{"edge-sensors-temp", PartitionId(12)};
  EXPECT_EQ(partition_dir_name(tp), "edge-sensors-temp-12");
  auto parsed = parse_partition_dir_name("edge-sensors-temp-12");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, tp);
  for (const char* bad : {"nodash", "-3", "topic-", "topic-x", "topic-1x", "topic-+1"}) {
    EXPECT_FALSE(parse_partition_dir_name(bad).has_value()) << bad;
  }
}

TEST(LogManager, CreatesReopensAndRemovesPartitions) {
  test::TempDir dir;
  std::string logs = dir.file("logs");
  {
    LogManager m(logs, LogOptions{});
    ASSERT_TRUE(m.open_all([](const TopicPartition&) { return LogConfig{}; }).ok());
    EXPECT_TRUE(m.logs().empty());
    for (int p = 0; p < 3; ++p) {
      auto log = m.get_or_create({"t-a", PartitionId(p)}, LogConfig{});
      ASSERT_TRUE(log.ok());
      for (int i = 0; i <= p; ++i) ASSERT_TRUE((*log)->append(test::make_batch(2)).ok());
      (*log)->flush();
    }
    auto again = m.get_or_create({"t-a", PartitionId(1)}, LogConfig{});
    EXPECT_EQ(again->get(), m.get({"t-a", PartitionId(1)}).get());
  }
  LogManager m(logs, LogOptions{});
  ASSERT_TRUE(platform::create_dirs(logs + "/not a partition").ok());
  ASSERT_TRUE(m.open_all([](const TopicPartition&) { return LogConfig{}; }).ok());
  ASSERT_EQ(m.logs().size(), 3u);
  for (int p = 0; p < 3; ++p) {
    auto log = m.get({"t-a", PartitionId(p)});
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_end_offset(), Offset(2 * (p + 1)));
  }
  ASSERT_TRUE(m.remove({"t-a", PartitionId(2)}).ok());
  EXPECT_FALSE(m.get({"t-a", PartitionId(2)}));
  EXPECT_FALSE(platform::exists(logs + "/t-a-2"));
  bool done = false;
  m.close_all([&](Status st) {
    EXPECT_TRUE(st.ok());
    done = true;
  });
  EXPECT_TRUE(done);
}

TEST(LogManager, ManyPartitionsShareABoundedNumberOfDescriptors) {
  test::TempDir dir;
  LogManager m(dir.file("logs"), LogOptions{}, /*max_open_files=*/32);
  ASSERT_TRUE(m.open_all([](const TopicPartition&) { return LogConfig{}; }).ok());
  const int partitions = 300;
  auto batch = test::make_batch(1);
  for (int round = 0; round < 2; ++round) {
    for (int p = 0; p < partitions; ++p) {
      auto log = m.get_or_create({"many", PartitionId(p)}, LogConfig{});
      ASSERT_TRUE(log.ok()) << log.error().to_string();
      ASSERT_TRUE((*log)->append(batch).ok());
      (*log)->flush();
      auto r = (*log)->read(Offset(0), 1 << 16);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->batch_count, static_cast<size_t>(round + 1));
      EXPECT_LE(m.pool().open_count(), 32u);
    }
  }
}

}  // namespace
}  // namespace ferry::storage
