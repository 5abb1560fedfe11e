// Connection against a scripted in-process broker on the same loop (no threads): version
// negotiation, SASL authentication, pipelining, timeouts, lost connections, and callbacks that
// destroy their owner.
#include "client/connection.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "unit/client/fake_broker.h"
#include "unit/client/loop_test.h"
#include "unit/client/scram_server.h"

namespace ferry::client {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;
using test::FakeBroker;

// A ListGroups answer naming one group after the request's correlation id.
std::vector<std::byte> list_groups_answer(const protocol::RequestHeader& h) {
  protocol::ListGroupsResponse resp;
  resp.groups.push_back({"g" + std::to_string(h.correlation_id), "consumer"});
  std::vector<std::byte> out;
  protocol::Writer w(out);
  protocol::encode_message(resp, h.api_version, false, w);
  return out;
}

class ConnectionTest : public test::LoopTest {
 protected:
  ConnectionOptions options(uint64_t request_timeout_ms = 5000) {
    ConnectionOptions o;
    o.request_timeout_ms = request_timeout_ms;
    o.connect_timeout_ms = 5000;
    return o;
  }
};

using ListGroupsResult = KafkaResult<protocol::ListGroupsResponse>;

TEST_F(ConnectionTest, NegotiatesTheHighestCommonVersion) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 1};  // we describe 0-2
  broker.versions[static_cast<int16_t>(ApiKey::metadata)] = {0, 12};    // we describe 0-8
  broker.handler = [](const auto& h, auto) { return list_groups_answer(h); };
  Connection c(&loop_, "127.0.0.1", broker.port, options());
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_TRUE(got->ok()) << got->error().to_string();
  EXPECT_EQ(c.version(ApiKey::list_groups), 1);
  EXPECT_EQ(c.version(ApiKey::metadata), 8);
  EXPECT_EQ(c.version(ApiKey::fetch), -1);
  EXPECT_EQ(broker.api_versions_seen, std::vector<int16_t>{3});
}

TEST_F(ConnectionTest, FallsBackToApiVersionsV0) {
  FakeBroker broker(&loop_);
  broker.max_api_versions = 2;
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  broker.handler = [](const auto& h, auto) { return list_groups_answer(h); };
  Connection c(&loop_, "127.0.0.1", broker.port, options());
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_TRUE(got->ok()) << got->error().to_string();
  EXPECT_EQ(broker.api_versions_seen, (std::vector<int16_t>{3, 0}));
  EXPECT_EQ(c.version(ApiKey::api_versions), 2);
}

TEST_F(ConnectionTest, PipelinedRequestsGetTheirOwnResponses) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  broker.handler = [](const auto& h, auto) { return list_groups_answer(h); };
  Connection c(&loop_, "127.0.0.1", broker.port, options());
  std::vector<std::string> names(3);
  int done = 0;
  for (size_t i = 0; i < 3; ++i) {
    c.send<ApiKey::list_groups>({}, [&, i](ListGroupsResult r) {
      ASSERT_TRUE(r.ok());
      names[i] = r->groups.at(0).group_id;
      ++done;
    });
  }
  run_until([&] { return done == 3; });
  // Correlation id 1 went to ApiVersions.
  EXPECT_EQ(names, (std::vector<std::string>{"g2", "g3", "g4"}));
}

TEST_F(ConnectionTest, AtMostMaxInFlightRequestsAwaitResponses) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  std::vector<std::string> names;  // responses the client has completed, in order
  size_t received = 0;
  size_t most_outstanding = 0;  // requests received whose response the client has not seen
  broker.handler = [&](const auto& h, auto) -> std::optional<std::vector<std::byte>> {
    ++received;
    most_outstanding = std::max(most_outstanding, received - names.size());
    return list_groups_answer(h);
  };
  auto o = options();
  o.max_in_flight = 2;
  Connection c(&loop_, "127.0.0.1", broker.port, o);
  for (int i = 0; i < 6; ++i) {
    c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) {
      ASSERT_TRUE(r.ok());
      names.push_back(r->groups.at(0).group_id);
    });
  }
  run_until([&] { return names.size() == 6; });
  EXPECT_EQ(most_outstanding, 2u);
  EXPECT_EQ(names, (std::vector<std::string>{"g2", "g3", "g4", "g5", "g6", "g7"}));
}

TEST_F(ConnectionTest, AnApiWithoutACommonVersionFailsWithoutBeingSent) {
  FakeBroker broker(&loop_);
  int sent = 0;
  broker.handler = [&](const auto&, auto) -> std::optional<std::vector<std::byte>> {
    ++sent;
    return std::nullopt;
  };
  Connection c(&loop_, "127.0.0.1", broker.port, options());
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code(), ErrorCode::unsupported_version);
  EXPECT_FALSE(got->error().from_broker());
  EXPECT_EQ(sent, 0);
}

