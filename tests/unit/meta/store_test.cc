// Unit tests of the metadata store: schema versions, CRUD of every table, reopen, group commit on
// a real loop, refusal of newer and corrupt databases.
#include "meta/store.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <functional>
#include <string>
#include <vector>

#include "platform/file.h"
#include "support/test_support.h"

namespace ferry::meta {
namespace {

std::unique_ptr<MetaStore> open_sync(const std::string& path,
                                     std::span<const Migration> m = builtin_migrations()) {
  auto s = MetaStore::open(path, nullptr, m);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().to_string());
  return s.ok() ? std::move(s).value() : nullptr;
}

TopicRecord topic(std::string name, int32_t partitions) {
  TopicRecord t;
  t.name = std::move(name);
  t.partitions = partitions;
  t.created_ms = 1234;
  return t;
}

TEST(MetaStore, CreatesTheSchemaAndKeepsDataAcrossReopen) {
  test::TempDir dir;
  std::string path = dir.file("meta.db");
  {
    auto s = open_sync(path);
    EXPECT_EQ(s->schema_version(), builtin_migrations().back().version);
    TopicRecord t = topic("sensors", 6);
    t.configs = {{"retention.ms", "60000"}, {"compression.type", "lz4"}};
    ASSERT_TRUE(s->submit_sync({Mutation::create_topic(t)}).ok());
    s->close();
  }
  auto s = open_sync(path);
  auto t = s->get_topic("sensors");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t->has_value());
  EXPECT_EQ((*t)->partitions, 6);
  EXPECT_EQ((*t)->created_ms, 1234);
  EXPECT_EQ((*t)->configs.at("compression.type"), "lz4");
  EXPECT_EQ((*t)->configs.size(), 2u);
  EXPECT_FALSE(s->get_topic("nope")->has_value());
}

TEST(MetaStore, TopicLifecycle) {
  test::TempDir dir;
  auto s = open_sync(dir.file("meta.db"));
  ASSERT_TRUE(
      s->submit_sync({Mutation::create_topic(topic("a", 1)), Mutation::create_topic(topic("b", 3))})
          .ok());
  auto dup = s->submit_sync({Mutation::create_topic(topic("a", 2))});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), Errc::already_exists);
  ASSERT_TRUE(s->submit_sync({Mutation::set_partitions("b", 5)}).ok());
  ASSERT_TRUE(
      s->submit_sync({Mutation::alter_configs("b", {{"retention.bytes", "1000"}, {"x", "1"}})})
          .ok());
  ASSERT_TRUE(
      s->submit_sync({Mutation::alter_configs("b", {{"x", "2"}}, {"retention.bytes"})}).ok());
  auto all = s->list_topics();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].partitions, 5);
  EXPECT_EQ((*all)[1].configs, (std::map<std::string, std::string>{{"x", "2"}}));
  EXPECT_EQ(s->submit_sync({Mutation::alter_configs("zz", {{"x", "1"}})}).error().code(),
            Errc::not_found);
  // Deleting a topic removes its configs and the offsets committed on it.
  ASSERT_TRUE(s
                  ->submit_sync({Mutation::commit_offsets(
                      "g", {OffsetCommit{"b", PartitionId(0), Offset(5), LeaderEpoch(-1), "", 0}})})
                  .ok());
  ASSERT_TRUE(s->submit_sync({Mutation::delete_topic("b")}).ok());
  EXPECT_FALSE(s->get_topic("b")->has_value());
  EXPECT_TRUE(s->committed_offsets("g")->empty());
  EXPECT_EQ(s->submit_sync({Mutation::delete_topic("b")}).error().code(), Errc::not_found);
}

TEST(MetaStore, AFailingSubmissionChangesNothing) {
  test::TempDir dir;
  auto s = open_sync(dir.file("meta.db"));
  ASSERT_TRUE(s->submit_sync({Mutation::create_topic(topic("a", 1))}).ok());
  // The second mutation fails, so the first (creating "c") must be rolled back too.
  auto st = s->submit_sync(
      {Mutation::create_topic(topic("c", 1)), Mutation::create_topic(topic("a", 1))});
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(s->get_topic("c")->has_value());
  EXPECT_TRUE(s->submit_sync({Mutation::create_topic(topic("c", 1))}).ok());  // still usable
}

