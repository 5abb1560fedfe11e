// Several listeners in one broker: each is served, each session knows its listener, and every
// client is told the address of the listener it connected through (Metadata, FindCoordinator).
#include <gtest/gtest.h>

#include "broker_fixture.h"
#include "protocol/messages/groups.h"
#include "protocol/messages/metadata.h"
#include "protocol/messages/sasl.h"
#include "sasl_helpers.h"

namespace ferry::broker {
namespace {

using protocol::ApiKey;
using protocol::FindCoordinatorRequest;
using protocol::FindCoordinatorResponse;
using protocol::MetadataRequest;
using protocol::MetadataResponse;

class ListenersTest : public test::BrokerFixture {
 protected:
  void SetUp() override {
    test::add_user_offline(dir_.path(), "u", auth::Mechanism::scram_sha_256, "pw");
    BrokerFixture::SetUp();
  }
  // PLAIN in one SaslHandshake + SaslAuthenticate: the SASL listener serves nothing else before.
  test::TestConn& authenticated(test::TestConn& c) {
    protocol::SaslHandshakeRequest hs;
    hs.mechanism = "PLAIN";
    EXPECT_EQ(call<protocol::SaslHandshakeResponse>(c, ApiKey::sasl_handshake, 1, hs).error_code,
              0);
    protocol::SaslAuthenticateRequest a;
    a.auth_bytes = test::bytes_of(std::string("\0u\0pw", 5));
    EXPECT_EQ(
        call<protocol::SaslAuthenticateResponse>(c, ApiKey::sasl_authenticate, 1, a).error_code, 0);
    return c;
  }
  void configure(config::BrokerConfig& c) override {
    c.sasl_enabled_mechanisms = "PLAIN";
    // Both on ephemeral ports; the SASL_PLAINTEXT one advertises a name of its own.
    c.listeners = "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0";
    c.advertised_listeners = "SASL_PLAINTEXT://gw1.plant.example:19093";
  }
};

TEST_F(ListenersTest, EachListenerIsServedAndAdvertisesItsOwnAddress) {
  const uint16_t plain = broker_->port("PLAINTEXT");
  const uint16_t sasl = broker_->port("SASL_PLAINTEXT");
  ASSERT_NE(plain, 0);
  ASSERT_NE(sasl, 0);
  ASSERT_NE(plain, sasl);
  EXPECT_EQ(broker_->port(), plain);  // the first listener
  EXPECT_EQ(broker_->port("SSL"), 0);

  MetadataRequest all;
  all.topics = std::nullopt;
  auto via_plain = call<MetadataResponse>(connect(plain), ApiKey::metadata, 8, all);
  ASSERT_EQ(via_plain.brokers.size(), 1u);
  EXPECT_EQ(via_plain.brokers[0].host, "127.0.0.1");
  EXPECT_EQ(via_plain.brokers[0].port, plain);  // port 0 advertised as the port bound

  auto via_sasl = call<MetadataResponse>(authenticated(connect(sasl)), ApiKey::metadata, 8, all);
  ASSERT_EQ(via_sasl.brokers.size(), 1u);
  EXPECT_EQ(via_sasl.brokers[0].host, "gw1.plant.example");
  EXPECT_EQ(via_sasl.brokers[0].port, 19093);

  FindCoordinatorRequest fc;
  fc.key = "g";
  auto coord = call<FindCoordinatorResponse>(*conns_.back(), ApiKey::find_coordinator, 2, fc);
  EXPECT_EQ(coord.error_code, 0);
  EXPECT_EQ(coord.host, "gw1.plant.example");
  EXPECT_EQ(coord.port, 19093);
  coord = call<FindCoordinatorResponse>(*conns_.front(), ApiKey::find_coordinator, 2, fc);
  EXPECT_EQ(coord.host, "127.0.0.1");
  EXPECT_EQ(coord.port, plain);
}

class TlsListenerWithoutCertificateTest : public ::testing::Test {};

TEST_F(TlsListenerWithoutCertificateTest, FailsTheStartNamingTheListener) {
  // An SSL listener with no certificate configured is refused at start with its name, never
  // served as plaintext (the config loader refuses it in a file; this is the broker's own check).
  ferry::test::TempDir dir;
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    config::BrokerConfig cfg;
    cfg.data_dir = dir.path();
    cfg.listeners = "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0";
    app::Node node(&loop, cfg);
    auto st = node.start();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("SSL://127.0.0.1:0"), std::string::npos)
        << st.error().message();
    bool closed = false;
    node.shutdown([&](Status) { closed = true; });
    for (int i = 0; i < 1000 && !closed; ++i) uv_run(&loop, UV_RUN_ONCE);
    EXPECT_TRUE(closed);
  }
  for (int i = 0; i < 20; ++i) uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace ferry::broker
