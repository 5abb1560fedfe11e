// SASL mechanisms of the client: PLAIN bytes, SCRAM-SHA-256 against RFC 7677's example,
// SCRAM-SHA-512 against a test-side server, and the ways a server message is refused.
#include "client/sasl.h"

#include <gtest/gtest.h>

#include <string>

#include "unit/client/scram_server.h"

namespace ferry::client {
namespace {

using namespace std::string_literals;
using test::ScramServer;

SaslConfig config(SaslMechanism m, std::string user, std::string password) {
  SaslConfig c;
  c.mechanism = m;
  c.username = std::move(user);
  c.password = std::move(password);
  return c;
}

TEST(Sasl, MechanismNames) {
  EXPECT_EQ(sasl_mechanism_name(SaslMechanism::scram_sha_512), "SCRAM-SHA-512");
  EXPECT_EQ(parse_sasl_mechanism("scram-sha-256"), SaslMechanism::scram_sha_256);
  EXPECT_EQ(parse_sasl_mechanism("PLAIN"), SaslMechanism::plain);
  EXPECT_FALSE(parse_sasl_mechanism("GSSAPI").has_value());
  EXPECT_FALSE(parse_sasl_mechanism("SCRAM-SHA-1").has_value());
}

TEST(Sasl, PlainSendsEmptyAuthzidUserAndPassword) {
  auto m = make_sasl_client(config(SaslMechanism::plain, "alice", "s3cret"));
  auto first = m->initial();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "\0alice\0s3cret"s);
  auto next = m->on_challenge("");
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());  // complete
}

// RFC 7677 section 3.
TEST(Sasl, ScramSha256MatchesRfc7677) {
  auto m = make_scram_client(config(SaslMechanism::scram_sha_256, "user", "pencil"),
                             "rOprNGfwEbeRWgbNEkqO");
  auto first = m->initial();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  auto final_msg = m->on_challenge(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  ASSERT_TRUE(final_msg.ok()) << final_msg.error().to_string();
  ASSERT_TRUE(final_msg->has_value());
  EXPECT_EQ(**final_msg,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  auto done = m->on_challenge("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  ASSERT_TRUE(done.ok()) << done.error().to_string();
  EXPECT_FALSE(done->has_value());
}

// RFC 7677's inputs with SHA-512; the expected strings were computed independently (Python's
// hashlib.pbkdf2_hmac and hmac, which reproduce the RFC's SHA-256 strings above).
TEST(Sasl, ScramSha512MatchesAnIndependentComputation) {
  auto m = make_scram_client(config(SaslMechanism::scram_sha_512, "user", "pencil"),
                             "rOprNGfwEbeRWgbNEkqO");
  ASSERT_TRUE(m->initial().ok());
  auto final_msg = m->on_challenge(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  ASSERT_TRUE(final_msg.ok()) << final_msg.error().to_string();
  ASSERT_TRUE(final_msg->has_value());
  EXPECT_EQ(
      **final_msg,
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ==");
  auto done = m->on_challenge(
      "v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw==");
  ASSERT_TRUE(done.ok()) << done.error().to_string();
  EXPECT_FALSE(done->has_value());
}

TEST(Sasl, ScramSha512RoundTripWithARandomNonce) {
  ScramServer server(SaslMechanism::scram_sha_512, "correct horse", "pepper-salt", 4096);
  auto m = make_sasl_client(config(SaslMechanism::scram_sha_512, "al,ice=x", "correct horse"));
  auto first = m->initial();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->substr(0, 19), "n,,n=al=2Cice=3Dx,r");
  EXPECT_GE(first->size(), 19u + 1 + 24);  // a nonce of at least 24 characters
  auto client_final = m->on_challenge(server.first(*first));
  ASSERT_TRUE(client_final.ok()) << client_final.error().to_string();
  ASSERT_TRUE(client_final->has_value());
  const std::string verdict = server.final_(**client_final);
  ASSERT_EQ(verdict.substr(0, 2), "v=");
  auto done = m->on_challenge(verdict);
  ASSERT_TRUE(done.ok()) << done.error().to_string();
  EXPECT_FALSE(done->has_value());
  // Two exchanges never share a nonce.
  auto other = make_sasl_client(config(SaslMechanism::scram_sha_512, "u", "p"))->initial();
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->substr(8), first->substr(19));
}

TEST(Sasl, ScramSha512WrongPasswordIsRefusedByTheServer) {
  ScramServer server(SaslMechanism::scram_sha_512, "right", "salt", 4096);
  auto m = make_sasl_client(config(SaslMechanism::scram_sha_512, "u", "wrong"));
  auto first = m->initial();
  ASSERT_TRUE(first.ok());
  auto client_final = m->on_challenge(server.first(*first));
  ASSERT_TRUE(client_final.ok());
  const std::string verdict = server.final_(**client_final);
  EXPECT_EQ(verdict, "e=invalid-proof");
  auto done = m->on_challenge(verdict);
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.error().message().find("invalid-proof"), std::string::npos);
  EXPECT_EQ(done.error().message().find("wrong"), std::string::npos);
}

class ScramRefusal : public ::testing::Test {
 protected:
  // A client past client-first with nonce "abc".
  std::unique_ptr<SaslClient> started() {
    auto m = make_scram_client(config(SaslMechanism::scram_sha_256, "user", "pencil"), "abc");
    EXPECT_TRUE(m->initial().ok());
    return m;
  }
  static constexpr const char* kSalt = "W22ZaJ0SNY7soEsUEjb6gQ==";
};

TEST_F(ScramRefusal, AServerNonceThatDoesNotExtendOurs) {
  auto r = started()->on_challenge("r=xyzdef,s="s + kSalt + ",i=4096");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("nonce"), std::string::npos);
  EXPECT_FALSE(started()->on_challenge("r=abc,s="s + kSalt + ",i=4096").ok());  // no server part
}

TEST_F(ScramRefusal, FewIterations) {
  auto r = started()->on_challenge("r=abcdef,s="s + kSalt + ",i=4095");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("4095 iterations"), std::string::npos);
  EXPECT_FALSE(started()->on_challenge("r=abcdef,s="s + kSalt + ",i=-1").ok());
  EXPECT_FALSE(started()->on_challenge("r=abcdef,s="s + kSalt + ",i=99999999999").ok());
}