TEST_F(ConnectionTest, AnUnansweredRequestTimesOutAndFailsTheConnection) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  broker.handler = [](const auto&, auto) { return std::nullopt; };
  Connection c(&loop_, "127.0.0.1", broker.port, options(50));
  std::vector<ListGroupsResult> got;
  for (int i = 0; i < 2; ++i)
    c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.push_back(std::move(r)); });
  run_until([&] { return got.size() == 2; });
  for (const auto& r : got) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::request_timed_out);
  }
  EXPECT_TRUE(c.failed());
  // Sticky: a later request fails the same way, and not inside send().
  std::optional<ListGroupsResult> later;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { later.emplace(std::move(r)); });
  EXPECT_FALSE(later.has_value());
  run_until([&] { return later.has_value(); });
  EXPECT_EQ(later->error().code(), ErrorCode::request_timed_out);
}

// A connection whose broker stops answering (a TCP connection silently dead after a NAT
// rebind) is failed by the watchdog long before request_timeout_ms.
TEST_F(ConnectionTest, TheWatchdogFailsASilentConnectionBeforeTheRequestTimeout) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  bool silent = false;
  broker.handler = [&](const auto& h, auto) -> std::optional<std::vector<std::byte>> {
    if (silent) return std::nullopt;
    return list_groups_answer(h);
  };
  ConnectionOptions o = options(60'000);
  o.watchdog_timeout_ms = 150;
  Connection c(&loop_, "127.0.0.1", broker.port, o);
  std::optional<ListGroupsResult> first;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { first.emplace(std::move(r)); });
  run_until([&] { return first.has_value(); });
  ASSERT_TRUE(first->ok()) << first->error().to_string();
  silent = true;
  std::optional<ListGroupsResult> got;
  const uint64_t sent = uv_now(&loop_);
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); }, 5000);
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code(), ErrorCode::network_exception);
  EXPECT_NE(got->error().message().find("watchdog"), std::string::npos) << got->error().message();
  EXPECT_GE(uv_now(&loop_) - sent, 140u);
  EXPECT_TRUE(c.failed());
}

// An idle connection (nothing awaited) is not the watchdog's business, and a request sent after
// a quiet spell longer than the watchdog timeout is answered normally.
TEST_F(ConnectionTest, TheWatchdogLeavesAnIdleConnectionAlone) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  broker.handler = [](const auto& h, auto) { return list_groups_answer(h); };
  ConnectionOptions o = options();
  o.watchdog_timeout_ms = 50;
  Connection c(&loop_, "127.0.0.1", broker.port, o);
  std::optional<ListGroupsResult> first;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { first.emplace(std::move(r)); });
  run_until([&] { return first.has_value(); });
  ASSERT_TRUE(first->ok()) << first->error().to_string();
  // Idle for four watchdog periods (nothing to wait for, so no event to await instead).
  const uint64_t until = uv_now(&loop_) + 200;
  run_until([&] { return uv_now(&loop_) >= until; });
  EXPECT_FALSE(c.failed());
  std::optional<ListGroupsResult> second;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { second.emplace(std::move(r)); });
  run_until([&] { return second.has_value(); });
  ASSERT_TRUE(second->ok()) << second->error().to_string();
}

TEST_F(ConnectionTest, ARefusedConnectionIsANetworkError) {
  uint16_t port = 0;
  {
    FakeBroker closed(&loop_);  // a port nothing listens on once it is gone
    port = closed.port;
  }
  Connection c(&loop_, "127.0.0.1", port, options());
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code(), ErrorCode::network_exception);
  EXPECT_NE(got->error().message().find("connect to 127.0.0.1:"), std::string::npos);
}

TEST_F(ConnectionTest, TheBrokerClosingFailsPendingRequests) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  broker.handler = [&](const auto&, auto) -> std::optional<std::vector<std::byte>> {
    broker.drop_clients();
    return std::nullopt;
  };
  Connection c(&loop_, "127.0.0.1", broker.port, options());
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code(), ErrorCode::network_exception);
}

TEST_F(ConnectionTest, ACallbackMayDestroyItsConnection) {
  FakeBroker broker(&loop_);
  broker.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
  broker.handler = [](const auto& h, auto) { return list_groups_answer(h); };
  auto c = std::make_unique<Connection>(&loop_, "127.0.0.1", broker.port, options());
  int calls = 0;
  for (int i = 0; i < 3; ++i) {
    c->send<ApiKey::list_groups>({}, [&](ListGroupsResult) {
      ++calls;
      c.reset();  // the other two callbacks are dropped
    });
  }
  run_until([&] { return c == nullptr; });
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(calls, 1);
}

// --- SASL -----------------------------------------------------------------------------------

