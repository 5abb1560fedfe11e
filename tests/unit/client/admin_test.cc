// Admin against in-process scripted brokers on the test's loop: a small topic table that
// CreateTopics, CreatePartitions, DeleteTopics, Metadata and DescribeConfigs act on, and the
// routing of the controller's requests (to the node Metadata names; to the bootstrap broker when
// Metadata v0 names none).
#include "client/admin.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/sync.h"
#include "unit/client/fake_broker.h"
#include "unit/client/loop_test.h"

namespace ferry::client {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;
using namespace test;  // FakeBroker, the fixtures, encode and decode

// One node's view of a one-topic-table cluster. The node answers Metadata naming itself (and the
// `controller` node at `controller_port`), and, when it holds the table, the admin requests.
struct FakeNode {
  explicit FakeNode(uv_loop_t* loop, int32_t id) : broker(loop), node_id(id) {
    broker.versions = {{int16_t(ApiKey::metadata), {0, 8}},
                       {int16_t(ApiKey::create_topics), {0, 4}},
                       {int16_t(ApiKey::delete_topics), {0, 3}},
                       {int16_t(ApiKey::create_partitions), {0, 1}},
                       {int16_t(ApiKey::describe_configs), {0, 3}}};
    broker.handler = [this](const protocol::RequestHeader& h, std::span<const std::byte> body) {
      return handle(h, body);
    };
  }

  std::optional<std::vector<std::byte>> handle(const protocol::RequestHeader& h,
                                               std::span<const std::byte> body) {
    const auto key = static_cast<ApiKey>(h.api_key);
    const int16_t v = h.api_version;
    seen.push_back(key);
    switch (key) {
      case ApiKey::metadata: {
        auto req = decode<protocol::MetadataRequest>(body, key, v);
        protocol::MetadataResponse resp;
        resp.brokers.push_back({node_id, "127.0.0.1", broker.port, std::nullopt});
        if (controller >= 0 && controller != node_id)
          resp.brokers.push_back({controller, "127.0.0.1", controller_port, std::nullopt});
        resp.controller_id = controller;
        std::vector<std::string> names;
        if (!req.topics || (v == 0 && req.topics->empty())) {
          for (const auto& [name, n] : topics) names.push_back(name);
        } else {
          for (const auto& t : *req.topics) names.push_back(t.name);
        }
        for (const auto& name : names) {
          protocol::MetadataResponse::Topic t;
          t.name = name;
          auto it = topics.find(name);
          if (it == topics.end()) {
            t.error_code = protocol::wire(ErrorCode::unknown_topic_or_partition);
          } else {
            for (int32_t p = it->second - 1; p >= 0; --p) {  // out of order on purpose
              protocol::MetadataResponse::Topic::Partition part;
              part.partition_index = p;
              part.leader_id = node_id;
              part.replica_nodes = {node_id};
              part.isr_nodes = {node_id};
              t.partitions.push_back(part);
            }
          }
          resp.topics.push_back(std::move(t));
        }
        return encode(resp, key, v);
      }
      case ApiKey::create_topics: {
        auto req = decode<protocol::CreateTopicsRequest>(body, key, v);
        protocol::CreateTopicsResponse resp;
        for (const auto& t : req.topics) {
          protocol::CreateTopicsResponse::Topic r;
          r.name = t.name;
          if (topics.count(t.name) != 0) {
            r.error_code = protocol::wire(ErrorCode::topic_already_exists);
            r.error_message = "Topic '" + t.name + "' already exists.";
          } else if (!req.validate_only) {
            topics[t.name] = t.num_partitions == -1 ? 1 : t.num_partitions;
            for (const auto& c : t.configs) configs[t.name][c.name] = c.value.value_or("");
          }
          resp.topics.push_back(std::move(r));
        }
        return encode(resp, key, v);
      }
      case ApiKey::create_partitions: {
        auto req = decode<protocol::CreatePartitionsRequest>(body, key, v);
        protocol::CreatePartitionsResponse resp;
        for (const auto& t : req.topics) {
          protocol::CreatePartitionsResponse::Result r;
          r.name = t.name;
          auto it = topics.find(t.name);
          if (it == topics.end()) {
            r.error_code = protocol::wire(ErrorCode::unknown_topic_or_partition);
          } else if (t.count <= it->second) {
            r.error_code = protocol::wire(ErrorCode::invalid_partitions);
            r.error_message = "Topic currently has " + std::to_string(it->second) + " partitions.";
          } else if (!req.validate_only) {
            it->second = t.count;
          }
          resp.results.push_back(std::move(r));
        }
        return encode(resp, key, v);
      }
      case ApiKey::delete_topics: {
        auto req = decode<protocol::DeleteTopicsRequest>(body, key, v);
        protocol::DeleteTopicsResponse resp;
        for (const auto& name : req.topic_names) {
          protocol::DeleteTopicsResponse::Result r;
          r.name = name;
          if (topics.erase(name) == 0) {
            r.error_code = protocol::wire(ErrorCode::unknown_topic_or_partition);
          } else {
            configs.erase(name);
          }
          resp.responses.push_back(std::move(r));
        }
        return encode(resp, key, v);
      }
      case ApiKey::describe_configs: {
        auto req = decode<protocol::DescribeConfigsRequest>(body, key, v);
        protocol::DescribeConfigsResponse resp;
        for (const auto& res : req.resources) {
          protocol::DescribeConfigsResponse::Result r;
          r.resource_type = res.resource_type;
          r.resource_name = res.resource_name;
          if (topics.count(res.resource_name) == 0) {
            r.error_code = protocol::wire(ErrorCode::unknown_topic_or_partition);
          } else {
            const auto& set = configs[res.resource_name];
            for (const char* name : {"cleanup.policy", "retention.ms"}) {
              protocol::DescribeConfigsResponse::Result::Config c;
              c.name = name;
              auto it = set.find(name);
              c.value = it != set.end()
                            ? it->second
                            : (std::string(name) == "retention.ms" ? "604800000" : "delete");
              c.is_default = it == set.end();
              c.config_source = int8_t(it == set.end() ? 5 : 1);
              r.configs.push_back(std::move(c));
            }
          }
          resp.results.push_back(std::move(r));
        }
        return encode(resp, key, v);
      }
      default: return std::nullopt;
    }
  }