TEST(MetaStore, GroupOffsetsCommitFetchDelete) {
  test::TempDir dir;
  auto s = open_sync(dir.file("meta.db"));
  OffsetCommit a{"t", PartitionId(0), Offset(10), LeaderEpoch(3), "meta-a", 111};
  OffsetCommit b{"t", PartitionId(1), Offset(20), LeaderEpoch(-1), "", 112};
  ASSERT_TRUE(s->submit_sync({Mutation::commit_offsets("g1", {a, b})}).ok());
  a.offset = Offset(15);
  a.metadata = "meta-a2";
  ASSERT_TRUE(
      s->submit_sync({Mutation::commit_offsets("g1", {a}), Mutation::commit_offsets("g2", {b})})
          .ok());
  auto offs = s->committed_offsets("g1");
  ASSERT_TRUE(offs.ok());
  ASSERT_EQ(offs->size(), 2u);
  EXPECT_EQ((*offs)[0], a);
  EXPECT_EQ((*offs)[1], b);
  EXPECT_EQ(*s->list_groups(), (std::vector<std::string>{"g1", "g2"}));
  auto one = s->committed_offset("g1", "t", PartitionId(0));
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->metadata, "meta-a2");
  ASSERT_TRUE(s->submit_sync({Mutation::delete_offsets("g1", "t", PartitionId(0))}).ok());
  EXPECT_FALSE(s->committed_offset("g1", "t", PartitionId(0))->has_value());
  ASSERT_TRUE(s->submit_sync({Mutation::delete_group("g1")}).ok());
  EXPECT_EQ(*s->list_groups(), (std::vector<std::string>{"g2"}));
}

// Regression: a cached read statement stopped after its first row kept a read transaction open,
// so later reads on the same connection saw a snapshot from before newer commits.
TEST(MetaStore, ReadsAfterAPartialReadSeeNewCommits) {
  test::TempDir dir;
  auto s = open_sync(dir.file("meta.db"));
  OffsetCommit c{"t", PartitionId(0), Offset(1), LeaderEpoch(-1), "", 0};
  ASSERT_TRUE(s->submit_sync({Mutation::commit_offsets("g1", {c})}).ok());
  ASSERT_TRUE(s->committed_offset("g1", "t", PartitionId(0))->has_value());  // stops after a row
  ASSERT_TRUE(s->submit_sync({Mutation::commit_offsets("g2", {c})}).ok());
  EXPECT_EQ(*s->list_groups(), (std::vector<std::string>{"g1", "g2"}));
}

TEST(MetaStore, ProducerIdsAreNeverReusedAcrossReopen) {
  test::TempDir dir;
  std::string path = dir.file("meta.db");
  std::vector<int64_t> seen;
  for (int round = 0; round < 3; ++round) {
    auto s = open_sync(path);
    for (int i = 0; i < 2; ++i) {
      auto first = std::make_shared<ProducerId>(-1);
      ASSERT_TRUE(s->submit_sync({Mutation::reserve_producer_ids(100, first)}).ok());
      seen.push_back(first->value());
    }
    s->close();
  }
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], static_cast<int64_t>(i) * 100);
}

TEST(MetaStore, ProducerStateAndMirrorCheckpoints) {
  test::TempDir dir;
  auto s = open_sync(dir.file("meta.db"));
  EXPECT_FALSE(s->producer_snapshot_offset("t", PartitionId(2))->has_value());
  // A snapshot for a topic that does not exist (deleted meanwhile) is dropped.
  ASSERT_TRUE(
      s->submit_sync({Mutation::put_producer_snapshot("t", PartitionId(2), Offset(5), {})}).ok());
  EXPECT_FALSE(s->producer_snapshot_offset("t", PartitionId(2))->has_value());
  ASSERT_TRUE(s->submit_sync({Mutation::create_topic(topic("t", 3))}).ok());
  ProducerStateRecord p{"t", PartitionId(2), ProducerId(7), 1, 41, Offset(900), 5, "\x01\x02"};
  ProducerStateRecord q{"t", PartitionId(2), ProducerId(9), 0, 3, Offset(950), 6, "\x03"};
  ASSERT_TRUE(
      s->submit_sync({Mutation::put_producer_snapshot("t", PartitionId(2), Offset(901), {p, q})})
          .ok());
  // A newer snapshot replaces the whole partition's rows: producer 9 is gone.
  p.last_sequence = 46;
  ASSERT_TRUE(
      s->submit_sync({Mutation::put_producer_snapshot("t", PartitionId(2), Offset(1000), {p})})
          .ok());
  auto states = s->producer_states("t", PartitionId(2));
  ASSERT_TRUE(states.ok());
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ((*states)[0], p);
  EXPECT_EQ(*s->producer_snapshot_offset("t", PartitionId(2)), std::optional(Offset(1000)));
  EXPECT_TRUE(s->producer_states("t", PartitionId(1))->empty());
  // Deleting the topic deletes its producer state and snapshot offsets.
  ASSERT_TRUE(s->submit_sync({Mutation::delete_topic("t")}).ok());
  EXPECT_TRUE(s->producer_states("t", PartitionId(2))->empty());
  EXPECT_FALSE(s->producer_snapshot_offset("t", PartitionId(2))->has_value());
  ASSERT_TRUE(s->submit_sync({Mutation::put_mirror_checkpoint(
                                 {"central", "t", PartitionId(0), Offset(77), -1, 1})})
                  .ok());
  EXPECT_EQ(s->mirror_checkpoint("central", "t", PartitionId(0))->value(), Offset(77));
  EXPECT_FALSE(s->mirror_checkpoint("central", "t", PartitionId(1))->has_value());
}

