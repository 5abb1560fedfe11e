// Unit tests of LogManager: partition directory naming, open_all, create/remove, shared fd pool,
// the background sync of recovered tails at start-up.
#include "storage/log_manager.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <filesystem>

#include "platform/file.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

const std::string kId = "AAAAAAAAAAAAAAAAAAAAAA";

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
      auto log = m.get_or_create({"t-a", PartitionId(p)}, LogConfig{}, kId);
      ASSERT_TRUE(log.ok());
      for (int i = 0; i <= p; ++i) ASSERT_TRUE((*log)->append(test::make_batch(2)).ok());
      (*log)->flush();
    }
    auto again = m.get_or_create({"t-a", PartitionId(1)}, LogConfig{}, kId);
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
  auto identity = read_partition_identity(logs + "/t-a-1");
  ASSERT_TRUE(identity.ok() && identity->has_value());
  EXPECT_EQ(**identity, (PartitionIdentity{kId, "t-a", PartitionId(1)}));
  ASSERT_TRUE(m.remove({"t-a", PartitionId(2)}, kId).ok());
  EXPECT_FALSE(m.get({"t-a", PartitionId(2)}));
  EXPECT_FALSE(platform::exists(logs + "/t-a-2"));
  EXPECT_FALSE(platform::exists(logs + "/t-a-2." + kId + "-delete"));
  bool done = false;
  m.close_all([&](Status st) {
    EXPECT_TRUE(st.ok());
    done = true;
  });
  EXPECT_TRUE(done);
}

TEST(PartitionIdentity, EncodesParsesAndRejectsDamage) {
  PartitionIdentity id{new_topic_id(), "edge.sensors-1", PartitionId(7)};
  EXPECT_TRUE(valid_topic_id(id.topic_id)) << id.topic_id;
  EXPECT_NE(new_topic_id(), id.topic_id);
  const std::string text = encode_partition_identity(id);
  EXPECT_EQ(text,
            "version: 1\ntopic_id: " + id.topic_id + "\ntopic: edge.sensors-1\npartition: 7\n");
  auto back = parse_partition_identity(text);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, id);
  EXPECT_TRUE(parse_partition_identity(text + "future_key: x\n").ok());
  EXPECT_FALSE(parse_partition_identity(text.substr(0, text.size() - 1)).ok());
  EXPECT_FALSE(parse_partition_identity("version: 2\n" + text.substr(11)).ok());
  EXPECT_FALSE(parse_partition_identity("version: 1\ntopic: t\npartition: 0\n").ok());
  EXPECT_FALSE(
      parse_partition_identity("version: 1\ntopic_id: short\ntopic: t\npartition: 0\n").ok());
}

TEST(PartitionIdentity, SetAsideNamesNeverLookLikePartitions) {
  const std::string del = set_aside_dir_name("t-a-3", kId, SetAside::deleted);
  const std::string stray = set_aside_dir_name("t-a-3", kId, SetAside::stray);
  EXPECT_EQ(del, "t-a-3." + kId + "-delete");
  EXPECT_EQ(parse_set_aside_dir_name(del), SetAside::deleted);
  EXPECT_EQ(parse_set_aside_dir_name(stray), SetAside::stray);
  EXPECT_FALSE(parse_partition_dir_name(del).has_value());
  EXPECT_FALSE(parse_partition_dir_name(stray).has_value());
  // A topic may be named like a tombstone; its partition directories still end in digits.
  EXPECT_FALSE(parse_set_aside_dir_name(del + "-0").has_value());
  EXPECT_FALSE(parse_set_aside_dir_name("topic-delete").has_value());
}

