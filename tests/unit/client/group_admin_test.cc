// GroupAdmin against scripted in-process brokers (ListOffsets grouped per leader, a coordinator
// that moved and is found again, retries running out) and against an in-process ferry broker
// (offsets committed, read back, groups listed, described and deleted, offsets by position and
// by time).
#include "client/group_admin.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/sync.h"
#include "unit/client/broker_client_test.h"
#include "unit/client/fake_broker.h"
#include "unit/client/loop_test.h"

namespace ferry::client {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;
using namespace test;  // FakeBroker, the fixtures, encode and decode

// A node of a two-node cluster with topic "t" (partitions 0 and 2 led by node 1, partition 1 by
// node 2) that is its own group coordinator. Requests other than Metadata and FindCoordinator
// go to `on`, keyed by API.
struct ScriptedNode {
  using Answer = std::function<std::optional<std::vector<std::byte>>(
      int16_t version, std::span<const std::byte> body)>;

  ScriptedNode(uv_loop_t* loop, int32_t id) : broker(loop), node_id(id) {
    broker.versions = {
        {int16_t(ApiKey::metadata), {0, 8}},      {int16_t(ApiKey::find_coordinator), {0, 3}},
        {int16_t(ApiKey::list_offsets), {1, 5}},  {int16_t(ApiKey::offset_fetch), {0, 6}},
        {int16_t(ApiKey::offset_commit), {0, 8}}, {int16_t(ApiKey::describe_groups), {0, 5}},
        {int16_t(ApiKey::delete_groups), {0, 2}}, {int16_t(ApiKey::list_groups), {0, 3}}};
    broker.handler = [this](const protocol::RequestHeader& h, std::span<const std::byte> body) {
      return handle(h, body);
    };
  }

  std::optional<std::vector<std::byte>> handle(const protocol::RequestHeader& h,
                                               std::span<const std::byte> body) {
    const auto key = static_cast<ApiKey>(h.api_key);
    const int16_t v = h.api_version;
    ++seen[key];
    if (key == ApiKey::metadata) {
      protocol::MetadataResponse resp;
      resp.brokers.push_back({1, "127.0.0.1", node_id == 1 ? broker.port : peer_port, {}});
      resp.brokers.push_back({2, "127.0.0.1", node_id == 2 ? broker.port : peer_port, {}});
      resp.controller_id = 1;
      auto req = decode<protocol::MetadataRequest>(body, key, v);
      if (req.topics && !req.topics->empty()) {
        protocol::MetadataResponse::Topic t;
        t.name = "t";
        for (int32_t p = 0; p < 3; ++p) {
          protocol::MetadataResponse::Topic::Partition part;
          part.partition_index = p;
          part.leader_id = p == 1 ? 2 : 1;
          part.replica_nodes = {part.leader_id};
          part.isr_nodes = {part.leader_id};
          t.partitions.push_back(part);
        }
        resp.topics.push_back(std::move(t));
      }
      return encode(resp, key, v);
    }
    if (key == ApiKey::find_coordinator) {
      protocol::FindCoordinatorResponse resp;
      resp.node_id = node_id;
      resp.host = "127.0.0.1";
      resp.port = broker.port;
      return encode(resp, key, v);
    }
    auto it = on.find(key);
    if (it == on.end()) return std::nullopt;
    return it->second(v, body);
  }

  size_t count(ApiKey key) const {
    auto it = seen.find(key);
    return it == seen.end() ? 0 : it->second;
  }

