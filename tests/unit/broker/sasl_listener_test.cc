// SASL on a SASL_PLAINTEXT listener next to a PLAINTEXT one: SCRAM and PLAIN through
// SaslHandshake v1 + SaslAuthenticate and through v0's raw tokens, the principal, the
// unauthenticated phase (only ApiVersions/SaslHandshake/SaslAuthenticate; a deadline), failed
// authentications (one answer for wrong password and unknown user, the per-address limit),
// the credential APIs and restart, and the per-listener and broker-wide connection limits.
#include <gtest/gtest.h>

#include "broker_fixture.h"
#include "common/bytes.h"
#include "protocol/messages.h"
#include "sasl_helpers.h"

namespace ferry::broker {
namespace {

using namespace protocol;
using test::TestConn;

class SaslListenerTest : public test::BrokerFixture {
 protected:
  void SetUp() override {
    test::add_user_offline(dir_.path(), "alice", auth::Mechanism::scram_sha_256, "alice-pw");
    test::add_user_offline(dir_.path(), "alice", auth::Mechanism::scram_sha_512, "alice-pw");
    BrokerFixture::SetUp();
  }
  void configure(config::BrokerConfig& c) override {
    c.listeners = "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0";
    c.sasl_enabled_mechanisms = "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN";
    c.sasl_failed_authentication_limit = limit_;
    c.sasl_authentication_timeout_ms = auth_timeout_ms_;
    c.max_connections = max_connections_;
    c.plaintext_max_connections = plaintext_max_;
  }

  TestConn& sasl_conn() { return connect(broker_->port("SASL_PLAINTEXT")); }

  // Handshake v1 + SaslAuthenticate rounds with the client's state machine. Returns the error
  // code of the last SaslAuthenticate (0 on success).
  int16_t authenticate(TestConn& c, client::SaslMechanism m, const std::string& user,
                       const std::string& password, int16_t auth_version = 1) {
    SaslHandshakeRequest hs;
    hs.mechanism = std::string(client::sasl_mechanism_name(m));
    auto h = call<SaslHandshakeResponse>(c, ApiKey::sasl_handshake, 1, hs);
    EXPECT_EQ(h.error_code, 0);
    auto cl = client::make_sasl_client({m, user, password});
    auto token = cl->initial();
    EXPECT_TRUE(token.ok());
    std::string next = *token;
    for (int round = 0; round < 3; ++round) {
      SaslAuthenticateRequest req;
      req.auth_bytes = test::bytes_of(next);
      auto resp = call<SaslAuthenticateResponse>(c, ApiKey::sasl_authenticate, auth_version, req);
      if (resp.error_code != 0) {
        last_message_ = resp.error_message.value_or("");
        return resp.error_code;
      }
      EXPECT_EQ(resp.session_lifetime_ms, 0);
      auto more = cl->on_challenge(test::string_of(resp.auth_bytes));
      EXPECT_TRUE(more.ok()) << more.error().message();
      if (!more.ok() || !more->has_value()) return 0;
      next = **more;
    }
    return -1;
  }

  bool metadata_works(TestConn& c) {
    MetadataRequest md;
    md.topics = std::nullopt;
    auto resp = call<MetadataResponse>(c, ApiKey::metadata, 8, md);
    return !c.closed() && resp.brokers.size() == 1;
  }

