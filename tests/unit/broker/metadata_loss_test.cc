// A lost or stale meta.db never deletes partition logs: directories meta.db does not know are
// adopted with their records at the same offsets, and the files of another incarnation of a
// topic (deleted and re-created under the same name) are quarantined, not merged.
#include <gtest/gtest.h>

#include <filesystem>

#include "broker_fixture.h"
#include "platform/file.h"
#include "protocol/record_batch.h"
#include "storage/partition_identity.h"

namespace ferry::broker::test {
namespace {

using protocol::ApiKey;
using namespace protocol;

class MetadataLossTest : public BrokerFixture {
 protected:
  int16_t delete_topic(const std::string& name) {
    DeleteTopicsRequest del;
    del.topic_names = {name};
    auto resp = call<DeleteTopicsResponse>(ApiKey::delete_topics, 3, del);
    return resp.responses.empty() ? int16_t{-1} : resp.responses[0].error_code;
  }
  // Produces `count` records with values "<prefix>-<i>"; returns the base offset or -1.
  int64_t produce(const std::string& topic, int32_t partition, int count,
                  const std::string& prefix) {
    auto records = ferry::test::make_batch(count, prefix);
    ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 5000;
    ProduceRequest::Topic t;
    t.name = topic;
    t.partition_data.push_back({partition, RecordsRef{std::span<const std::byte>(records)}});
    req.topic_data.push_back(t);
    auto resp = call<ProduceResponse>(ApiKey::produce, 8, req);
    if (resp.responses.empty() || resp.responses[0].partition_responses.empty()) return -1;
    const auto& p = resp.responses[0].partition_responses[0];
    return p.error_code == 0 ? p.base_offset : -1;
  }
  // "offset:value" of every record from offset 0.
  std::vector<std::string> fetch_all(const std::string& topic, int32_t partition) {
    auto resp = call<FetchResponse>(ApiKey::fetch, 11, fetch_request(topic, partition, 0));
    std::vector<std::string> out;
    if (resp.responses.empty() || resp.responses[0].partitions.empty()) return {"<no response>"};
    if (resp.responses[0].partitions[0].error_code != 0)
      return {"<error " + std::to_string(resp.responses[0].partitions[0].error_code) + ">"};
    auto data = resp.responses[0].partitions[0].records.data;
    if (!data) return out;
    for (auto& r : fetched_records(*data))
      out.push_back(std::to_string(r.offset) + ":" + r.value.value_or("<null>"));
    return out;
  }
  std::map<std::string, size_t> topics_in_metadata() {
    MetadataRequest all;
    all.topics = std::nullopt;
    auto md = call<MetadataResponse>(ApiKey::metadata, 8, all);
    std::map<std::string, size_t> out;
    for (const auto& t : md.topics) out[t.name] = t.partitions.size();
    return out;
  }
  void restart() {
    conns_.clear();
    stop_broker();
    start_broker();
  }
  void remove_meta_db() {
    for (const char* f : {"meta.db", "meta.db-wal", "meta.db-shm"}) {
      std::error_code ec;
      std::filesystem::remove(dir_.file(f), ec);
    }
  }
  std::string identity_id(const std::string& partition_dir) {
    auto id = storage::read_partition_identity(dir_.file("logs/" + partition_dir));
    return id.ok() && id->has_value() ? (*id)->topic_id : std::string();
  }
};

TEST_F(MetadataLossTest, AMissingMetaDbAdoptsEveryPartitionWithItsRecordsAtTheSameOffsets) {
  ASSERT_EQ(create_topic("alpha", 1).topics.at(0).error_code, 0);
  ASSERT_EQ(create_topic("beta-events", 2, {{"retention.ms", "86400000"}}).topics.at(0).error_code,
            0);
  ASSERT_EQ(create_topic("gamma.x", 3).topics.at(0).error_code, 0);
  std::map<std::pair<std::string, int32_t>, std::vector<std::string>> expected;
  for (const auto& [topic, partitions] : std::vector<std::pair<std::string, int32_t>>{
           {"alpha", 1}, {"beta-events", 2}, {"gamma.x", 3}}) {
    for (int32_t p = 0; p < partitions; ++p) {
      for (int round = 0; round <= p; ++round) {
        ASSERT_GE(
            produce(topic, p, 3, topic + "/" + std::to_string(p) + "/" + std::to_string(round)), 0);
      }
      auto& values = expected[std::make_pair(topic, p)];
      values = fetch_all(topic, p);
      ASSERT_EQ(values.size(), static_cast<size_t>(3 * (p + 1)));
    }
  }
  const std::string beta_id = identity_id("beta-events-1");
  ASSERT_TRUE(storage::valid_topic_id(beta_id));
  EXPECT_EQ(identity_id("beta-events-0"), beta_id);

  conns_.clear();
  stop_broker();
  remove_meta_db();
  {
    ferry::test::LogCapture logs;
    start_broker();
    for (const char* topic : {"alpha", "beta-events", "gamma.x"}) {
      EXPECT_TRUE(logs.saw(std::string("adopting topic ") + topic)) << topic;
    }
    size_t warns = 0;
    for (const auto& line : logs.lines()) {
      if (line.find("WARN") != std::string::npos &&
          line.find("adopting topic") != std::string::npos)
        ++warns;
    }
    EXPECT_EQ(warns, 3u);
  }
  EXPECT_EQ(topics_in_metadata(),
            (std::map<std::string, size_t>{{"alpha", 1}, {"beta-events", 2}, {"gamma.x", 3}}));
  for (const auto& [tp, values] : expected) {
    EXPECT_EQ(fetch_all(tp.first, tp.second), values) << tp.first << "-" << tp.second;
  }
  // The adopted topic kept its id, was committed, and takes new records after the old ones.
  auto stored = broker_->meta().get_topic("beta-events");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->topic_id, beta_id);
  EXPECT_TRUE((*stored)->configs.empty());  // configs are back to the defaults
  EXPECT_EQ(produce("gamma.x", 2, 1, "after"), 9);
  {
    ferry::test::LogCapture logs;
    restart();
    EXPECT_FALSE(logs.saw("adopting"));
  }
  EXPECT_EQ(fetch_all("gamma.x", 2).back(), "9:after-0");
}

TEST_F(MetadataLossTest, AStaleMetaDbAdoptsTopicsAndPartitionsCreatedAfterItsCopy) {
  ASSERT_EQ(create_topic("old", 1).topics.at(0).error_code, 0);
  ASSERT_GE(produce("old", 0, 2, "o"), 0);
  conns_.clear();
  stop_broker();
  ASSERT_TRUE(platform::create_dirs(dir_.file("backup")).ok());
  std::filesystem::copy_file(dir_.file("meta.db"), dir_.file("backup/meta.db"));
  start_broker();
  ASSERT_EQ(create_topic("newer", 2).topics.at(0).error_code, 0);
  ASSERT_GE(produce("newer", 1, 4, "n"), 0);
  conns_.clear();
  stop_broker();
  remove_meta_db();
  std::filesystem::copy_file(dir_.file("backup/meta.db"), dir_.file("meta.db"));
  start_broker();
  EXPECT_EQ(topics_in_metadata(), (std::map<std::string, size_t>{{"old", 1}, {"newer", 2}}));
  EXPECT_EQ(fetch_all("old", 0), (std::vector<std::string>{"0:o-0", "1:o-1"}));
  EXPECT_EQ(fetch_all("newer", 1).size(), 4u);
}

TEST_F(MetadataLossTest, ARecreatedTopicsFilesAreQuarantinedNotMergedWithAnOlderMetaDb) {
  ASSERT_EQ(create_topic("t", 1).topics.at(0).error_code, 0);
  ASSERT_GE(produce("t", 0, 2, "first-life"), 0);
  const std::string old_id = identity_id("t-0");
  conns_.clear();
  stop_broker();
  ASSERT_TRUE(platform::create_dirs(dir_.file("backup")).ok());
  std::filesystem::copy_file(dir_.file("meta.db"), dir_.file("backup/meta.db"));
  start_broker();
  ASSERT_EQ(delete_topic("t"), 0);
  ASSERT_EQ(create_topic("t", 1).topics.at(0).error_code, 0);
  ASSERT_GE(produce("t", 0, 3, "second-life"), 0);
  const std::string new_id = identity_id("t-0");
  ASSERT_NE(new_id, old_id);
  conns_.clear();
  stop_broker();
  remove_meta_db();
  std::filesystem::copy_file(dir_.file("backup/meta.db"), dir_.file("meta.db"));
  {
    ferry::test::LogCapture logs;
    start_broker();
    EXPECT_TRUE(logs.saw("holds topic t with id " + new_id + ", but the topic t has id " + old_id))
        << "no quarantine warning";
  }
  // The stale meta.db's topic starts empty under its own id; the newer files are kept aside.
  EXPECT_EQ(fetch_all("t", 0), std::vector<std::string>{});
  EXPECT_EQ(identity_id("t-0"), old_id);
  const std::string stray = "logs/t-0." + new_id + "-stray";
  EXPECT_TRUE(platform::exists(dir_.file(stray + "/00000000000000000000.log")));
  auto kept = platform::file_size(dir_.file(stray + "/00000000000000000000.log"));
  ASSERT_TRUE(kept.ok());
  EXPECT_GT(*kept, 0u);
  restart();  // quarantined data stays where it is
  EXPECT_TRUE(platform::exists(dir_.file(stray + "/00000000000000000000.log")));
}

TEST_F(MetadataLossTest, ADeletedTopicsTombstoneIsRemovedAndNeverAdopted) {
  ASSERT_EQ(create_topic("gone", 2).topics.at(0).error_code, 0);
  ASSERT_GE(produce("gone", 0, 2, "g"), 0);
  ASSERT_EQ(delete_topic("gone"), 0);
  // The tombstones are removed on the thread pool; a crash before that leaves them behind.
  EXPECT_TRUE(run_until([&] {
    auto names = platform::list_dir(dir_.file("logs"));
    return names.ok() && names->empty();
  }));
  restart();
  EXPECT_TRUE(topics_in_metadata().empty());
}

}  // namespace
}  // namespace ferry::broker::test
