// The authorization check point on a running broker, over the wire, as User:ANONYMOUS (the
// principal of every plaintext session): ACLs created with CreateAcls while the authorizer is
// off, then the broker restarted with `authorizer.enabled` (so every test also shows that
// ACLs survive a restart). Per-API rules: Produce WRITE (a denied topic stores nothing),
// Fetch READ, Metadata DESCRIBE (hidden topics, no auto-creation without CREATE), JoinGroup
// READ on the group, the ACL APIs' CLUSTER permissions, DENY over a prefixed ALLOW.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "broker/authz/acl.h"
#include "broker_fixture.h"

namespace ferry::broker {
namespace {

using namespace protocol;
using authz::Operation;
using authz::PatternType;
using authz::Permission;
using authz::ResourceType;

constexpr int16_t kTopicDenied = 29;
constexpr int16_t kGroupDenied = 30;
constexpr int16_t kClusterDenied = 31;

class AclCheckTest : public test::BrokerFixture {
 protected:
  void configure(config::BrokerConfig& c) override {
    c.authorizer_enabled = enabled_;
    c.super_users = super_;
  }

  // Creates ACLs for User:ANONYMOUS with CreateAcls v1; every one must succeed.
  void allow(ResourceType type, const std::string& name, Operation op,
             PatternType pattern = PatternType::literal, Permission perm = Permission::allow) {
    CreateAclsRequest req;
    req.creations.push_back({static_cast<int8_t>(type), name, static_cast<int8_t>(pattern),
                             "User:ANONYMOUS", "*", static_cast<int8_t>(op),
                             static_cast<int8_t>(perm)});
    auto resp = call<CreateAclsResponse>(ApiKey::create_acls, 1, req);
    ASSERT_EQ(resp.results.size(), 1u);
    ASSERT_EQ(resp.results[0].error_code, 0) << resp.results[0].error_message.value_or("");
  }
  void deny(ResourceType type, const std::string& name, Operation op) {
    allow(type, name, op, PatternType::literal, Permission::deny);
  }

  // Restarts the broker with the authorizer on.
  void enable() {
    conns_.clear();
    stop_broker();
    enabled_ = true;
    start_broker();
  }

  ProduceRequest produce_request(const std::vector<std::string>& topics) {
    ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 5000;
    for (const auto& t : topics) {
      batches_.push_back(ferry::test::make_batch(2, t));
      req.topic_data.push_back({t, {{0, RecordsRef{std::span<const std::byte>(batches_.back())}}}});
    }
    return req;
  }
  int16_t produce_error(const ProduceResponse& resp, const std::string& topic) {
    for (const auto& t : resp.responses) {
      if (t.name == topic && !t.partition_responses.empty()) {
        return t.partition_responses[0].error_code;
      }
    }
    ADD_FAILURE() << "no answer for " << topic;
    return -2;
  }
  int64_t log_end(const std::string& topic) {
    auto p = broker_->topics().partition(topic, 0);
    return p ? p->log_end_offset().value() : -1;
  }

  bool enabled_ = false;
  std::string super_;
  std::vector<std::vector<std::byte>> batches_;
};

TEST_F(AclCheckTest, ProduceToATopicWithoutWriteIsDeniedAndStoresNothing) {
  ASSERT_EQ(create_topic("a", 1).topics.at(0).error_code, 0);
  ASSERT_EQ(create_topic("b", 1).topics.at(0).error_code, 0);
  allow(ResourceType::topic, "a", Operation::write);
  allow(ResourceType::topic, "b", Operation::describe);
  enable();

  auto resp = call<ProduceResponse>(ApiKey::produce, 8, produce_request({"a", "b"}));
  ASSERT_EQ(resp.responses.size(), 2u);
  EXPECT_EQ(produce_error(resp, "a"), 0);
  EXPECT_EQ(produce_error(resp, "b"), kTopicDenied);
  EXPECT_EQ(log_end("a"), 2);
  EXPECT_EQ(log_end("b"), 0) << "a denied Produce must store nothing";
  // Only b: the whole request is denied, still answered per partition.
  resp = call<ProduceResponse>(ApiKey::produce, 3, produce_request({"b"}));
  EXPECT_EQ(produce_error(resp, "b"), kTopicDenied);
  EXPECT_EQ(log_end("b"), 0);
  // Fetch needs READ, which WRITE does not give.
  auto f = call<FetchResponse>(ApiKey::fetch, 11, fetch_request("a", 0, 0, 5000));
  ASSERT_EQ(f.responses.size(), 1u);
  EXPECT_EQ(f.responses[0].partitions.at(0).error_code, kTopicDenied);
}

TEST_F(AclCheckTest, MetadataHidesTopicsThatMayNotBeDescribed) {
  for (const char* t : {"seen", "written", "hidden"}) {
    ASSERT_EQ(create_topic(t, 1).topics.at(0).error_code, 0);
  }
  allow(ResourceType::topic, "seen", Operation::describe);
  allow(ResourceType::topic, "written", Operation::write);  // implies DESCRIBE
  enable();

  MetadataRequest all;
  all.topics.reset();
  auto md = call<MetadataResponse>(ApiKey::metadata, 8, all);
  std::vector<std::string> names;
  for (const auto& t : md.topics) names.push_back(t.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"seen", "written"}));
  EXPECT_EQ(md.brokers.size(), 1u);

