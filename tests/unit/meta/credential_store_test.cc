// SCRAM credentials in meta.db: round trip, replace, delete, survival across reopen, and the
// migration of a version-3 database (which gains the table and keeps its topics).
#include "meta/credential_store.h"

#include <gtest/gtest.h>

#include "meta/schema.h"
#include "meta/store.h"
#include "support/test_support.h"

namespace ferry::meta {
namespace {

ScramCredentialRecord cred(const std::string& user, const std::string& mech, char fill) {
  return {user, mech, std::string(32, fill), 4096, std::string(32, 'S'), std::string(32, 'K')};
}

TEST(CredentialStoreTest, RoundTripReplaceDeleteAndReopen) {
  ferry::test::TempDir dir;
  const std::string path = dir.path() + "/meta.db";
  {
    auto store = MetaStore::open(path, nullptr);
    ASSERT_TRUE(store.ok());
    EXPECT_GE((*store)->schema_version(), 4);
    auto a = cred("alice", "SCRAM-SHA-256", '\0');  // binary salts survive (NUL bytes)
    ASSERT_TRUE(
        (*store)
            ->submit_sync({Mutation::put_scram_credential(a),
                           Mutation::put_scram_credential(cred("alice", "SCRAM-SHA-512", 'b')),
                           Mutation::put_scram_credential(cred("bob", "SCRAM-SHA-256", 'c'))})
            .ok());
    auto rows = (*store)->list_scram_credentials();
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 3u);
    EXPECT_EQ((*rows)[0], a);
    // Replacing keeps one row per (user, mechanism).
    auto replaced = cred("bob", "SCRAM-SHA-256", 'd');
    replaced.iterations = 8192;
    ASSERT_TRUE((*store)->submit_sync({Mutation::put_scram_credential(replaced)}).ok());
    // Deleting one mechanism; deleting what is not there fails and changes nothing.
    ASSERT_TRUE(
        (*store)->submit_sync({Mutation::delete_scram_credential("alice", "SCRAM-SHA-512")}).ok());
    auto missing = (*store)->submit_sync({Mutation::delete_scram_credential("zed")});
    EXPECT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code(), Errc::not_found);
    (*store)->close();
  }
  auto store = MetaStore::open(path, nullptr);
  ASSERT_TRUE(store.ok());
  auto rows = (*store)->list_scram_credentials();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].user, "alice");
  EXPECT_EQ((*rows)[0].mechanism, "SCRAM-SHA-256");
  EXPECT_EQ((*rows)[0].salt, std::string(32, '\0'));
  EXPECT_EQ((*rows)[1].iterations, 8192);
  // Deleting every mechanism of a user.
  ASSERT_TRUE((*store)->submit_sync({Mutation::delete_scram_credential("alice")}).ok());
  rows = (*store)->list_scram_credentials();
  ASSERT_EQ(rows->size(), 1u);
  (*store)->close();
}

TEST(CredentialStoreTest, AVersion3DatabaseIsMigrated) {
  ferry::test::TempDir dir;
  const std::string path = dir.path() + "/meta.db";
  const auto all = builtin_migrations();
  ASSERT_GE(all.size(), 4u);
  {
    auto v3 = MetaStore::open(path, nullptr, all.first(3));
    ASSERT_TRUE(v3.ok());
    EXPECT_EQ((*v3)->schema_version(), 3);
    TopicRecord t;
    t.name = "kept";
    t.topic_id = "AAAAAAAAAAAAAAAAAAAAAA";
    ASSERT_TRUE((*v3)->submit_sync({Mutation::create_topic(t)}).ok());
    EXPECT_FALSE((*v3)->list_scram_credentials().ok());  // no table yet
    (*v3)->close();
  }
  auto store = MetaStore::open(path, nullptr);
  ASSERT_TRUE(store.ok());
  EXPECT_GE((*store)->schema_version(), 4);
  auto rows = (*store)->list_scram_credentials();
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
  auto topics = (*store)->list_topics();
  ASSERT_TRUE(topics.ok());
  ASSERT_EQ(topics->size(), 1u);
  EXPECT_EQ((*topics)[0].name, "kept");
  (*store)->close();
}

}  // namespace
}  // namespace ferry::meta
