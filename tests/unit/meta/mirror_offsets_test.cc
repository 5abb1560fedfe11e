// The mirror's offset map rows in meta.db: written next to checkpoints, pruned below the log
// start and beyond the cap, read on a read-only connection, seeded by the version 7 migration,
// deleted with their topic.
#include "meta/mirror_offsets.h"

#include <gtest/gtest.h>

#include "meta/store.h"
#include "support/test_support.h"

namespace ferry::meta {
namespace {

std::unique_ptr<MetaStore> open_sync(const std::string& path,
                                     std::span<const Migration> m = builtin_migrations()) {
  auto s = MetaStore::open(path, nullptr, m);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().to_string());
  return s.ok() ? std::move(s).value() : nullptr;
}

MirrorOffsetRow row(int64_t source, int64_t target, int32_t partition = 0) {
  return {"t", PartitionId(partition), Offset(source), target};
}

TEST(MirrorOffsets, RowsAreWrittenWithTheCheckpointAndReadBackInOrder) {
  test::TempDir dir;
  const std::string path = dir.file("meta.db");
  auto s = open_sync(path);
  ASSERT_TRUE(s->submit_sync(
                   {mirror_offset_rows_mutation("m", {row(0, 3), row(10, 20)}, Offset(0)),
                    mirror_offset_rows_mutation("m", {row(5, 5, 1)}, Offset(0)),
                    mirror_offset_rows_mutation("other", {row(0, 0)}, Offset(0)),
                    Mutation::put_mirror_checkpoint({"m", "t", PartitionId(0), Offset(30), 40, 1})})
                  .ok());
  // The same source offset again replaces the row.
  ASSERT_TRUE(s->submit_sync({mirror_offset_rows_mutation("m", {row(10, 21)}, Offset(0))}).ok());
  auto rows = mirror_offset_rows(s->reader(), "m");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, (std::vector<MirrorOffsetRow>{row(0, 3), row(10, 21), row(5, 5, 1)}));
  auto last = last_mirror_offset_row(s->reader(), "m", "t", PartitionId(0));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, row(10, 21));
  EXPECT_FALSE(last_mirror_offset_row(s->reader(), "m", "t", PartitionId(7))->has_value());

  // A read-only connection (what the operator commands use while the broker runs) sees them.
  auto ro = Db::open_read_only(path);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ(mirror_offset_rows(*ro, "m")->size(), 3u);
  auto cps = read_mirror_checkpoints(*ro, "m");
  ASSERT_TRUE(cps.ok());
  ASSERT_EQ(cps->size(), 1u);
  EXPECT_EQ((*cps)[0].target_offset, 40);
  EXPECT_FALSE(ro->exec("DELETE FROM mirror_offsets").ok());     // read-only indeed
  EXPECT_FALSE(Db::open_read_only(dir.file("absent.db")).ok());  // never created
}

TEST(MirrorOffsets, PrunedBelowTheLogStartKeepingTheRowThatStillApplies) {
  test::TempDir dir;
  auto s = open_sync(dir.file("meta.db"));
  ASSERT_TRUE(s->submit_sync({mirror_offset_rows_mutation(
                                 "m", {row(0, 0), row(100, 90), row(200, 250)}, Offset(0))})
                  .ok());
  EXPECT_EQ(mirror_offset_rows(s->reader(), "m")->size(), 3u);
  // The log now starts at 150: the row at 100 still translates 150..199, the one at 0 goes.
  ASSERT_TRUE(
      s->submit_sync({mirror_offset_rows_mutation("m", {row(300, 400)}, Offset(150))}).ok());
  EXPECT_EQ(*mirror_offset_rows(s->reader(), "m"),
            (std::vector<MirrorOffsetRow>{row(100, 90), row(200, 250), row(300, 400)}));
  // Other partitions are left alone.
  ASSERT_TRUE(s->submit_sync({mirror_offset_rows_mutation("m", {row(0, 1, 1)}, Offset(0))}).ok());
  ASSERT_TRUE(
      s->submit_sync({mirror_offset_rows_mutation("m", {row(500, 600)}, Offset(500))}).ok());
  EXPECT_EQ(*mirror_offset_rows(s->reader(), "m"),
            (std::vector<MirrorOffsetRow>{row(500, 600), row(0, 1, 1)}));
}

TEST(MirrorOffsets, AtMostTheCapPerPartition) {
  test::TempDir dir;
  auto s = open_sync(dir.file("meta.db"));
  std::vector<MirrorOffsetRow> rows;
  for (int64_t i = 0; i < kMaxMirrorOffsetRows + 10; ++i) rows.push_back(row(i * 10, i * 11));
  ASSERT_TRUE(s->submit_sync({mirror_offset_rows_mutation("m", rows, Offset(0))}).ok());
  auto got = mirror_offset_rows(s->reader(), "m");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(static_cast<int64_t>(got->size()), kMaxMirrorOffsetRows);
  EXPECT_EQ(got->front(), row(100, 110));  // the 10 oldest went
  EXPECT_EQ(got->back(), rows.back());
}

TEST(MirrorOffsets, DeletedWithTheirTopic) {
  test::TempDir dir;
  auto s = open_sync(dir.file("meta.db"));
  TopicRecord t;
  t.name = "t";
  ASSERT_TRUE(s->submit_sync({Mutation::create_topic(t),
                              mirror_offset_rows_mutation("m", {row(0, 3)}, Offset(0))})
                  .ok());
  ASSERT_TRUE(s->submit_sync({Mutation::delete_topic("t")}).ok());
  EXPECT_TRUE(mirror_offset_rows(s->reader(), "m")->empty());
}

TEST(MirrorOffsets, Version7SeedsARowFromEachVersion6CheckpointWithATargetOffset) {
  test::TempDir dir;
  const std::string path = dir.file("meta.db");
  {
    auto s = open_sync(path, builtin_migrations().first(6));
    ASSERT_EQ(s->schema_version(), 6);
    ASSERT_TRUE(
        s->submit_sync(
             {Mutation::put_mirror_checkpoint({"m", "t", PartitionId(0), Offset(9), 12, 1}),
              Mutation::put_mirror_checkpoint({"m", "t", PartitionId(1), Offset(4), -1, 1})})
            .ok());
    s->close();
  }
  auto s = open_sync(path);
  EXPECT_GE(s->schema_version(), 7);
  // Partition 1's checkpoint has no target offset (written before version 6): no row.
  EXPECT_EQ(*mirror_offset_rows(s->reader(), "m"), (std::vector<MirrorOffsetRow>{row(9, 12)}));
}

}  // namespace
}  // namespace ferry::meta
