// net::Session through a real Server: what it says about the peer and the listener, that it is
// one object per connection, and that a handler may keep it past the connection's close.
#include "net/session.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "net/server.h"
#include "net_fixture.h"

namespace ferry::net {
namespace {

using test_support::Client;
using test_support::frame_of;
using test_support::ServerTest;

TEST_F(ServerTest, SessionNamesThePeerTheListenerAndAnAnonymousPrincipal) {
  std::vector<std::shared_ptr<Session>> seen;
  std::vector<uint64_t> ids;
  handler_ = [&](Connection& c, ResponseSlot slot, const std::string& body) {
    seen.push_back(c.session());
    ids.push_back(c.id());
    slot.respond(frame_of("re:" + body));
  };
  start({}, [](ServerOptions& o) { o.listener = {"INTERNAL", SecurityProtocol::plaintext}; });
  Client a(&loop_, server_->port());
  Client b(&loop_, server_->port());
  a.send(frame_of("a-first-"));
  a.send(frame_of("a-second"));
  ASSERT_TRUE(run_until([&] { return a.frames().size() == 2; }));
  b.send(frame_of("b-first-"));
  ASSERT_TRUE(run_until([&] { return b.frames().size() == 1; }));
  ASSERT_EQ(seen.size(), 3u);

  const Session& s = *seen[0];
  EXPECT_EQ(s.peer, "127.0.0.1:" + std::to_string(a.local_port()));
  EXPECT_EQ(s.peer_host, "127.0.0.1");
  EXPECT_EQ(s.connection_id, ids[0]);
  EXPECT_EQ(s.listener.name, "INTERNAL");
  EXPECT_EQ(s.protocol(), SecurityProtocol::plaintext);
  EXPECT_EQ(s.principal.to_string(), "User:ANONYMOUS");
  EXPECT_TRUE(s.principal.anonymous());
  EXPECT_EQ(s.auth, AuthState::none);
  EXPECT_FALSE(s.authenticated());
  EXPECT_EQ(s.mechanism, "");

  EXPECT_EQ(seen[0], seen[1]) << "one Session per connection, shared by its requests";
  EXPECT_NE(seen[0], seen[2]);
  EXPECT_EQ(seen[2]->peer, "127.0.0.1:" + std::to_string(b.local_port()));
}

TEST_F(ServerTest, ASessionKeptByAHandlerOutlivesItsConnection) {
  std::shared_ptr<Session> kept;
  std::vector<ResponseSlot> held;
  handler_ = [&](Connection& c, ResponseSlot slot, const std::string&) {
    kept = c.session();
    held.push_back(std::move(slot));  // answered after the client has gone
  };
  start();
  std::string peer;
  {
    Client client(&loop_, server_->port());
    client.send(frame_of("pending-"));
    ASSERT_TRUE(run_until([&] { return held.size() == 1; }));
    peer = "127.0.0.1:" + std::to_string(client.local_port());
  }
  ASSERT_TRUE(run_until([&] { return server_->connection_count() == 0; }));
  EXPECT_FALSE(held[0].connected());
  // The connection is gone; the handler's Session is not, and answering is a no-op.
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept.use_count(), 1);
  EXPECT_EQ(kept->peer, peer);
  kept->auth = AuthState::in_progress;  // writable without touching the dead connection
  held[0].respond(frame_of("too-late"));
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST(Session, NamesAndHostOf) {
  EXPECT_EQ(security_protocol_name(SecurityProtocol::plaintext), "PLAINTEXT");
  EXPECT_EQ(security_protocol_name(SecurityProtocol::ssl), "SSL");
  EXPECT_EQ(security_protocol_name(SecurityProtocol::sasl_plaintext), "SASL_PLAINTEXT");
  EXPECT_EQ(security_protocol_name(SecurityProtocol::sasl_ssl), "SASL_SSL");
  EXPECT_EQ(auth_state_name(AuthState::authenticated), "authenticated");
  EXPECT_EQ(host_of("10.0.0.7:9092"), "10.0.0.7");
  EXPECT_EQ(host_of("::1:40000"), "::1");
  EXPECT_EQ(host_of("?"), "?");
  Principal p;
  p.name = "alice";
  EXPECT_EQ(p.to_string(), "User:alice");
  EXPECT_FALSE(p.anonymous());
}

}  // namespace
}  // namespace ferry::net