  int32_t limit_ = 5;
  int64_t auth_timeout_ms_ = 10000;
  int32_t max_connections_ = 1024;
  int32_t plaintext_max_ = 0;
  std::string last_message_;
};

TEST_F(SaslListenerTest, ScramWithBothHashesAndPlainAuthenticate) {
  for (auto m : {client::SaslMechanism::scram_sha_256, client::SaslMechanism::scram_sha_512,
                 client::SaslMechanism::plain}) {
    for (int16_t v = 0; v <= 2; ++v) {
      auto& c = sasl_conn();
      ASSERT_EQ(authenticate(c, m, "alice", "alice-pw", v), 0)
          << client::sasl_mechanism_name(m) << " v" << v;
      EXPECT_TRUE(metadata_works(c)) << client::sasl_mechanism_name(m);
    }
  }
}

TEST_F(SaslListenerTest, OnlyTheSaslApisBeforeAuthentication) {
  auto& c = sasl_conn();
  auto av = call<ApiVersionsResponse>(c, ApiKey::api_versions, 3, ApiVersionsRequest{});
  EXPECT_EQ(av.error_code, 0);
  EXPECT_FALSE(c.closed());
  MetadataRequest md;
  md.topics = std::nullopt;
  c.send(ApiKey::metadata, 8, md);
  EXPECT_TRUE(run_until([&] { return c.closed(); }));
  EXPECT_TRUE(c.frames().size() == 1u);  // only the ApiVersions answer
  // The plaintext listener is not affected.
  EXPECT_TRUE(metadata_works(connect(broker_->port("PLAINTEXT"))));
  // A handshake naming a mechanism not enabled: the list, then the connection closes.
  auto& d = sasl_conn();
  SaslHandshakeRequest hs;
  hs.mechanism = "GSSAPI";
  auto h = call<SaslHandshakeResponse>(d, ApiKey::sasl_handshake, 1, hs);
  EXPECT_EQ(h.error_code, 33);
  EXPECT_EQ(h.mechanisms, (std::vector<std::string>{"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"}));
  EXPECT_TRUE(run_until([&] { return d.closed(); }));
  // SaslAuthenticate before a handshake.
  auto& e = sasl_conn();
  SaslAuthenticateRequest sa;
  auto a = call<SaslAuthenticateResponse>(e, ApiKey::sasl_authenticate, 1, sa);
  EXPECT_EQ(a.error_code, 34);
  EXPECT_TRUE(run_until([&] { return e.closed(); }));
}

TEST_F(SaslListenerTest, WrongPasswordAndUnknownUserGetTheSameFailure) {
  auto& c = sasl_conn();
  EXPECT_EQ(authenticate(c, client::SaslMechanism::scram_sha_256, "alice", "nope"), 58);
  const std::string wrong_password = last_message_;
  EXPECT_TRUE(run_until([&] { return c.closed(); }));
  auto& d = sasl_conn();
  EXPECT_EQ(authenticate(d, client::SaslMechanism::scram_sha_256, "mallory", "nope"), 58);
  EXPECT_EQ(last_message_, wrong_password);
  EXPECT_TRUE(run_until([&] { return d.closed(); }));
  auto& e = sasl_conn();
  EXPECT_EQ(authenticate(e, client::SaslMechanism::plain, "mallory", "nope"), 58);
  EXPECT_EQ(last_message_, wrong_password);
  EXPECT_EQ(wrong_password.find("mallory"), std::string::npos);
}

class SaslLimitTest : public SaslListenerTest {
 protected:
  void configure(config::BrokerConfig& c) override {
    limit_ = 2;
    SaslListenerTest::configure(c);
  }
};

TEST_F(SaslLimitTest, AnAddressIsLockedOutAfterRepeatedFailures) {
  for (int i = 0; i < 2; ++i) {
    auto& c = sasl_conn();
    EXPECT_EQ(authenticate(c, client::SaslMechanism::scram_sha_256, "alice", "guess"), 58);
  }
  // Locked out: even the right password fails, on every mechanism.
  auto& c = sasl_conn();
  EXPECT_EQ(authenticate(c, client::SaslMechanism::scram_sha_256, "alice", "alice-pw"), 58);
  auto& d = sasl_conn();
  EXPECT_EQ(authenticate(d, client::SaslMechanism::plain, "alice", "alice-pw"), 58);
  // Other listeners keep working.
  EXPECT_TRUE(metadata_works(connect(broker_->port("PLAINTEXT"))));
}

TEST_F(SaslListenerTest, RawTokensAfterHandshakeV0) {
  // PLAIN as kafka-python sends it: handshake v0 first, then a raw token (authzid = user).
  auto& c = sasl_conn();
  SaslHandshakeRequest hs;
  hs.mechanism = "PLAIN";
  ASSERT_EQ(call<SaslHandshakeResponse>(c, ApiKey::sasl_handshake, 0, hs).error_code, 0);
  const std::string token("alice\0alice\0alice-pw", 20);
  std::vector<std::byte> frame(4 + token.size());
  store_i32(frame.data(), static_cast<int32_t>(token.size()));
  std::memcpy(frame.data() + 4, token.data(), token.size());
  c.send_raw(frame);
  ASSERT_TRUE(run_until([&] { return c.frames().size() == 2 || c.closed(); }));
  ASSERT_EQ(c.frames().size(), 2u);
  EXPECT_TRUE(c.frames()[1].empty());  // an empty token: 4 zero bytes on the wire
  EXPECT_TRUE(metadata_works(c));

  // SCRAM through raw tokens.
  auto& d = sasl_conn();
  hs.mechanism = "SCRAM-SHA-512";
  ASSERT_EQ(call<SaslHandshakeResponse>(d, ApiKey::sasl_handshake, 0, hs).error_code, 0);
  auto cl = client::make_sasl_client({client::SaslMechanism::scram_sha_512, "alice", "alice-pw"});
  std::string next = *cl->initial();
  for (int round = 0; round < 2; ++round) {
    const size_t before = d.frames().size();
    std::vector<std::byte> f(4 + next.size());
    store_i32(f.data(), static_cast<int32_t>(next.size()));
    std::memcpy(f.data() + 4, next.data(), next.size());
    d.send_raw(f);
    ASSERT_TRUE(run_until([&] { return d.frames().size() > before || d.closed(); }));
    ASSERT_GT(d.frames().size(), before);
    const auto answer = d.frames()[before];
    auto more =
        cl->on_challenge(std::string(reinterpret_cast<const char*>(answer.data()), answer.size()));
    ASSERT_TRUE(more.ok()) << more.error().message();
    if (!more->has_value()) break;
    next = **more;
  }
  EXPECT_TRUE(metadata_works(d));

  // A wrong raw PLAIN token closes the connection (the framing has no error).
  auto& e = sasl_conn();
  hs.mechanism = "PLAIN";
  ASSERT_EQ(call<SaslHandshakeResponse>(e, ApiKey::sasl_handshake, 0, hs).error_code, 0);
  const std::string bad("\0alice\0nope", 11);
  std::vector<std::byte> bf(4 + bad.size());
  store_i32(bf.data(), static_cast<int32_t>(bad.size()));
  std::memcpy(bf.data() + 4, bad.data(), bad.size());
  e.send_raw(bf);
  EXPECT_TRUE(run_until([&] { return e.closed(); }));
  EXPECT_EQ(e.frames().size(), 1u);
}

class SaslDeadlineTest : public SaslListenerTest {
 protected:
  void configure(config::BrokerConfig& c) override {
    auth_timeout_ms_ = 300;
    SaslListenerTest::configure(c);
  }
};

TEST_F(SaslDeadlineTest, UnauthenticatedConnectionsAreClosedAtTheDeadline) {
  auto& idle = sasl_conn();
  auto& authed = sasl_conn();
  ASSERT_EQ(authenticate(authed, client::SaslMechanism::scram_sha_256, "alice", "alice-pw"), 0);
  auto& plain = connect(broker_->port("PLAINTEXT"));
  EXPECT_TRUE(metadata_works(plain));
  EXPECT_TRUE(run_until([&] { return idle.closed(); }, 5000));
  // Well past the deadline, the authenticated and the plaintext connections still work.
  run_until([] { return false; }, 400);
  EXPECT_TRUE(metadata_works(authed));
  EXPECT_TRUE(metadata_works(plain));
}

TEST_F(SaslListenerTest, CredentialApisChangeUsersAtOnceAndSurviveRestart) {
  auto& admin = sasl_conn();
  ASSERT_EQ(authenticate(admin, client::SaslMechanism::scram_sha_256, "alice", "alice-pw"), 0);
  // bob gets a SCRAM-SHA-256 credential from a salted password computed client-side.
  const std::string salt = "0123456789abcdef";
  auto salted =
      protocol::scram::salted_password(protocol::scram::Hash::sha256, "bob-pw", salt, 8192);
  ASSERT_TRUE(salted.ok());
  AlterUserScramCredentialsRequest alter;
  alter.upsertions.push_back(
      {"bob", kScramSha256, 8192, test::bytes_of(salt), test::bytes_of(*salted)});
  alter.upsertions.push_back({"carol", kScramSha256, 100, test::bytes_of(salt),
                              test::bytes_of(*salted)});  // too few iterations
  alter.upsertions.push_back({"dave", 7, 4096, test::bytes_of(salt), test::bytes_of(*salted)});
  alter.deletions.push_back({"nobody", kScramSha512});
  auto ar = call<AlterUserScramCredentialsResponse>(admin, ApiKey::alter_user_scram_credentials, 0,
                                                    alter);
  std::map<std::string, int16_t> codes;
  for (const auto& r : ar.results) codes[r.user] = r.error_code;
  EXPECT_EQ(codes, (std::map<std::string, int16_t>{
                       {"bob", 0}, {"carol", 93}, {"dave", 33}, {"nobody", 91}}));
  auto& b = sasl_conn();
  EXPECT_EQ(authenticate(b, client::SaslMechanism::scram_sha_256, "bob", "bob-pw"), 0);

  DescribeUserScramCredentialsRequest describe;  // null: every user
  auto dr = call<DescribeUserScramCredentialsResponse>(
      admin, ApiKey::describe_user_scram_credentials, 0, describe);
  ASSERT_EQ(dr.results.size(), 2u);
  EXPECT_EQ(dr.results[0].user, "alice");
  EXPECT_EQ(dr.results[0].credential_infos.size(), 2u);
  EXPECT_EQ(dr.results[1].user, "bob");
  ASSERT_EQ(dr.results[1].credential_infos.size(), 1u);
  EXPECT_EQ(dr.results[1].credential_infos[0].iterations, 8192);
  describe.users.emplace();
  describe.users->push_back({"zed"});
  dr = call<DescribeUserScramCredentialsResponse>(admin, ApiKey::describe_user_scram_credentials, 0,
                                                  describe);
  ASSERT_EQ(dr.results.size(), 1u);
  EXPECT_EQ(dr.results[0].error_code, 91);

  // Restart: bob is loaded from meta.db.
  conns_.clear();
  stop_broker();
  start_broker();
  auto& b2 = sasl_conn();
  EXPECT_EQ(authenticate(b2, client::SaslMechanism::scram_sha_256, "bob", "bob-pw"), 0);
  // Deleting alice's SHA-256 credential leaves her SHA-512 one.
  auto& admin2 = sasl_conn();
  ASSERT_EQ(authenticate(admin2, client::SaslMechanism::scram_sha_512, "alice", "alice-pw"), 0);
  AlterUserScramCredentialsRequest del;
  del.deletions.push_back({"alice", kScramSha256});
  ar =
      call<AlterUserScramCredentialsResponse>(admin2, ApiKey::alter_user_scram_credentials, 0, del);
  ASSERT_EQ(ar.results.size(), 1u);
  EXPECT_EQ(ar.results[0].error_code, 0);
  auto& a3 = sasl_conn();
  EXPECT_EQ(authenticate(a3, client::SaslMechanism::scram_sha_256, "alice", "alice-pw"), 58);
  auto& a4 = sasl_conn();
  EXPECT_EQ(authenticate(a4, client::SaslMechanism::scram_sha_512, "alice", "alice-pw"), 0);
}

class ListenerLimitTest : public SaslListenerTest {
 protected:
  void configure(config::BrokerConfig& c) override {
    plaintext_max_ = 1;
    max_connections_ = 3;
    SaslListenerTest::configure(c);
  }
};

TEST_F(ListenerLimitTest, PerListenerAndBrokerWideLimits) {
  const uint16_t plain = broker_->port("PLAINTEXT");
  // One connection on the PLAINTEXT listener: a second evicts the first (idle) one.
  auto& p1 = connect(plain);
  EXPECT_TRUE(metadata_works(p1));
  auto& p2 = connect(plain);
  EXPECT_TRUE(metadata_works(p2));
  EXPECT_TRUE(run_until([&] { return p1.closed(); }));
  // Broker-wide max.connections (3) counts both listeners: p2 + two SASL connections fill it;
  // a fourth evicts the longest idle, p2, on the other listener.
  auto& s1 = sasl_conn();
  auto& s2 = sasl_conn();
  EXPECT_EQ(call<ApiVersionsResponse>(s1, ApiKey::api_versions, 3, ApiVersionsRequest{}).error_code,
            0);
  EXPECT_EQ(call<ApiVersionsResponse>(s2, ApiKey::api_versions, 3, ApiVersionsRequest{}).error_code,
            0);
  EXPECT_FALSE(p2.closed());
  auto& s3 = sasl_conn();
  EXPECT_EQ(call<ApiVersionsResponse>(s3, ApiKey::api_versions, 3, ApiVersionsRequest{}).error_code,
            0);
  EXPECT_TRUE(run_until([&] { return p2.closed(); }));
  EXPECT_FALSE(s1.closed());
}

}  // namespace
}  // namespace ferry::broker