TEST(MetaStore, RefusesADatabaseFromANewerFerry) {
  test::TempDir dir;
  std::string path = dir.file("meta.db");
  std::vector<Migration> newer(builtin_migrations().begin(), builtin_migrations().end());
  newer.push_back({newer.back().version + 1, "CREATE TABLE future (x INTEGER);"});
  { open_sync(path, newer)->close(); }
  auto s = MetaStore::open(path, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::newer_version);
  EXPECT_NE(s.error().message().find("newer ferry"), std::string::npos) << s.error().message();
}

TEST(MetaStore, MigratesAnOlderDatabaseForward) {
  test::TempDir dir;
  std::string path = dir.file("meta.db");
  {
    auto s = open_sync(path);
    ASSERT_TRUE(s->submit_sync({Mutation::create_topic(topic("kept", 2))}).ok());
    s->close();
  }
  std::vector<Migration> next(builtin_migrations().begin(), builtin_migrations().end());
  int v = next.back().version + 1;
  next.push_back({v, "ALTER TABLE topics ADD COLUMN note TEXT NOT NULL DEFAULT 'n';"});
  auto s = open_sync(path, next);
  EXPECT_EQ(s->schema_version(), v);
  EXPECT_EQ(s->get_topic("kept")->value().partitions, 2);
  // A broken step leaves the database at the previous version.
  s->close();
  next.push_back({v + 1, "THIS IS NOT SQL;"});
  auto bad = MetaStore::open(path, nullptr, next);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("migration"), std::string::npos);
  EXPECT_EQ(open_sync(path, std::span(next).first(next.size() - 1))->schema_version(), v);
}

TEST(MetaStore, TopicIdsAreStoredAndVersion2RowsGetAnEmptyOne) {
  test::TempDir dir;
  std::string path = dir.file("meta.db");
  {  // a version 2 database with one topic
    auto s = open_sync(path, builtin_migrations().first(2));
    ASSERT_EQ(s->schema_version(), 2);
    s->close();
    auto db = Db::open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        db->exec("INSERT INTO topics (name, partitions, created_ms) VALUES ('old', 1, 5)").ok());
  }
  auto s = open_sync(path);
  EXPECT_EQ(s->schema_version(), builtin_migrations().back().version);
  EXPECT_EQ(s->get_topic("old")->value().topic_id, "");
  ASSERT_TRUE(s->submit_sync({Mutation::set_topic_id("old", "AAAAAAAAAAAAAAAAAAAAAA")}).ok());
  EXPECT_EQ(s->get_topic("old")->value().topic_id, "AAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(s->submit_sync({Mutation::set_topic_id("nope", "x")}).error().code(), Errc::not_found);
  TopicRecord t = topic("new", 2);
  t.topic_id = "BBBBBBBBBBBBBBBBBBBBBB";
  ASSERT_TRUE(s->submit_sync({Mutation::create_topic(t)}).ok());
  auto all = s->list_topics();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].topic_id, "BBBBBBBBBBBBBBBBBBBBBB");
  EXPECT_EQ((*all)[1].topic_id, "AAAAAAAAAAAAAAAAAAAAAA");
}