template <typename M>
std::vector<std::byte> encoded(const M& m, int16_t version) {
  std::vector<std::byte> out;
  protocol::Writer w(out);
  protocol::encode_message(m, version, false, w);
  return out;
}

std::string text(const protocol::Bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

protocol::Bytes bytes_of(const std::string& s) {
  protocol::Bytes b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

// A broker that offers SASL: it records every request after ApiVersions, answers SaslHandshake
// with `enabled`, SaslAuthenticate through `authenticate` and ListGroups normally.
struct SaslBroker {
  explicit SaslBroker(uv_loop_t* loop, int16_t authenticate_max = 1) : fake(loop) {
    fake.versions[static_cast<int16_t>(ApiKey::sasl_handshake)] = {0, 1};
    fake.versions[static_cast<int16_t>(ApiKey::sasl_authenticate)] = {0, authenticate_max};
    fake.versions[static_cast<int16_t>(ApiKey::list_groups)] = {0, 2};
    fake.handler = [this](
                       const protocol::RequestHeader& h,
                       std::span<const std::byte> body) -> std::optional<std::vector<std::byte>> {
      seen.emplace_back(h.api_key, h.api_version);
      protocol::Reader r(body);
      if (h.api_key == static_cast<int16_t>(ApiKey::sasl_handshake)) {
        protocol::SaslHandshakeRequest req;
        EXPECT_TRUE(protocol::decode_message(body, h.api_version, false, req).ok());
        mechanism = req.mechanism;
        protocol::SaslHandshakeResponse resp;
        resp.mechanisms = enabled;
        if (std::find(enabled.begin(), enabled.end(), req.mechanism) == enabled.end())
          resp.error_code = protocol::wire(ErrorCode::unsupported_sasl_mechanism);
        return encoded(resp, h.api_version);
      }
      if (h.api_key == static_cast<int16_t>(ApiKey::sasl_authenticate)) {
        protocol::SaslAuthenticateRequest req;
        EXPECT_TRUE(protocol::decode_message(body, h.api_version, false, req).ok());
        tokens.push_back(text(req.auth_bytes));
        return encoded(authenticate(tokens.back()), h.api_version);
      }
      return list_groups_answer(h);
    };
  }

  FakeBroker fake;
  std::vector<std::string> enabled{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
  std::function<protocol::SaslAuthenticateResponse(const std::string&)> authenticate =
      [](const std::string&) { return protocol::SaslAuthenticateResponse{}; };
  std::vector<std::pair<int16_t, int16_t>> seen;  // (api key, version) after ApiVersions
  std::string mechanism;
  std::vector<std::string> tokens;
};

ConnectionOptions with_sasl(ConnectionOptions o, SaslMechanism m, std::string user,
                            std::string password) {
  o.sasl = SaslConfig{m, std::move(user), std::move(password)};
  return o;
}

constexpr int16_t kHandshake = static_cast<int16_t>(ApiKey::sasl_handshake);
constexpr int16_t kAuthenticate = static_cast<int16_t>(ApiKey::sasl_authenticate);
constexpr int16_t kListGroups = static_cast<int16_t>(ApiKey::list_groups);

TEST_F(ConnectionTest, SaslPlainAuthenticatesBeforeAQueuedRequest) {
  SaslBroker broker(&loop_);
  Connection c(&loop_, "127.0.0.1", broker.fake.port,
               with_sasl(options(), SaslMechanism::plain, "alice", "pw0"));
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_TRUE(got->ok()) << got->error().to_string();
  EXPECT_EQ(broker.mechanism, "PLAIN");
  EXPECT_EQ(broker.tokens, std::vector<std::string>{std::string("\0alice\0pw0", 10)});
  using Seen = std::vector<std::pair<int16_t, int16_t>>;
  EXPECT_EQ(broker.seen, (Seen{{kHandshake, 1}, {kAuthenticate, 1}, {kListGroups, 2}}));
  EXPECT_TRUE(c.ready());
}

TEST_F(ConnectionTest, SaslScramUsesSaslAuthenticateV0WhenThatIsAllTheBrokerHas) {
  SaslBroker broker(&loop_, /*authenticate_max=*/0);
  test::ScramServer server(SaslMechanism::scram_sha_256, "pencil", "NaCl", 4096);
  broker.authenticate = [&](const std::string& token) {
    protocol::SaslAuthenticateResponse resp;
    resp.auth_bytes =
        bytes_of(broker.tokens.size() == 1 ? server.first(token) : server.final_(token));
    return resp;
  };
  Connection c(&loop_, "127.0.0.1", broker.fake.port,
               with_sasl(options(), SaslMechanism::scram_sha_256, "user", "pencil"));
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_TRUE(got->ok()) << got->error().to_string();
  EXPECT_EQ(broker.mechanism, "SCRAM-SHA-256");
  EXPECT_EQ(server.user_, "user");
  using Seen = std::vector<std::pair<int16_t, int16_t>>;
  EXPECT_EQ(broker.seen,
            (Seen{{kHandshake, 1}, {kAuthenticate, 0}, {kAuthenticate, 0}, {kListGroups, 2}}));
  ASSERT_EQ(broker.tokens.size(), 2u);
  EXPECT_EQ(broker.tokens[0].substr(0, 12), "n,,n=user,r=");
  EXPECT_EQ(broker.tokens[1].substr(0, 9), "c=biws,r=");
}

TEST_F(ConnectionTest, SaslAMechanismTheBrokerLacksFailsWithItsList) {
  SaslBroker broker(&loop_);
  broker.enabled = {"PLAIN", "GSSAPI"};
  Connection c(&loop_, "127.0.0.1", broker.fake.port,
               with_sasl(options(), SaslMechanism::scram_sha_512, "u", "hunter2"));
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code(), ErrorCode::unsupported_sasl_mechanism);
  EXPECT_TRUE(got->error().from_broker());
  EXPECT_NE(got->error().message().find("SCRAM-SHA-512"), std::string::npos);
  EXPECT_NE(got->error().message().find("PLAIN, GSSAPI"), std::string::npos);
  using Seen = std::vector<std::pair<int16_t, int16_t>>;
  EXPECT_EQ(broker.seen, (Seen{{kHandshake, 1}}));
  EXPECT_TRUE(c.failed());
}

TEST_F(ConnectionTest, SaslRejectedCredentialsFailTheConnectionWithTheBrokersMessage) {
  SaslBroker broker(&loop_);
  broker.authenticate = [](const std::string&) {
    protocol::SaslAuthenticateResponse resp;
    resp.error_code = protocol::wire(ErrorCode::sasl_authentication_failed);
    resp.error_message = "Authentication failed: Invalid username or password";
    return resp;
  };
  Connection c(&loop_, "127.0.0.1", broker.fake.port,
               with_sasl(options(), SaslMechanism::plain, "alice", "hunter2"));
  std::vector<ListGroupsResult> got;
  for (int i = 0; i < 2; ++i)
    c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.push_back(std::move(r)); });
  run_until([&] { return got.size() == 2; });
  for (const auto& r : got) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::sasl_authentication_failed);
    EXPECT_EQ(r.error().message(), "Authentication failed: Invalid username or password");
    EXPECT_EQ(r.error().to_string().find("hunter2"), std::string::npos);
  }
  using Seen = std::vector<std::pair<int16_t, int16_t>>;
  EXPECT_EQ(broker.seen, (Seen{{kHandshake, 1}, {kAuthenticate, 1}}));
}