TEST_F(ScramRefusal, MalformedServerFirst) {
  EXPECT_FALSE(started()->on_challenge("").ok());
  EXPECT_FALSE(started()->on_challenge("r=abcdef,i=4096").ok());
  EXPECT_FALSE(started()->on_challenge("r=abcdef,s=!!!,i=4096").ok());
  EXPECT_FALSE(started()->on_challenge("m=ext,r=abcdef,s="s + kSalt + ",i=4096").ok());
}

TEST_F(ScramRefusal, AnErrorInsteadOfServerFirst) {
  auto r = started()->on_challenge("e=unknown-user");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("unknown-user"), std::string::npos);
}

TEST_F(ScramRefusal, AWrongServerSignature) {
  auto m = started();
  ASSERT_TRUE(m->on_challenge("r=abcdef,s="s + kSalt + ",i=4096").ok());
  auto r = m->on_challenge("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("signature"), std::string::npos);
  EXPECT_EQ(r.error().message().find("pencil"), std::string::npos);
  // Failed for good: nothing more is accepted.
  EXPECT_FALSE(m->on_challenge("v=").ok());
}

TEST_F(ScramRefusal, AnErrorInsteadOfServerFinal) {
  auto m = started();
  ASSERT_TRUE(m->on_challenge("r=abcdef,s="s + kSalt + ",i=4096").ok());
  auto r = m->on_challenge("e=invalid-proof");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("invalid-proof"), std::string::npos);
}

TEST(Sasl, Base64RoundTrips) {
  for (std::string s : {""s, "a"s, "ab"s, "abc"s, "\0\xff\x10z"s}) {
    auto back = scram::base64_decode(scram::base64_encode(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(scram::base64_encode("n,,"), "biws");
  EXPECT_FALSE(scram::base64_decode("a$==").ok());
}

}  // namespace
}  // namespace ferry::client
