// Flash accounting (common/flash_accounting.h) as the storage writes feed it: appends count
// their batch bytes as log_append, flushes the index entries they persist as index, small state
// files (partition identity, recovery point) as checkpoint, and an index rebuilt at open as
// recovery. The counters are process-wide, so each check compares a before/after delta.
#include "common/flash_accounting.h"

#include <gtest/gtest.h>

#include <array>

#include "platform/file.h"
#include "storage/log.h"
#include "storage/partition_identity.h"
#include "storage/segment_name.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

using flash::WriteKind;
using test::make_batch;
using test::TempDir;

struct Delta {
  std::array<uint64_t, flash::kWriteKinds> before = flash::written_by_kind();
  uint64_t of(WriteKind k) const { return flash::written(k) - before[static_cast<size_t>(k)]; }
};

TEST(FlashAccounting, KindNamesAreTheMetricLabels) {
  EXPECT_EQ(flash::kind_name(WriteKind::log_append), "log_append");
  EXPECT_EQ(flash::kind_name(WriteKind::meta_wal), "meta_wal");
  EXPECT_EQ(flash::kind_name(WriteKind::compaction), "compaction");
  const Delta d;
  flash::count_written(WriteKind::compaction, 4096);  // what the log cleaner reports
  EXPECT_EQ(d.of(WriteKind::compaction), 4096u);
  EXPECT_EQ(d.of(WriteKind::log_append), 0u);
}

TEST(FlashAccounting, AppendsFlushesAndRecoveryCountTheirKinds) {
  TempDir dir;
  LogConfig cfg;
  cfg.index_interval_bytes = 64;  // an index entry about every batch
  uint64_t appended = 0;
  {
    const Delta d;
    auto log = Log::open(dir.path(), cfg, {});
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    for (int i = 0; i < 20; ++i) {
      auto b = make_batch(3, "reading", 1'700'000'000'000 + i, 100);
      appended += b.size();
      ASSERT_TRUE((*log)->append(b).ok());
    }
    EXPECT_EQ(d.of(WriteKind::log_append), appended);
    EXPECT_EQ(d.of(WriteKind::recovery), 0u);
    const Delta f;
    bool flushed = false;
    (*log)->flush([&](Status st) {
      EXPECT_TRUE(st.ok());
      flushed = true;
    });
    EXPECT_TRUE(flushed);  // no loop: the flush runs inline
    EXPECT_GT(f.of(WriteKind::index), 0u);
    EXPECT_EQ(f.of(WriteKind::index) % 20, 0u);  // whole entries: 8 + 12 bytes each
    EXPECT_EQ(f.of(WriteKind::log_append), 0u);
    (*log)->close();
  }
  // A damaged offset index is rebuilt from the segment at open: recovery writes.
  {
    auto idx = platform::File::open(dir.file(segment_file_name(Offset(0), SegmentFile::index)),
                                    platform::File::Mode::read_write);
    ASSERT_TRUE(idx.ok());
    const std::array<std::byte, 8> junk = {std::byte{0x7f}, std::byte{0xff}, std::byte{0xff},
                                           std::byte{0xff}, std::byte{0x7f}, std::byte{0xff},
                                           std::byte{0xff}, std::byte{0xff}};
    ASSERT_TRUE(idx->pwrite_all(junk, 0).ok());
  }
  const Delta r;
  auto log = Log::open(dir.path(), cfg, {});
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  EXPECT_GT(r.of(WriteKind::recovery), 0u);
  EXPECT_EQ(r.of(WriteKind::log_append), 0u);
  (*log)->close();
}

TEST(FlashAccounting, SmallStateFilesCountAsCheckpoint) {
  TempDir dir;
  const Delta d;
  PartitionIdentity id{new_topic_id(), "sensors", PartitionId(3)};
  ASSERT_TRUE(write_partition_identity(dir.path(), id, platform::real_fs()).ok());
  EXPECT_EQ(d.of(WriteKind::checkpoint), encode_partition_identity(id).size());
  EXPECT_EQ(d.of(WriteKind::log_append), 0u);
}

}  // namespace
}  // namespace ferry::storage