  MetadataRequest some;
  some.topics = std::vector<MetadataRequest::Topic>{{"hidden"}, {"seen"}, {"brand-new"}};
  some.allow_auto_topic_creation = true;
  md = call<MetadataResponse>(ApiKey::metadata, 8, some);
  ASSERT_EQ(md.topics.size(), 3u);
  for (const auto& t : md.topics) {
    EXPECT_EQ(t.error_code, t.name == "seen" ? 0 : kTopicDenied) << t.name;
  }
  EXPECT_EQ(broker_->topics().find("brand-new"), nullptr) << "auto-created without CREATE";
  // v0: every name denied leaves an empty list, which v0 reads as "every topic"; the answer
  // must still name only the denied topic.
  MetadataRequest v0;
  v0.topics = std::vector<MetadataRequest::Topic>{{"hidden"}};
  md = call<MetadataResponse>(ApiKey::metadata, 0, v0);
  ASSERT_EQ(md.topics.size(), 1u);
  EXPECT_EQ(md.topics[0].name, "hidden");
  EXPECT_EQ(md.topics[0].error_code, kTopicDenied);
  EXPECT_EQ(md.brokers.size(), 1u);
}

TEST_F(AclCheckTest, JoinGroupNeedsReadOnTheGroup) {
  allow(ResourceType::group, "allowed", Operation::read);
  enable();
  JoinGroupRequest req;
  req.group_id = "other";
  req.session_timeout_ms = 10000;
  req.rebalance_timeout_ms = 10000;
  req.protocol_type = "consumer";
  req.protocols.push_back({"range", {}});
  auto resp = call<JoinGroupResponse>(ApiKey::join_group, 4, req);
  EXPECT_EQ(resp.error_code, kGroupDenied);
  req.group_id = "allowed";
  resp = call<JoinGroupResponse>(ApiKey::join_group, 4, req);
  EXPECT_NE(resp.error_code, kGroupDenied);
  // FindCoordinator needs DESCRIBE, which READ implies.
  FindCoordinatorRequest fc;
  fc.key = "other";
  EXPECT_EQ(call<FindCoordinatorResponse>(ApiKey::find_coordinator, 2, fc).error_code,
            kGroupDenied);
  fc.key = "allowed";
  EXPECT_EQ(call<FindCoordinatorResponse>(ApiKey::find_coordinator, 2, fc).error_code, 0);
}

TEST_F(AclCheckTest, DenyOverridesAPrefixedAllow) {
  for (const char* t : {"plant.line1", "plant.secret"}) {
    ASSERT_EQ(create_topic(t, 1).topics.at(0).error_code, 0);
  }
  allow(ResourceType::topic, "plant.", Operation::all, PatternType::prefixed);
  deny(ResourceType::topic, "plant.secret", Operation::write);
  enable();
  auto resp =
      call<ProduceResponse>(ApiKey::produce, 8, produce_request({"plant.line1", "plant.secret"}));
  EXPECT_EQ(produce_error(resp, "plant.line1"), 0);
  EXPECT_EQ(produce_error(resp, "plant.secret"), kTopicDenied);
  EXPECT_EQ(log_end("plant.secret"), 0);
  // The deny names WRITE only: reading plant.secret is still allowed by the prefixed ALL.
  auto f = call<FetchResponse>(ApiKey::fetch, 11, fetch_request("plant.secret", 0, 0));
  EXPECT_EQ(f.responses.at(0).partitions.at(0).error_code, 0);
}

TEST_F(AclCheckTest, AclApisNeedClusterPermissionsAndAclsSurviveRestart) {
  allow(ResourceType::cluster, "kafka-cluster", Operation::describe);
  allow(ResourceType::topic, "t", Operation::read);
  enable();
  // DESCRIBE on the cluster: DescribeAcls works and lists what was stored before the restart.
  DescribeAclsRequest d;
  auto listed = call<DescribeAclsResponse>(ApiKey::describe_acls, 1, d);
  EXPECT_EQ(listed.error_code, 0);
  size_t count = 0;
  for (const auto& r : listed.resources) count += r.acls.size();
  EXPECT_EQ(count, 2u);
  // No ALTER on the cluster: CreateAcls and DeleteAcls are refused and change nothing.
  CreateAclsRequest c;
  c.creations.push_back({2, "x", 3, "User:ANONYMOUS", "*", 2, 3});
  auto created = call<CreateAclsResponse>(ApiKey::create_acls, 1, c);
  ASSERT_EQ(created.results.size(), 1u);
  EXPECT_EQ(created.results[0].error_code, kClusterDenied);
  DeleteAclsRequest del;
  del.filters.push_back({});
  auto deleted = call<DeleteAclsResponse>(ApiKey::delete_acls, 1, del);
  ASSERT_EQ(deleted.filter_results.size(), 1u);
  EXPECT_EQ(deleted.filter_results[0].error_code, kClusterDenied);
  EXPECT_EQ(broker_->authorizer().size(), 2u);
}

TEST_F(AclCheckTest, SuperUsersAndDisabledAuthorizerAllowEverything) {
  ASSERT_EQ(create_topic("free", 1).topics.at(0).error_code, 0);
  auto resp = call<ProduceResponse>(ApiKey::produce, 8, produce_request({"free"}));
  EXPECT_EQ(produce_error(resp, "free"), 0) << "authorizer.enabled=false checks nothing";
  deny(ResourceType::topic, "free", Operation::all);
  conns_.clear();
  stop_broker();
  enabled_ = true;
  super_ = "User:someone; User:ANONYMOUS";
  start_broker();
  resp = call<ProduceResponse>(ApiKey::produce, 8, produce_request({"free"}));
  EXPECT_EQ(produce_error(resp, "free"), 0) << "a super user ignores ACLs";
}

}  // namespace
}  // namespace ferry::broker
