// The acls table (schema version 5): rows put, deleted and read back across a reopen, put and
// delete idempotent, and a version 3 database migrated to 5 with no version 4 in between.
#include "meta/acl_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/test_support.h"

namespace ferry::meta {
namespace {

AclRecord row(std::string name, int8_t op, int8_t perm = 3) {
  return AclRecord{2, std::move(name), 3, "User:alice", "*", op, perm};
}

TEST(AclStore, RowsSurviveReopenAndPutAndDeleteAreIdempotent) {
  test::TempDir dir;
  const std::string path = dir.file("meta.db");
  {
    auto s = MetaStore::open(path, nullptr);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->submit_sync({put_acl(row("a", 3)), put_acl(row("a", 4)),
                                   put_acl(row("b", 3, 2)), put_acl(row("a", 3))})
                    .ok());
    ASSERT_TRUE((*s)->submit_sync({delete_acl(row("a", 4)), delete_acl(row("zzz", 4))}).ok());
    (*s)->close();
  }
  auto s = MetaStore::open(path, nullptr);
  ASSERT_TRUE(s.ok());
  auto rows = load_acls(**s);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0], row("a", 3));
  EXPECT_EQ((*rows)[1], row("b", 3, 2));
  (*s)->close();
}

TEST(AclStore, AFailedSubmissionStoresNoneOfItsAcls) {
  test::TempDir dir;
  auto s = MetaStore::open(dir.file("meta.db"), nullptr);
  ASSERT_TRUE(s.ok());
  // The second mutation fails (no such table), so the first is rolled back with it.
  auto st = (*s)->submit_sync(
      {put_acl(row("a", 3)), Mutation::apply([](Db& db) { return db.exec("DELETE FROM nope"); })});
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(load_acls(**s)->empty());
  (*s)->close();
}

TEST(AclStore, AVersion3DatabaseMigratesToVersion5WithoutAVersion4) {
  test::TempDir dir;
  const std::string path = dir.file("meta.db");
  auto all = builtin_migrations();
  std::vector<Migration> upto3;
  for (const auto& m : all) {
    if (m.version <= 3) upto3.push_back(m);
  }
  {
    auto s = MetaStore::open(path, nullptr, upto3);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ((*s)->schema_version(), 3);
    (*s)->close();
  }
  auto s = MetaStore::open(path, nullptr);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_GE((*s)->schema_version(), 5);
  ASSERT_TRUE((*s)->submit_sync({put_acl(row("t", 3))}).ok());
  EXPECT_EQ(load_acls(**s)->size(), 1u);
  (*s)->close();
}

}  // namespace
}  // namespace ferry::meta