TEST(LogManager, OpenAllRemovesTombstonesAndKeepsEverythingElse) {
  test::TempDir dir;
  std::string logs = dir.file("logs");
  {
    LogManager m(logs, LogOptions{});
    ASSERT_TRUE(m.open_all([](const TopicPartition&) { return LogConfig{}; }).ok());
    for (int p = 0; p < 3; ++p) {
      auto log = m.get_or_create({"t", PartitionId(p)}, LogConfig{}, kId);
      ASSERT_TRUE(log.ok());
      ASSERT_TRUE((*log)->append(test::make_batch(2)).ok());
      (*log)->flush();
    }
  }
  // A crash after the rename, before the removal; and a quarantined directory.
  ASSERT_TRUE(platform::rename_durable(logs + "/t-1", logs + "/t-1." + kId + "-delete").ok());
  ASSERT_TRUE(platform::rename_durable(logs + "/t-2", logs + "/t-2." + kId + "-stray").ok());
  LogManager m(logs, LogOptions{});
  ASSERT_TRUE(m.open_all([](const TopicPartition&) { return LogConfig{}; }).ok());
  EXPECT_EQ(m.logs().size(), 1u);
  EXPECT_FALSE(platform::exists(logs + "/t-1." + kId + "-delete"));
  EXPECT_TRUE(platform::exists(logs + "/t-2." + kId + "-stray/00000000000000000000.log"));
  ASSERT_TRUE(m.quarantine({"t", PartitionId(0)}, kId).ok());
  EXPECT_TRUE(m.logs().empty());
  EXPECT_TRUE(platform::exists(logs + "/t-0." + kId + "-stray/00000000000000000000.log"));
}

TEST(LogManager, ManyPartitionsShareABoundedNumberOfDescriptors) {
  test::TempDir dir;
  LogManager m(dir.file("logs"), LogOptions{}, /*max_open_files=*/32);
  ASSERT_TRUE(m.open_all([](const TopicPartition&) { return LogConfig{}; }).ok());
  const int partitions = 300;
  auto batch = test::make_batch(1);
  for (int round = 0; round < 2; ++round) {
    for (int p = 0; p < partitions; ++p) {
      auto log = m.get_or_create({"many", PartitionId(p)}, LogConfig{}, kId);
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

size_t open_descriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Start-up with a loop: open_all does not fdatasync each recovered tail itself; a few jobs on the
// thread pool do, one file at a time, so the descriptors stay within the pool's bound while
// hundreds of logs wait for their sync, and every log becomes durable once they are done.
TEST(LogManager, OpenAllSyncsRecoveredTailsInTheBackgroundWithBoundedDescriptors) {
  test::TempDir dir;
  const std::string logs = dir.file("logs");
  const int partitions = 300;
  {
    LogManager m(logs, LogOptions{});
    ASSERT_TRUE(m.open_all([](const TopicPartition&) { return LogConfig{}; }).ok());
    for (int p = 0; p < partitions; ++p) {
      auto log = m.get_or_create({"many", PartitionId(p)}, LogConfig{}, kId);
      ASSERT_TRUE(log.ok());
      ASSERT_TRUE((*log)->append(test::make_batch(2)).ok());
      (*log)->flush();
    }
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    LogOptions opts;
    opts.loop = &loop;
    LogManager m(logs, opts, /*max_open_files=*/32);
    const size_t before = open_descriptors();
    ASSERT_TRUE(m.open_all([](const TopicPartition&) { return LogConfig{}; }).ok());
    ASSERT_EQ(m.logs().size(), static_cast<size_t>(partitions));
    auto durable = [&] {
      size_t n = 0;
      for (const auto& [tp, log] : m.logs()) n += log->durable_offset() == Offset(2) ? 1 : 0;
      return n;
    };
    EXPECT_LT(durable(), static_cast<size_t>(partitions));  // not synced inline
    EXPECT_LE(open_descriptors(), before + 32 + LogManager::kTailSyncJobs);
    for (int i = 0; i < 10000 && durable() < static_cast<size_t>(partitions); ++i) {
      uv_run(&loop, UV_RUN_ONCE);
      EXPECT_LE(open_descriptors(), before + 32 + LogManager::kTailSyncJobs);
    }
    EXPECT_EQ(durable(), static_cast<size_t>(partitions));
    bool closed = false;
    m.close_all([&](Status st) {
      EXPECT_TRUE(st.ok());
      closed = true;
    });
    for (int i = 0; i < 10000 && !closed; ++i) uv_run(&loop, UV_RUN_ONCE);
    EXPECT_TRUE(closed);
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace ferry::storage