TEST_F(ConnectionTest, SaslAForgedServerSignatureFailsTheConnection) {
  SaslBroker broker(&loop_);
  test::ScramServer server(SaslMechanism::scram_sha_512, "other password", "salt", 4096);
  broker.authenticate = [&](const std::string& token) {
    protocol::SaslAuthenticateResponse resp;
    // An impostor that does not check the proof and makes up its signature.
    if (broker.tokens.size() == 1) {
      resp.auth_bytes = bytes_of(server.first(token));
    } else {
      resp.auth_bytes = bytes_of("v=" + scram::base64_encode(std::string(64, 'x')));
    }
    return resp;
  };
  Connection c(&loop_, "127.0.0.1", broker.fake.port,
               with_sasl(options(), SaslMechanism::scram_sha_512, "u", "hunter2"));
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code(), ErrorCode::sasl_authentication_failed);
  EXPECT_FALSE(got->error().from_broker());
  EXPECT_NE(got->error().message().find("signature"), std::string::npos);
  EXPECT_EQ(got->error().message().find("hunter2"), std::string::npos);
}

TEST_F(ConnectionTest, SaslAgainstABrokerWithoutSaslFailsClearly) {
  FakeBroker broker(&loop_);
  broker.versions[kListGroups] = {0, 2};
  int sent = 0;
  broker.handler = [&](const auto& h, auto) {
    ++sent;
    return std::optional(list_groups_answer(h));
  };
  Connection c(&loop_, "127.0.0.1", broker.port,
               with_sasl(options(), SaslMechanism::plain, "alice", "pw"));
  std::optional<ListGroupsResult> got;
  c.send<ApiKey::list_groups>({}, [&](ListGroupsResult r) { got.emplace(std::move(r)); });
  run_until([&] { return got.has_value(); });
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code(), ErrorCode::unsupported_sasl_mechanism);
  EXPECT_NE(got->error().message().find("does not offer SASL"), std::string::npos);
  EXPECT_EQ(sent, 0);
}

}  // namespace
}  // namespace ferry::client
