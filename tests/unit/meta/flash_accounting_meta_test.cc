// Flash accounting (common/flash_accounting.h) of meta.db: a committed transaction's pages go
// to meta.db-wal (meta_wal), a checkpoint copies them into meta.db (meta_db).
#include <gtest/gtest.h>

#include "common/flash_accounting.h"
#include "meta/store.h"
#include "support/test_support.h"

namespace ferry::meta {
namespace {

using flash::WriteKind;

TEST(FlashAccountingMeta, CommitsCountWalBytesAndCheckpointsDbBytes) {
  test::TempDir dir;
  const uint64_t wal0 = flash::written(WriteKind::meta_wal);
  const uint64_t db0 = flash::written(WriteKind::meta_db);
  const uint64_t log0 = flash::written(WriteKind::log_append);
  {
    auto s = MetaStore::open(dir.file("meta.db"), nullptr, builtin_migrations());
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    TopicRecord t;
    t.name = "sensors";
    t.partitions = 1;
    ASSERT_TRUE((*s)->submit_sync({Mutation::create_topic(t)}).ok());
    EXPECT_GT(flash::written(WriteKind::meta_wal), wal0);
    (*s)->close();  // checkpoints the WAL into meta.db
  }
  EXPECT_GT(flash::written(WriteKind::meta_db), db0);
  EXPECT_EQ(flash::written(WriteKind::log_append), log0);
}

}  // namespace
}  // namespace ferry::meta
