// Admin's ACL calls against an in-process ferry broker: create (one outcome per ACL, an invalid
// one refused alone), describe with filters, delete with a filter, and the refusal of a
// principal without ALTER on the cluster once the authorizer is on.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

#include "client/admin.h"
#include "client/client.h"
#include "client/sync.h"
#include "unit/client/broker_client_test.h"

namespace ferry::client {
namespace {

class AclAdminTest : public test::BrokerClientTest {
 protected:
  void configure(config::BrokerConfig& cfg) override {
    BrokerClientTest::configure(cfg);
    cfg.authorizer_enabled = enabled_;
  }
  void close_clients() override {
    admin_.reset();
    if (client_) {
      client_->close();
      client_.reset();
    }
  }
  Admin& admin() {
    ConnectionOptions o;
    o.connect_timeout_ms = 5000;
    o.request_timeout_ms = 10000;
    client_ = std::make_unique<Client>(&loop_, "127.0.0.1", broker_->port(), o);
    admin_ = std::make_unique<Admin>(*client_);
    return *admin_;
  }
  template <typename T, typename Start>
  KafkaResult<T> run(Start&& start) {
    return run_until_done<T>(&loop_, std::forward<Start>(start));
  }

  bool enabled_ = false;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Admin> admin_;
};

using protocol::ErrorCode;
using Outcomes = std::vector<std::optional<KafkaError>>;

// Every ACL (pattern type ANY; the wire default is LITERAL).
protocol::AclFilter every() {
  protocol::AclFilter f;
  f.pattern_type = 1;
  return f;
}

TEST_F(AclAdminTest, CreateDescribeDelete) {
  auto& a = admin();
  const AclEntry read{2, "orders", 3, "User:alice", "*", 3, 3};
  const AclEntry write{2, "plant.", 4, "User:bob", "10.0.0.7", 4, 2};
  const AclEntry bad{2, "x", 3, "alice", "*", 3, 3};  // no "User:"
  auto created = run<Outcomes>([&](auto done) { a.create_acls({read, write, bad}, done); });
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  ASSERT_EQ(created->size(), 3u);
  EXPECT_FALSE((*created)[0]);
  EXPECT_FALSE((*created)[1]);
  ASSERT_TRUE((*created)[2]);
  EXPECT_EQ((*created)[2]->code(), ErrorCode::invalid_request);

  auto all = run<std::vector<AclEntry>>([&](auto done) { a.describe_acls(every(), done); });
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  EXPECT_EQ(*all, (std::vector<AclEntry>{read, write}));
  protocol::AclFilter match;
  match.resource_type = 2;
  match.resource_name = "plant.line1";
  match.pattern_type = 2;  // MATCH
  auto matching = run<std::vector<AclEntry>>([&](auto done) { a.describe_acls(match, done); });
  ASSERT_TRUE(matching.ok());
  EXPECT_EQ(*matching, std::vector<AclEntry>{write});

  protocol::AclFilter alice = every();
  alice.principal = "User:alice";
  auto deleted = run<std::vector<AclEntry>>([&](auto done) { a.delete_acls({alice}, done); });
  ASSERT_TRUE(deleted.ok()) << deleted.error().to_string();
  EXPECT_EQ(*deleted, std::vector<AclEntry>{read});
  all = run<std::vector<AclEntry>>([&](auto done) { a.describe_acls(every(), done); });
  EXPECT_EQ(*all, std::vector<AclEntry>{write});
}

TEST_F(AclAdminTest, RefusedWithoutClusterAlterOnceEnforced) {
  close_clients();
  conns_.clear();
  stop_broker();
  enabled_ = true;
  start_broker();
  auto& a = admin();
  auto created = run<Outcomes>([&](auto done) {
    a.create_acls({{2, "t", 3, "User:ANONYMOUS", "*", 2, 3}}, done);
  });
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->size(), 1u);
  ASSERT_TRUE((*created)[0]);
  EXPECT_EQ((*created)[0]->code(), ErrorCode::cluster_authorization_failed);
  auto listed = run<std::vector<AclEntry>>([&](auto done) { a.describe_acls(every(), done); });
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code(), ErrorCode::cluster_authorization_failed);
}

}  // namespace
}  // namespace ferry::client
