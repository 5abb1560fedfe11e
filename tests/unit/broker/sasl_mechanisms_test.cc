// The broker's SASL mechanisms on their own: SCRAM-SHA-256 against RFC 7677's published
// exchange, SCRAM-SHA-256/512 against the client's state machine, PLAIN, and what each refuses
// (wrong password, unknown user, malformed messages, nonce mismatch, a replayed final message,
// tokens after the end); the per-address failure limit.
#include <gtest/gtest.h>

#include <string>

#include "broker/auth/authenticator.h"
#include "broker/auth/credentials.h"
#include "broker/auth/failure_limiter.h"
#include "broker/auth/plain.h"
#include "broker/auth/scram.h"
#include "client/sasl.h"
#include "protocol/scram_crypto.h"

namespace ferry::broker::auth {
namespace {

namespace sc = protocol::scram;

CredentialCache cache_with(const std::string& user, Mechanism m, const std::string& password,
                           std::optional<std::string> salt = {}) {
  CredentialCache c;
  auto cred = make_credential(user, m, password, 4096, std::move(salt));
  EXPECT_TRUE(cred.ok());
  if (cred) c.put(*cred);
  return c;
}

// RFC 7677 section 3: user "user", password "pencil".
TEST(ScramServerTest, Rfc7677VectorSha256) {
  auto salt = sc::base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==");
  ASSERT_TRUE(salt.ok());
  CredentialCache creds = cache_with("user", Mechanism::scram_sha_256, "pencil", *salt);
  auto server = make_scram_server(Mechanism::scram_sha_256, creds, "k",
                                  std::string("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"));
  auto first = server->on_token("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_FALSE(first->done);
  EXPECT_EQ(first->challenge,
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
            "i=4096");
  auto final_ = server->on_token(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  ASSERT_TRUE(final_.ok()) << final_.error().message();
  EXPECT_TRUE(final_->done);
  EXPECT_EQ(final_->challenge, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  EXPECT_EQ(server->user(), "user");
  // Nothing after the end.
  EXPECT_FALSE(server->on_token("c=biws").ok());
}

// Runs the client's state machine against the server; true when both sides completed.
bool exchange(SaslServer& server, client::SaslMechanism m, const std::string& user,
              const std::string& password) {
  auto cl = client::make_sasl_client({m, user, password});
  auto msg = cl->initial();
  if (!msg) return false;
  std::string token = *msg;
  for (int round = 0; round < 4; ++round) {
    auto step = server.on_token(token);
    if (!step) return false;
    auto next = cl->on_challenge(step->challenge);
    if (!next) return false;
    if (step->done) return !next->has_value();
    if (!next->has_value()) return false;
    token = **next;
  }
  return false;
}

TEST(ScramServerTest, TheClientAuthenticatesWithBothHashes) {
  for (auto [m, cm] : {std::pair{Mechanism::scram_sha_256, client::SaslMechanism::scram_sha_256},
                       std::pair{Mechanism::scram_sha_512, client::SaslMechanism::scram_sha_512}}) {
    CredentialCache creds = cache_with("al,i=ce", m, "s3cret");  // escaped name
    auto server = make_scram_server(m, creds, "k");
    EXPECT_TRUE(exchange(*server, cm, "al,i=ce", "s3cret")) << mechanism_name(m);
    EXPECT_EQ(server->user(), "al,i=ce");
    // The other hash's credential does not exist: that user is unknown for this mechanism.
    const Mechanism other =
        m == Mechanism::scram_sha_256 ? Mechanism::scram_sha_512 : Mechanism::scram_sha_256;
    auto wrong_mech = make_scram_server(other, creds, "k");
    EXPECT_FALSE(exchange(*wrong_mech,
                          other == Mechanism::scram_sha_256 ? client::SaslMechanism::scram_sha_256
                                                            : client::SaslMechanism::scram_sha_512,
                          "al,i=ce", "s3cret"));
  }
}

TEST(ScramServerTest, WrongPasswordAndUnknownUserFailOnlyAtTheProof) {
  CredentialCache creds = cache_with("alice", Mechanism::scram_sha_256, "right");
  for (const char* user : {"alice", "mallory"}) {
    auto server = make_scram_server(Mechanism::scram_sha_256, creds, "k");
    auto cl = client::make_sasl_client({client::SaslMechanism::scram_sha_256, user, "wrong"});
    auto first = server->on_token(*cl->initial());
    ASSERT_TRUE(first.ok()) << user;  // an unknown user is not told apart here
    EXPECT_NE(first->challenge.find(",i=4096"), std::string::npos);
    auto final_msg = cl->on_challenge(first->challenge);
    ASSERT_TRUE(final_msg.ok());
    auto verdict = server->on_token(**final_msg);
    EXPECT_FALSE(verdict.ok()) << user;
  }
  // An unknown user is offered the same salt twice (no way to tell it from a real one).
  auto a = make_scram_server(Mechanism::scram_sha_256, creds, "k");
  auto b = make_scram_server(Mechanism::scram_sha_256, creds, "k");
  auto fa = a->on_token("n,,n=mallory,r=abc");
  auto fb = b->on_token("n,,n=mallory,r=abc");
  ASSERT_TRUE(fa.ok() && fb.ok());
  EXPECT_EQ(fa->challenge.substr(fa->challenge.find(",s=")),
            fb->challenge.substr(fb->challenge.find(",s=")));
}

TEST(ScramServerTest, MalformedClientFirstMessagesAreRefused) {
  CredentialCache creds = cache_with("alice", Mechanism::scram_sha_256, "pw");
  for (const char* bad : {"", "n,", "x,,n=alice,r=abc", "p=tls-unique,,n=alice,r=abc",
                          "n,,r=abc,n=alice", "n,,n=alice", "n,,n=,r=abc", "n,,n=al=ice,r=abc",
                          "n,a=bob,n=alice,r=abc", "n,,n=alice,r=", "n,,n=alice,r=ab\x01",
                          "n,,n=alice,r=abc,m=ext", "n,,n=alice,r=abc,tokenauth=true"}) {
    auto server = make_scram_server(Mechanism::scram_sha_256, creds, "k");
    EXPECT_FALSE(server->on_token(bad).ok()) << bad;
    // A failed exchange stays failed.
    EXPECT_FALSE(server->on_token("n,,n=alice,r=abc").ok());
  }
  // The authzid may name the user itself.
  auto server = make_scram_server(Mechanism::scram_sha_256, creds, "k");
  EXPECT_TRUE(server->on_token("n,a=alice,n=alice,r=abc").ok());
}

TEST(ScramServerTest, NonceMismatchBadChannelBindingAndReplayAreRefused) {
  CredentialCache creds = cache_with("alice", Mechanism::scram_sha_256, "pw");
  // A complete, valid exchange whose final message is captured.
  auto s1 = make_scram_server(Mechanism::scram_sha_256, creds, "k");
  auto cl = client::make_scram_client({client::SaslMechanism::scram_sha_256, "alice", "pw"},
                                      "fixedclientnonce");
  auto f1 = s1->on_token(*cl->initial());
  ASSERT_TRUE(f1.ok());
  auto final1 = cl->on_challenge(f1->challenge);
  ASSERT_TRUE(final1.ok());
  const std::string captured = **final1;
  ASSERT_TRUE(s1->on_token(captured).ok());

  // Replayed against a new exchange with the same client-first: the server nonce differs.
  auto s2 = make_scram_server(Mechanism::scram_sha_256, creds, "k");
  ASSERT_TRUE(s2->on_token("n,,n=alice,r=fixedclientnonce").ok());
  auto replay = s2->on_token(captured);
  EXPECT_FALSE(replay.ok());
  EXPECT_NE(replay.error().message().find("nonce"), std::string::npos);

  // A final message with the right nonce but another channel binding, or without a proof.
  auto s3 = make_scram_server(Mechanism::scram_sha_256, creds, "k", std::string("SRV"));
  ASSERT_TRUE(s3->on_token("n,,n=alice,r=abc").ok());
  EXPECT_FALSE(s3->on_token("c=eSws,r=abcSRV,p=AAAA").ok());
  auto s4 = make_scram_server(Mechanism::scram_sha_256, creds, "k", std::string("SRV"));
  ASSERT_TRUE(s4->on_token("n,,n=alice,r=abc").ok());
  EXPECT_FALSE(s4->on_token("c=biws,r=abcSRV").ok());
  auto s5 = make_scram_server(Mechanism::scram_sha_256, creds, "k", std::string("SRV"));
  ASSERT_TRUE(s5->on_token("n,,n=alice,r=abc").ok());
  EXPECT_FALSE(s5->on_token("c=biws,r=abcSRV,p=not*base64").ok());
}

TEST(PlainServerTest, ChecksThePasswordAgainstTheStoredScramCredential) {
  CredentialCache creds = cache_with("alice", Mechanism::scram_sha_512, "pw");
  auto ok = make_plain_server(creds, "k")->on_token(std::string("\0alice\0pw", 9));
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_TRUE(ok->done);
  EXPECT_TRUE(ok->challenge.empty());
  // kafka-python sends the user as authzid too.
  EXPECT_TRUE(make_plain_server(creds, "k")->on_token(std::string("alice\0alice\0pw", 14)).ok());
  const std::string refused[] = {
      std::string("\0alice\0wrong", 12), std::string("\0bob\0pw", 7),
      std::string("bob\0alice\0pw", 12),  // authzid other than the user
      std::string("alice pw"),           std::string("\0alice\0pw\0", 10),
      std::string("\0\0pw", 4),          std::string("\0alice\0", 7)};
  for (const auto& t : refused) {
    auto server = make_plain_server(creds, "k");
    EXPECT_FALSE(server->on_token(t).ok());
  }
  // One token only.
  auto server = make_plain_server(creds, "k");
  ASSERT_TRUE(server->on_token(std::string("\0alice\0pw", 9)).ok());
  EXPECT_FALSE(server->on_token(std::string("\0alice\0pw", 9)).ok());
}

TEST(CredentialsTest, OnlySaltedKeysAreKeptAndIterationsAreBounded) {
  auto cred = make_credential("alice", Mechanism::scram_sha_256, "pw", 4096);
  ASSERT_TRUE(cred.ok());
  EXPECT_EQ(cred->salt.size(), kSaltBytes);
  EXPECT_EQ(cred->stored_key.size(), 32u);
  EXPECT_EQ(cred->server_key.size(), 32u);
  EXPECT_EQ(cred->stored_key.find("pw"), std::string::npos);
  EXPECT_FALSE(make_credential("alice", Mechanism::scram_sha_256, "pw", 4095).ok());
  EXPECT_FALSE(make_credential("alice", Mechanism::scram_sha_256, "pw", 16385).ok());
  EXPECT_FALSE(make_credential("alice", Mechanism::plain, "pw", 4096).ok());
  EXPECT_FALSE(make_credential("", Mechanism::scram_sha_256, "pw", 4096).ok());
  // Two credentials for one password differ (fresh salt).
  auto again = make_credential("alice", Mechanism::scram_sha_256, "pw", 4096);
  EXPECT_NE(again->stored_key, cred->stored_key);
}

TEST(FailureLimiterTest, LocksAnAddressOutAfterRepeatedFailuresForAWindow) {
  FailureLimiter l(3, 1000);
  EXPECT_FALSE(l.locked_out("10.0.0.1", 0));
  EXPECT_FALSE(l.record_failure("10.0.0.1", 0));
  EXPECT_FALSE(l.record_failure("10.0.0.1", 100));
  EXPECT_FALSE(l.locked_out("10.0.0.1", 200));
  EXPECT_TRUE(l.record_failure("10.0.0.1", 200));  // the third starts the lockout
  EXPECT_TRUE(l.locked_out("10.0.0.1", 300));
  EXPECT_FALSE(l.locked_out("10.0.0.2", 300));  // per address
  EXPECT_TRUE(l.locked_out("10.0.0.1", 1199));  // a window after the last failure
  EXPECT_FALSE(l.locked_out("10.0.0.1", 1200));
  // Failures spread wider than the window never lock out.
  FailureLimiter spread(3, 1000);
  for (uint64_t t = 0; t < 10000; t += 600) {
    spread.record_failure("a", t);
    EXPECT_FALSE(spread.locked_out("a", t));
  }
  // A success forgets the failures.
  FailureLimiter s(2, 1000);
  s.record_failure("a", 0);
  s.record_success("a");
  s.record_failure("a", 10);
  EXPECT_FALSE(s.locked_out("a", 20));
  // 0 disables it; the table is bounded.
  FailureLimiter off(0, 1000);
  for (int i = 0; i < 10; ++i) off.record_failure("a", 0);
  EXPECT_FALSE(off.locked_out("a", 0));
  FailureLimiter bounded(1, 1000, 4);
  for (int i = 0; i < 100; ++i) bounded.record_failure("h" + std::to_string(i), 0);
  EXPECT_LE(bounded.tracked(), 4u);
}

TEST(AuthenticatorTest, ParsesTheMechanismList) {
  auto l = parse_mechanism_list(" SCRAM-SHA-512 , PLAIN,SCRAM-SHA-512");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, (std::vector<Mechanism>{Mechanism::scram_sha_512, Mechanism::plain}));
  EXPECT_FALSE(parse_mechanism_list("GSSAPI").ok());
  EXPECT_FALSE(parse_mechanism_list("plain").ok());  // Kafka's names are exact
}

}  // namespace
}  // namespace ferry::broker::auth
