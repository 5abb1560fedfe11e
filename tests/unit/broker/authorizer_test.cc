// The authorizer's decision rules (Kafka's): literal, prefixed and wildcard resources, the
// wildcard principal, hosts, DENY over ALLOW, implied operations, super users, deny by default,
// and the disabled authorizer; principals set directly as SASL or a certificate would.
#include "broker/authz/authorizer.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::broker::authz {
namespace {

net::Principal user(std::string name) { return net::Principal{"User", std::move(name)}; }

AclBinding acl(ResourceType type, std::string name, PatternType pattern, std::string principal,
               Operation op, Permission perm = Permission::allow, std::string host = "*") {
  return AclBinding{type, std::move(name), pattern, std::move(principal), std::move(host), op,
                    perm};
}

constexpr auto kTopic = ResourceType::topic;
constexpr auto kGroup = ResourceType::group;
constexpr auto kLiteral = PatternType::literal;
constexpr auto kPrefixed = PatternType::prefixed;

class AuthorizerTest : public ::testing::Test {
 protected:
  Authorizer a{AuthorizerConfig{true, {"User:admin"}}};
  bool can(const std::string& who, Operation op, ResourceType t, const std::string& name,
           const std::string& host = "10.0.0.1") {
    return a.authorize(user(who), host, op, t, name);
  }
};

TEST_F(AuthorizerTest, DeniesByDefaultWhenEnabled) {
  EXPECT_FALSE(can("alice", Operation::read, kTopic, "orders"));
  EXPECT_FALSE(can("ANONYMOUS", Operation::describe, ResourceType::cluster, ""));
}

TEST_F(AuthorizerTest, DisabledAllowsEverything) {
  Authorizer off{AuthorizerConfig{false, {}}};
  off.add(acl(kTopic, "orders", kLiteral, "User:*", Operation::all, Permission::deny));
  EXPECT_TRUE(off.authorize(user("alice"), "h", Operation::write, kTopic, "orders"));
}

TEST_F(AuthorizerTest, LiteralMatchesOnlyItsNameAndType) {
  a.add(acl(kTopic, "orders", kLiteral, "User:alice", Operation::read));
  EXPECT_TRUE(can("alice", Operation::read, kTopic, "orders"));
  EXPECT_FALSE(can("alice", Operation::read, kTopic, "orders2"));
  EXPECT_FALSE(can("alice", Operation::read, kTopic, "order"));
  EXPECT_FALSE(can("alice", Operation::read, kGroup, "orders"));
  EXPECT_FALSE(can("alice", Operation::write, kTopic, "orders"));
  EXPECT_FALSE(can("bob", Operation::read, kTopic, "orders"));
}

TEST_F(AuthorizerTest, PrefixedMatchesNamesStartingWithIt) {
  a.add(acl(kTopic, "sensors.", kPrefixed, "User:alice", Operation::write));
  EXPECT_TRUE(can("alice", Operation::write, kTopic, "sensors.temp"));
  EXPECT_TRUE(can("alice", Operation::write, kTopic, "sensors."));
  EXPECT_FALSE(can("alice", Operation::write, kTopic, "sensors"));
  EXPECT_FALSE(can("alice", Operation::write, kTopic, "xsensors.temp"));
}

TEST_F(AuthorizerTest, WildcardResourceAndPrincipal) {
  a.add(acl(kTopic, "*", kLiteral, "User:alice", Operation::read));
  a.add(acl(kGroup, "g1", kLiteral, "User:*", Operation::read));
  EXPECT_TRUE(can("alice", Operation::read, kTopic, "anything"));
  EXPECT_FALSE(can("bob", Operation::read, kTopic, "anything"));
  EXPECT_TRUE(can("bob", Operation::read, kGroup, "g1"));
  EXPECT_TRUE(can("ANONYMOUS", Operation::read, kGroup, "g1"));
  // User:* names users only.
  EXPECT_FALSE(a.authorize(net::Principal{"Group", "x"}, "h", Operation::read, kGroup, "g1"));
}

TEST_F(AuthorizerTest, HostMustMatchUnlessWildcard) {
  a.add(acl(kTopic, "t", kLiteral, "User:alice", Operation::read, Permission::allow, "10.0.0.1"));
  EXPECT_TRUE(can("alice", Operation::read, kTopic, "t", "10.0.0.1"));
  EXPECT_FALSE(can("alice", Operation::read, kTopic, "t", "10.0.0.2"));
}

TEST_F(AuthorizerTest, DenyOverridesAllowWhereverEitherIsDeclared) {
  a.add(acl(kTopic, "sensors.", kPrefixed, "User:*", Operation::all));
  a.add(acl(kTopic, "sensors.secret", kLiteral, "User:alice", Operation::write, Permission::deny));
  EXPECT_TRUE(can("alice", Operation::write, kTopic, "sensors.temp"));
  EXPECT_FALSE(can("alice", Operation::write, kTopic, "sensors.secret"));
  EXPECT_TRUE(can("alice", Operation::read, kTopic, "sensors.secret"));  // denies WRITE only
  EXPECT_TRUE(can("bob", Operation::write, kTopic, "sensors.secret"));
  // A DENY of ALL on a host denies every operation from it.
  a.add(acl(kTopic, "*", kLiteral, "User:*", Operation::all, Permission::deny, "10.6.6.6"));
  EXPECT_FALSE(can("bob", Operation::read, kTopic, "sensors.temp", "10.6.6.6"));
  EXPECT_TRUE(can("bob", Operation::read, kTopic, "sensors.temp", "10.0.0.1"));
}

TEST_F(AuthorizerTest, ImpliedOperations) {
  for (Operation op : {Operation::read, Operation::write, Operation::del, Operation::alter}) {
    Authorizer x{AuthorizerConfig{true, {}}};
    x.add(acl(kTopic, "t", kLiteral, "User:u", op));
    EXPECT_TRUE(x.authorize(user("u"), "h", Operation::describe, kTopic, "t")) << name_of(op);
    EXPECT_FALSE(x.authorize(user("u"), "h", Operation::create, kTopic, "t")) << name_of(op);
  }
  a.add(acl(kTopic, "t", kLiteral, "User:u", Operation::alter_configs));
  EXPECT_TRUE(can("u", Operation::describe_configs, kTopic, "t"));
  EXPECT_FALSE(can("u", Operation::describe, kTopic, "t"));
  a.add(acl(kTopic, "t2", kLiteral, "User:u", Operation::create));
  EXPECT_FALSE(can("u", Operation::describe, kTopic, "t2"));  // CREATE implies nothing
  a.add(acl(kTopic, "t3", kLiteral, "User:u", Operation::all));
  EXPECT_TRUE(can("u", Operation::idempotent_write, kTopic, "t3"));
  // A DENY of READ does not take away the DESCRIBE that WRITE implies.
  a.add(acl(kTopic, "t4", kLiteral, "User:u", Operation::write));
  a.add(acl(kTopic, "t4", kLiteral, "User:u", Operation::read, Permission::deny));
  EXPECT_TRUE(can("u", Operation::describe, kTopic, "t4"));
  EXPECT_FALSE(can("u", Operation::read, kTopic, "t4"));
}

TEST_F(AuthorizerTest, SuperUsersAreAllowedEverythingEvenWhenDenied) {
  a.add(acl(kTopic, "*", kLiteral, "User:*", Operation::all, Permission::deny));
  EXPECT_TRUE(can("admin", Operation::write, kTopic, "t"));
  EXPECT_TRUE(can("admin", Operation::alter, ResourceType::cluster, ""));
  EXPECT_FALSE(can("alice", Operation::write, kTopic, "t"));
}

TEST_F(AuthorizerTest, AnyTopicWriteForIdempotence) {
  net::Session s;
  s.principal = user("p");
  s.peer_host = "10.0.0.1";
  EXPECT_FALSE(a.authorize_any(s, Operation::write, kTopic));
  a.add(acl(kTopic, "logs.", kPrefixed, "User:p", Operation::write));
  EXPECT_TRUE(a.authorize_any(s, Operation::write, kTopic));
  a.add(acl(kTopic, "*", kLiteral, "User:p", Operation::write, Permission::deny));
  EXPECT_FALSE(a.authorize_any(s, Operation::write, kTopic));
}

TEST_F(AuthorizerTest, AddRemoveListAndFilters) {
  auto lit = acl(kTopic, "sensors.temp", kLiteral, "User:alice", Operation::read);
  auto pre = acl(kTopic, "sensors.", kPrefixed, "User:bob", Operation::write);
  auto star = acl(kTopic, "*", kLiteral, "User:carol", Operation::describe);
  EXPECT_TRUE(a.add(lit));
  EXPECT_FALSE(a.add(lit));
  a.add(pre);
  a.add(star);
  EXPECT_EQ(a.size(), 3u);
  AclFilter any;
  EXPECT_EQ(a.list(any).size(), 3u);
  AclFilter match;
  match.resource_type = kTopic;
  match.resource_name = "sensors.temp";
  match.pattern_type = PatternType::match;
  EXPECT_EQ(a.list(match).size(), 3u);
  match.resource_name = "other";
  ASSERT_EQ(a.list(match).size(), 1u);
  EXPECT_EQ(a.list(match)[0], star);
  AclFilter prefixed;
  prefixed.pattern_type = kPrefixed;
  ASSERT_EQ(a.list(prefixed).size(), 1u);
  EXPECT_EQ(a.list(prefixed)[0], pre);
  AclFilter by_principal;
  by_principal.principal = "User:alice";
  EXPECT_EQ(a.list(by_principal).size(), 1u);
  EXPECT_TRUE(can("alice", Operation::read, kTopic, "sensors.temp"));
  EXPECT_TRUE(a.remove(lit));
  EXPECT_FALSE(a.remove(lit));
  EXPECT_FALSE(can("alice", Operation::read, kTopic, "sensors.temp"));
}

TEST(AclModelTest, NamesCodesAndValidation) {
  EXPECT_EQ(parse_operation("describe-configs"), Operation::describe_configs);
  EXPECT_EQ(parse_operation("Read"), Operation::read);
  EXPECT_EQ(parse_operation("bogus"), std::nullopt);
  EXPECT_EQ(parse_pattern_type("PREFIXED"), PatternType::prefixed);
  EXPECT_EQ(static_cast<int>(Operation::idempotent_write), 12);
  EXPECT_EQ(operation_from_code(13), std::nullopt);
  auto ok = acl(kTopic, "t", kLiteral, "User:a", Operation::read);
  EXPECT_EQ(invalid_reason(ok), "");
  EXPECT_NE(invalid_reason(acl(kTopic, "t", kLiteral, "alice", Operation::read)), "");
  EXPECT_NE(invalid_reason(acl(kTopic, "t", PatternType::match, "User:a", Operation::read)), "");
  EXPECT_NE(invalid_reason(acl(ResourceType::cluster, "x", kLiteral, "User:a", Operation::read)),
            "");
  EXPECT_NE(invalid_reason(acl(kTopic, "t", kLiteral, "User:a", Operation::any)), "");
  auto back = from_record(to_record(ok));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, ok);
}

}  // namespace
}  // namespace ferry::broker::authz