  FakeBroker broker;
  int32_t node_id;
  int32_t controller = -1;
  uint16_t controller_port = 0;
  std::map<std::string, int32_t> topics;  // name -> partition count
  std::map<std::string, std::map<std::string, std::string>> configs;
  std::vector<ApiKey> seen;
};

using AdminTest = test::CallTest;

size_t count(const std::vector<ApiKey>& seen, ApiKey key) {
  return static_cast<size_t>(std::count(seen.begin(), seen.end(), key));
}

TEST_F(AdminTest, CreateDescribeGrowAndDelete) {
  FakeNode node(&loop_, 1);
  node.controller = 1;
  {
    Client client(&loop_, "127.0.0.1", node.broker.port, options());
    Admin admin(client);

    auto created = run<std::vector<TopicOutcome>>([&](auto done) {
      admin.create_topics({{"orders", 3, 1, {{"retention.ms", "3600000"}}}}, false,
                          std::move(done));
    });
    ASSERT_TRUE(created.ok()) << created.error().to_string();
    ASSERT_EQ(created->size(), 1u);
    EXPECT_EQ((*created)[0].name, "orders");
    EXPECT_FALSE((*created)[0].error);
    EXPECT_EQ(node.topics["orders"], 3);

    auto again = run<std::vector<TopicOutcome>>([&](auto done) {
      admin.create_topics({{"orders", 3, 1, {}}}, false, std::move(done));
    });
    ASSERT_TRUE(again.ok());
    ASSERT_TRUE((*again)[0].error);
    EXPECT_EQ((*again)[0].error->code(), ErrorCode::topic_already_exists);
    EXPECT_EQ((*again)[0].error->message(), "Topic 'orders' already exists.");

    auto described = run<std::vector<TopicDescription>>([&](auto done) {
      admin.describe_topics(std::vector<std::string>{"orders", "missing"}, std::move(done));
    });
    ASSERT_TRUE(described.ok());
    ASSERT_EQ(described->size(), 2u);
    const auto& missing = (*described)[0];  // sorted by name
    EXPECT_EQ(missing.name, "missing");
    ASSERT_TRUE(missing.error);
    EXPECT_EQ(missing.error->code(), ErrorCode::unknown_topic_or_partition);
    const auto& orders = (*described)[1];
    EXPECT_FALSE(orders.error);
    ASSERT_EQ(orders.partitions.size(), 3u);
    for (int32_t p = 0; p < 3; ++p) {
      EXPECT_EQ(orders.partitions[static_cast<size_t>(p)].partition, p);
      EXPECT_EQ(orders.partitions[static_cast<size_t>(p)].leader, 1);
      EXPECT_EQ(orders.partitions[static_cast<size_t>(p)].isr, std::vector<int32_t>{1});
    }
    EXPECT_EQ(orders.replication_factor(), 1);

    auto configs = run<std::vector<TopicConfigs>>(
        [&](auto done) { admin.describe_topic_configs({"orders"}, std::move(done)); });
    ASSERT_TRUE(configs.ok());
    ASSERT_EQ(configs->size(), 1u);
    ASSERT_EQ((*configs)[0].configs.size(), 2u);
    const auto& policy = (*configs)[0].configs[0];
    EXPECT_EQ(policy.name, "cleanup.policy");
    EXPECT_TRUE(policy.is_default);
    EXPECT_EQ(policy.source, ConfigSource::default_config);
    const auto& retention = (*configs)[0].configs[1];
    EXPECT_EQ(retention.value, "3600000");
    EXPECT_FALSE(retention.is_default);
    EXPECT_EQ(retention.source, ConfigSource::dynamic_topic);

    auto fewer = run<std::vector<TopicOutcome>>([&](auto done) {
      admin.create_partitions({{"orders", 2}}, false, std::move(done));
    });
    ASSERT_TRUE(fewer.ok());
    ASSERT_TRUE((*fewer)[0].error);
    EXPECT_EQ((*fewer)[0].error->code(), ErrorCode::invalid_partitions);
    auto grown = run<std::vector<TopicOutcome>>([&](auto done) {
      admin.create_partitions({{"orders", 5}}, false, std::move(done));
    });
    ASSERT_TRUE(grown.ok());
    EXPECT_FALSE((*grown)[0].error);
    EXPECT_EQ(node.topics["orders"], 5);

    auto deleted = run<std::vector<TopicOutcome>>([&](auto done) {
      admin.delete_topics({"orders", "missing"}, std::move(done));
    });
    ASSERT_TRUE(deleted.ok());
    ASSERT_EQ(deleted->size(), 2u);
    EXPECT_FALSE((*deleted)[0].error);
    ASSERT_TRUE((*deleted)[1].error);
    EXPECT_EQ((*deleted)[1].error->code(), ErrorCode::unknown_topic_or_partition);

    auto listed = run<std::vector<std::string>>(
        [&](auto done) { admin.list_topics(false, std::move(done)); });
    ASSERT_TRUE(listed.ok());
    EXPECT_TRUE(listed->empty());
    client.close();
  }
}

TEST_F(AdminTest, ControllerRequestsGoToTheControllerNamedByMetadata) {
  FakeNode controller(&loop_, 2);
  controller.controller = 2;
  FakeNode bootstrap(&loop_, 1);
  bootstrap.controller = 2;
  bootstrap.controller_port = controller.broker.port;
  {
    Client client(&loop_, "127.0.0.1", bootstrap.broker.port, options());
    Admin admin(client);
    auto created = run<std::vector<TopicOutcome>>([&](auto done) {
      admin.create_topics({{"t", 1, 1, {}}}, false, std::move(done));
    });
    ASSERT_TRUE(created.ok()) << created.error().to_string();
    EXPECT_FALSE((*created)[0].error);
    EXPECT_EQ(controller.topics.count("t"), 1u);
    EXPECT_EQ(count(bootstrap.seen, ApiKey::create_topics), 0u);
    EXPECT_EQ(count(controller.seen, ApiKey::create_topics), 1u);

    auto deleted = run<std::vector<TopicOutcome>>(
        [&](auto done) { admin.delete_topics({"t"}, std::move(done)); });
    ASSERT_TRUE(deleted.ok());
    EXPECT_EQ(count(controller.seen, ApiKey::delete_topics), 1u);
    EXPECT_TRUE(controller.topics.empty());
    client.close();
  }
}

TEST_F(AdminTest, WithoutAControllerInMetadataV0TheBootstrapBrokerIsAsked) {
  FakeNode node(&loop_, 1);
  node.broker.versions[int16_t(ApiKey::metadata)] = {0, 0};
  {
    Client client(&loop_, "127.0.0.1", node.broker.port, options());
    Admin admin(client);
    auto created = run<std::vector<TopicOutcome>>([&](auto done) {
      admin.create_topics({{"t", 2, 1, {}}}, true, std::move(done));
    });
    ASSERT_TRUE(created.ok()) << created.error().to_string();
    EXPECT_FALSE((*created)[0].error);
    EXPECT_EQ(count(node.seen, ApiKey::create_topics), 1u);
    EXPECT_TRUE(node.topics.empty()) << "validate_only created the topic";
    client.close();
  }
}

TEST_F(AdminTest, AnUnreachableBrokerIsANetworkError) {
  uint16_t port = 0;
  {
    FakeBroker gone(&loop_);  // a port nothing listens on once it is gone
    port = gone.port;
  }
  Client client(&loop_, "127.0.0.1", port, options());
  Admin admin(client);
  auto r =
      run<std::vector<std::string>>([&](auto done) { admin.list_topics(false, std::move(done)); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::network_exception);
  client.close();
}

}  // namespace
}  // namespace ferry::client