  FakeBroker broker;
  int32_t node_id;
  uint16_t peer_port = 0;
  std::map<ApiKey, Answer> on;
  std::map<ApiKey, size_t> seen;
};

class GroupAdminTest : public test::CallTest {
 protected:
  static GroupAdminOptions fast() {
    GroupAdminOptions o;
    o.retry_backoff_ms = 10;
    return o;
  }
};

TEST_F(GroupAdminTest, ListOffsetsAsksEachLeaderOnceAndKeepsPartitionErrors) {
  ScriptedNode n1(&loop_, 1);
  ScriptedNode n2(&loop_, 2);
  n1.peer_port = n2.broker.port;
  n2.peer_port = n1.broker.port;
  std::vector<std::vector<int32_t>> asked1, asked2;
  auto answer = [](ScriptedNode& node, std::vector<std::vector<int32_t>>& asked) {
    return [&node, &asked](int16_t v, std::span<const std::byte> body) {
      auto req = decode<protocol::ListOffsetsRequest>(body, ApiKey::list_offsets, v);
      protocol::ListOffsetsResponse resp;
      std::vector<int32_t> parts;
      for (const auto& t : req.topics) {
        protocol::ListOffsetsResponse::Topic rt;
        rt.name = t.name;
        for (const auto& p : t.partitions) {
          parts.push_back(p.partition_index);
          protocol::ListOffsetsResponse::Topic::Partition rp;
          rp.partition_index = p.partition_index;
          if (p.partition_index == 2) {
            rp.error_code = protocol::wire(ErrorCode::not_leader_or_follower);
          } else {
            rp.offset = node.node_id * 10 + p.partition_index;
            rp.timestamp = p.timestamp;
          }
          rt.partitions.push_back(rp);
        }
        resp.topics.push_back(std::move(rt));
      }
      asked.push_back(parts);
      return encode(resp, ApiKey::list_offsets, v);
    };
  };
  n1.on[ApiKey::list_offsets] = answer(n1, asked1);
  n2.on[ApiKey::list_offsets] = answer(n2, asked2);
  {
    Client client(&loop_, "127.0.0.1", n1.broker.port, options());
    GroupAdmin admin(client, fast());
    auto r = run<std::map<TopicPartition, ListedOffset>>([&](auto done) {
      admin.list_offsets({{{"t", 0}, OffsetSpec::latest()},
                          {{"t", 1}, OffsetSpec::earliest()},
                          {{"t", 2}, OffsetSpec::at_time(1234)},
                          {{"t", 7}, OffsetSpec::latest()}},
                         std::move(done));
    });
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_EQ(r->size(), 4u);
    EXPECT_FALSE(r->at({"t", 0}).error);
    EXPECT_EQ(r->at({"t", 0}).offset.value(), 10);
    EXPECT_FALSE(r->at({"t", 1}).error);
    EXPECT_EQ(r->at({"t", 1}).offset.value(), 21);
    ASSERT_TRUE(r->at({"t", 2}).error);
    EXPECT_EQ(r->at({"t", 2}).error->code(), ErrorCode::not_leader_or_follower);
    ASSERT_TRUE(r->at({"t", 7}).error);
    EXPECT_EQ(r->at({"t", 7}).error->code(), ErrorCode::unknown_topic_or_partition);
    EXPECT_EQ(asked1, (std::vector<std::vector<int32_t>>{{0, 2}}));
    EXPECT_EQ(asked2, (std::vector<std::vector<int32_t>>{{1}}));
    client.close();
  }
}

TEST_F(GroupAdminTest, ACoordinatorThatMovedIsFoundAgain) {
  ScriptedNode n(&loop_, 1);
  int fetches = 0;
  n.on[ApiKey::offset_fetch] = [&](int16_t v, std::span<const std::byte>) {
    protocol::OffsetFetchResponse resp;
    if (fetches++ == 0) {
      resp.error_code = protocol::wire(ErrorCode::not_coordinator);
    } else {
      protocol::OffsetFetchResponse::Topic t;
      t.name = "t";
      protocol::OffsetFetchResponse::Topic::Partition p;
      p.partition_index = 1;
      p.committed_offset = 42;
      t.partitions.push_back(p);
      resp.topics.push_back(t);
    }
    return encode(resp, ApiKey::offset_fetch, v);
  };
  int describes = 0;
  n.on[ApiKey::describe_groups] = [&](int16_t v, std::span<const std::byte> body) {
    auto req = decode<protocol::DescribeGroupsRequest>(body, ApiKey::describe_groups, v);
    protocol::DescribeGroupsResponse resp;
    protocol::DescribeGroupsResponse::Group g;
    g.group_id = req.groups.at(0);
    if (describes++ == 0) {
      g.error_code = protocol::wire(ErrorCode::coordinator_not_available);
    } else {
      g.group_state = "Empty";
      g.protocol_type = "consumer";
    }
    resp.groups.push_back(g);
    return encode(resp, ApiKey::describe_groups, v);
  };
  {
    Client client(&loop_, "127.0.0.1", n.broker.port, options());
    GroupAdmin admin(client, fast());
    auto offsets = run<std::map<TopicPartition, CommittedOffset>>(
        [&](auto done) { admin.committed_offsets("g", std::nullopt, std::move(done)); });
    ASSERT_TRUE(offsets.ok()) << offsets.error().to_string();
    ASSERT_EQ(offsets->size(), 1u);
    EXPECT_EQ(offsets->at({"t", 1}).offset.value(), 42);
    EXPECT_EQ(fetches, 2);
    EXPECT_EQ(n.count(ApiKey::find_coordinator), 2u);

    auto described = run<std::vector<GroupDescription>>(
        [&](auto done) { admin.describe_groups({"g"}, std::move(done)); });
    ASSERT_TRUE(described.ok()) << described.error().to_string();
    ASSERT_EQ(described->size(), 1u);
    EXPECT_FALSE((*described)[0].error);
    EXPECT_EQ((*described)[0].state, "Empty");
    EXPECT_EQ(describes, 2);
    EXPECT_EQ(n.count(ApiKey::find_coordinator), 3u);  // the cached one, then a new lookup
    client.close();
  }
}

TEST_F(GroupAdminTest, WhenRetriesRunOutTheErrorIsReported) {
  ScriptedNode n(&loop_, 1);
  n.on[ApiKey::offset_fetch] = [&](int16_t v, std::span<const std::byte>) {
    protocol::OffsetFetchResponse resp;
    resp.error_code = protocol::wire(ErrorCode::coordinator_load_in_progress);
    return encode(resp, ApiKey::offset_fetch, v);
  };
  n.on[ApiKey::offset_commit] = [&](int16_t v, std::span<const std::byte> body) {
    auto req = decode<protocol::OffsetCommitRequest>(body, ApiKey::offset_commit, v);
    protocol::OffsetCommitResponse resp;
    for (const auto& t : req.topics) {
      protocol::OffsetCommitResponse::Topic rt;
      rt.name = t.name;
      for (const auto& p : t.partitions)
        rt.partitions.push_back({p.partition_index, protocol::wire(ErrorCode::not_coordinator)});
      resp.topics.push_back(rt);
    }
    return encode(resp, ApiKey::offset_commit, v);
  };
  {
    Client client(&loop_, "127.0.0.1", n.broker.port, options());
    GroupAdmin admin(client, fast());
    auto offsets = run<std::map<TopicPartition, CommittedOffset>>([&](auto done) {
      admin.committed_offsets("g", std::vector<TopicPartition>{{"t", 0}}, std::move(done));
    });
    ASSERT_FALSE(offsets.ok());
    EXPECT_EQ(offsets.error().code(), ErrorCode::coordinator_load_in_progress);
    EXPECT_EQ(n.count(ApiKey::offset_fetch), 4u);  // the first attempt and three retries
    EXPECT_EQ(n.count(ApiKey::find_coordinator), 4u);

    auto committed = run<std::map<TopicPartition, std::optional<KafkaError>>>([&](auto done) {
      admin.alter_committed_offsets("g", {{{"t", 0}, Offset(5)}, {{"t", 1}, Offset(6)}},
                                    std::move(done));
    });
    ASSERT_TRUE(committed.ok()) << committed.error().to_string();
    ASSERT_EQ(committed->size(), 2u);
    ASSERT_TRUE(committed->at({"t", 0}));
    EXPECT_EQ(committed->at({"t", 0})->code(), ErrorCode::not_coordinator);
    EXPECT_EQ(n.count(ApiKey::offset_commit), 4u);
    client.close();
  }
}

// ---- against an in-process ferry broker ------------------------------------------------------

class GroupAdminBrokerTest : public test::BrokerClientTest {
 protected:
  void close_clients() override {
    if (client_) {
      client_->close();
      client_.reset();
    }
  }