TEST(MetaStore, AFileThatIsNotADatabaseFailsClearly) {
  test::TempDir dir;
  std::string path = dir.file("meta.db");
  std::string junk(8192, 'x');
  ASSERT_TRUE(platform::write_file_atomic(path, platform::as_bytes(junk)).ok());
  auto s = MetaStore::open(path, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::corrupt) << s.error().to_string();
}

TEST(MetaStore, GroupCommitOnTheLoopKeepsOrderAndSharesTransactions) {
  test::TempDir dir;
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  auto opened = MetaStore::open(dir.file("meta.db"), &loop);
  ASSERT_TRUE(opened.ok());
  auto s = std::move(opened).value();
  std::vector<int> order;
  const int n = 100;
  for (int i = 0; i < n; ++i) {
    OffsetCommit c{"t", PartitionId(0), Offset(i), LeaderEpoch(-1), "", i};
    s->submit({Mutation::commit_offsets("g", {c})}, [&order, i](Status st) {
      EXPECT_TRUE(st.ok());
      order.push_back(i);
    });
  }
  bool dup_failed = false;
  s->submit({Mutation::create_topic(topic("x", 1)), Mutation::create_topic(topic("x", 1))},
            [&](Status st) { dup_failed = !st.ok(); });
  EXPECT_TRUE(order.empty());  // nothing commits on the caller's stack
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(order.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
  EXPECT_TRUE(dup_failed);
  EXPECT_LT(s->transactions(), 10u);
  EXPECT_EQ(s->committed_offset("g", "t", PartitionId(0))->value().offset, Offset(n - 1));
  bool closed = false;
  s->submit({Mutation::delete_group("g")});
  s->close([&](Status st) {
    EXPECT_TRUE(st.ok());
    closed = true;
  });
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_TRUE(closed);
  s.reset();
  EXPECT_EQ(uv_loop_close(&loop), 0);
  auto again = open_sync(dir.file("meta.db"));
  EXPECT_TRUE(again->list_groups()->empty());  // the write queued before close landed
}

// A callback that submits starts the next job itself; the job that ran the callback must not
// start another one for what was queued meanwhile (two jobs would share the writer connection
// from two threads, which corrupted the WAL). Each round: A's callback submits B, which starts a
// job, and C, which waits for it; B's transaction must be done before C's begins.
TEST(MetaStore, SubmissionsFromACallbackNeverRunTwoJobsAtOnce) {
  test::TempDir dir;
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  auto opened = MetaStore::open(dir.file("meta.db"), &loop);
  ASSERT_TRUE(opened.ok());
  auto s = std::move(opened).value();
  auto commit = [](int64_t offset) {
    OffsetCommit c{"t", PartitionId(0), Offset(offset), LeaderEpoch(-1), "", 0};
    return std::vector<Mutation>{Mutation::commit_offsets("g", {c})};
  };
  std::vector<std::string> done;
  constexpr int kRounds = 50;
  std::function<void(int)> round = [&](int i) {
    s->submit(commit(3 * i), [&, i](Status st) {
      EXPECT_TRUE(st.ok());
      done.push_back("A" + std::to_string(i));
      s->submit(commit(3 * i + 1), [&, i](Status st2) {
        EXPECT_TRUE(st2.ok());
        done.push_back("B" + std::to_string(i));
      });
      s->submit(commit(3 * i + 2), [&, i](Status st3) {
        EXPECT_TRUE(st3.ok());
        done.push_back("C" + std::to_string(i));
        if (i + 1 < kRounds) round(i + 1);
      });
    });
  };
  round(0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(done.size(), static_cast<size_t>(3 * kRounds));
  for (int i = 0; i < kRounds; ++i) {
    const auto at = static_cast<size_t>(3 * i);
    EXPECT_EQ(done[at], "A" + std::to_string(i));
    EXPECT_EQ(done[at + 1], "B" + std::to_string(i));
    EXPECT_EQ(done[at + 2], "C" + std::to_string(i));
  }
  // B and C of each round committed in two transactions, one after the other.
  EXPECT_EQ(s->transactions(), static_cast<uint64_t>(3 * kRounds));
  EXPECT_EQ(s->committed_offset("g", "t", PartitionId(0))->value().offset, Offset(3 * kRounds - 1));
  bool closed = false;
  s->close([&](Status st) {
    EXPECT_TRUE(st.ok());
    closed = true;
  });
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_TRUE(closed);
  s.reset();
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace ferry::meta
