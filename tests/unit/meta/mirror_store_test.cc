// The mirror's rows of meta.db: checkpoints with target offsets, recorded producer ids, the
// version 6 migration from a version 3 database (versions 4 and 5 absent).
#include "meta/mirror_store.h"

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

TEST(MirrorStore, CheckpointsAndProducerIdsSurviveReopen) {
  test::TempDir dir;
  const std::string path = dir.file("meta.db");
  {
    auto s = open_sync(path);
    ASSERT_TRUE(
        s->submit_sync(
             {Mutation::put_mirror_producer_id({"central", ProducerId(7), 0, 10}),
              Mutation::put_mirror_producer_id({"central", ProducerId(9), 0, 20}),
              Mutation::put_mirror_producer_id({"other", ProducerId(1), 0, 5}),
              Mutation::put_mirror_checkpoint({"central", "t", PartitionId(1), Offset(100), 40, 1}),
              Mutation::put_mirror_checkpoint({"central", "t", PartitionId(0), Offset(5), 3, 1})})
            .ok());
    // Recording an id twice is not an error; a checkpoint is replaced.
    ASSERT_TRUE(s->submit_sync({Mutation::put_mirror_producer_id({"central", ProducerId(7), 0, 10}),
                                Mutation::put_mirror_checkpoint(
                                    {"central", "t", PartitionId(1), Offset(120), 60, 2})})
                    .ok());
    s->close();
  }
  auto s = open_sync(path);
  auto ids = s->mirror_producer_ids("central");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_EQ((*ids)[0].producer_id, ProducerId(7));
  EXPECT_EQ((*ids)[1].producer_id, ProducerId(9));
  auto cps = s->mirror_checkpoints("central");
  ASSERT_TRUE(cps.ok());
  ASSERT_EQ(cps->size(), 2u);
  EXPECT_EQ((*cps)[0], (MirrorCheckpoint{"central", "t", PartitionId(0), Offset(5), 3, 1}));
  EXPECT_EQ((*cps)[1], (MirrorCheckpoint{"central", "t", PartitionId(1), Offset(120), 60, 2}));
  EXPECT_TRUE(s->mirror_checkpoints("nobody")->empty());
}

TEST(MirrorStore, Version6MigratesAVersion3DatabaseAcrossTheGap) {
  test::TempDir dir;
  const std::string path = dir.file("meta.db");
  {
    auto s = open_sync(path, builtin_migrations().first(3));
    ASSERT_EQ(s->schema_version(), 3);
    s->close();
    auto db = Db::open(path);  // a row as a version 3 ferry wrote it
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("INSERT INTO mirror_checkpoints (mirror, topic, partition, source_offset,"
                         " updated_ms) VALUES ('m', 't', 0, 9, 1)")
                    .ok());
  }
  auto s = open_sync(path);
  EXPECT_EQ(s->schema_version(), builtin_migrations().back().version);
  auto cps = s->mirror_checkpoints("m");
  ASSERT_TRUE(cps.ok());
  ASSERT_EQ(cps->size(), 1u);
  EXPECT_EQ((*cps)[0].source_offset, Offset(9));
  EXPECT_EQ((*cps)[0].target_offset, -1);  // unknown for a row written before version 6
}

}  // namespace
}  // namespace ferry::meta