  // Produces `n` records to topic/partition, the i-th stamped kBase + i seconds.
  void produce(const std::string& topic, int32_t partition, int n) {
    std::vector<std::string> values;
    for (int i = 0; i < n; ++i) values.push_back("v" + std::to_string(i));
    std::vector<protocol::RecordInput> in;
    for (int i = 0; i < n; ++i) {
      protocol::RecordInput r;
      r.value = values[static_cast<size_t>(i)];
      r.timestamp_ms = kBase + int64_t{i} * 1000;
      in.push_back(r);
    }
    produce_records(topic, partition, in);
  }

  GroupAdmin& admin() {
    ConnectionOptions o;
    o.connect_timeout_ms = 5000;
    o.request_timeout_ms = 10000;
    client_ = std::make_unique<Client>(&loop_, "127.0.0.1", broker_->port(), o);
    admin_ = std::make_unique<GroupAdmin>(*client_);
    return *admin_;
  }

  template <typename T, typename Start>
  KafkaResult<T> run(Start&& start) {
    return run_until_done<T>(&loop_, std::forward<Start>(start));
  }

  static constexpr int64_t kBase = 1'700'000'000'000;
  std::unique_ptr<Client> client_;
  std::unique_ptr<GroupAdmin> admin_;
};

std::vector<std::string> ids(const std::vector<GroupListing>& groups) {
  std::vector<std::string> out;
  for (const auto& g : groups) out.push_back(g.group_id);
  return out;
}

TEST_F(GroupAdminBrokerTest, OffsetsAndGroupsOnAFerryBroker) {
  create_topic("it", 2);
  produce("it", 0, 3);
  produce("it", 1, 2);
  auto& a = admin();
  using Offsets = std::map<TopicPartition, ListedOffset>;

  auto earliest = run<Offsets>([&](auto done) {
    a.list_offsets({{{"it", 0}, OffsetSpec::earliest()}, {{"it", 1}, OffsetSpec::earliest()}},
                   std::move(done));
  });
  ASSERT_TRUE(earliest.ok()) << earliest.error().to_string();
  EXPECT_EQ(earliest->at({"it", 0}).offset.value(), 0);
  EXPECT_EQ(earliest->at({"it", 1}).offset.value(), 0);
  auto latest = run<Offsets>([&](auto done) {
    a.list_offsets({{{"it", 0}, OffsetSpec::latest()}, {{"it", 1}, OffsetSpec::latest()}},
                   std::move(done));
  });
  ASSERT_TRUE(latest.ok()) << latest.error().to_string();
  EXPECT_EQ(latest->at({"it", 0}).offset.value(), 3);
  EXPECT_EQ(latest->at({"it", 1}).offset.value(), 2);
  auto by_time = run<Offsets>([&](auto done) {
    a.list_offsets({{{"it", 0}, OffsetSpec::at_time(kBase + 1000)},
                    {{"it", 1}, OffsetSpec::at_time(kBase + 60'000)}},
                   std::move(done));
  });
  ASSERT_TRUE(by_time.ok()) << by_time.error().to_string();
  EXPECT_FALSE(by_time->at({"it", 0}).error);
  EXPECT_EQ(by_time->at({"it", 0}).offset.value(), 1);
  EXPECT_EQ(by_time->at({"it", 0}).timestamp, kBase + 1000);
  EXPECT_FALSE(by_time->at({"it", 1}).error);
  EXPECT_EQ(by_time->at({"it", 1}).offset.value(), -1);  // no record that late

  auto committed = run<std::map<TopicPartition, std::optional<KafkaError>>>([&](auto done) {
    a.alter_committed_offsets("g1", {{{"it", 0}, Offset(2)}, {{"it", 1}, Offset(1)}},
                              std::move(done));
  });
  ASSERT_TRUE(committed.ok()) << committed.error().to_string();
  ASSERT_EQ(committed->size(), 2u);
  EXPECT_FALSE(committed->at({"it", 0}));
  EXPECT_FALSE(committed->at({"it", 1}));

  auto all = run<std::map<TopicPartition, CommittedOffset>>(
      [&](auto done) { a.committed_offsets("g1", std::nullopt, std::move(done)); });
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at({"it", 0}).offset.value(), 2);
  EXPECT_EQ(all->at({"it", 1}).offset.value(), 1);
  auto one = run<std::map<TopicPartition, CommittedOffset>>([&](auto done) {
    a.committed_offsets("g1", std::vector<TopicPartition>{{"it", 1}}, std::move(done));
  });
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->at({"it", 1}).offset.value(), 1);
  EXPECT_FALSE(one->at({"it", 1}).error);

  auto listed = run<std::vector<GroupListing>>([&](auto done) { a.list_groups(std::move(done)); });
  ASSERT_TRUE(listed.ok()) << listed.error().to_string();
  EXPECT_EQ(ids(*listed), std::vector<std::string>{"g1"});

  auto described = run<std::vector<GroupDescription>>(
      [&](auto done) { a.describe_groups({"g1"}, std::move(done)); });
  ASSERT_TRUE(described.ok()) << described.error().to_string();
  ASSERT_EQ(described->size(), 1u);
  EXPECT_EQ((*described)[0].group_id, "g1");
  EXPECT_FALSE((*described)[0].error);
  EXPECT_EQ((*described)[0].state, "Empty");
  EXPECT_TRUE((*described)[0].members.empty());

  auto deleted = run<std::vector<GroupOutcome>>([&](auto done) {
    a.delete_groups({"g1", "nope"}, std::move(done));
  });
  ASSERT_TRUE(deleted.ok()) << deleted.error().to_string();
  ASSERT_EQ(deleted->size(), 2u);
  EXPECT_EQ((*deleted)[0].group_id, "g1");
  EXPECT_FALSE((*deleted)[0].error);
  ASSERT_TRUE((*deleted)[1].error);
  EXPECT_EQ((*deleted)[1].error->code(), ErrorCode::group_id_not_found);

  auto after = run<std::vector<GroupListing>>([&](auto done) { a.list_groups(std::move(done)); });
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  EXPECT_TRUE(after->empty());
}

}  // namespace
}  // namespace ferry::client
