// SaslHandshake (key 17) and SaslAuthenticate (key 36), and raw tokens after a v0 handshake.
//
// On SASL_PLAINTEXT and SASL_SSL listeners: the handshake names one of sasl.enabled.mechanisms
// and starts its exchange (broker/auth/); each SaslAuthenticate carries one client token and
// returns the mechanism's challenge. On success the session's principal becomes User:<name>.
// A handshake naming a mechanism that is not enabled gets UNSUPPORTED_SASL_MECHANISM with the
// enabled list, and the connection is closed once that is written (as Kafka does). A failed
// authentication gets SASL_AUTHENTICATION_FAILED with one message whatever went wrong (so it
// does not tell whether the user exists), is logged with the peer address (rate-limited),
// counts towards the address's failure limit, and the connection is closed once the answer is
// written. While an address is locked out its attempts fail the same way without being
// checked. Re-authentication (KIP-368) is not offered: session_lifetime_ms is 0.
//
// On PLAINTEXT and SSL listeners nothing is enabled: the handshake gets
// UNSUPPORTED_SASL_MECHANISM with an empty list, SaslAuthenticate ILLEGAL_SASL_STATE, and the
// connection stays open.
#include "protocol/messages/sasl.h"

#include <cstring>

#include "broker/api_table.h"
#include "broker/auth/mechanism.h"
#include "broker/broker.h"
#include "broker/handlers/sasl_raw.h"
#include "common/bytes.h"
#include "common/log.h"

namespace ferry::broker {
namespace {

constexpr const char* kFailedMessage = "Authentication failed: invalid username or password";

bool sasl_listener(const net::Session& s) {
  return s.protocol() == net::SecurityProtocol::sasl_plaintext ||
         s.protocol() == net::SecurityProtocol::sasl_ssl;
}

std::string_view protocol_name(const net::Session& s) {
  return net::security_protocol_name(s.protocol());
}

// Runs one client token through the session's exchange. Returns the challenge for the client,
// or nullopt when authentication failed (logged, counted; the session is reset).
std::optional<std::string> run_token(Broker& b, net::Session& s, std::string_view token,
                                     bool* done) {
  *done = false;
  auto& authn = b.authenticator();
  auto* exchange = dynamic_cast<auth::SaslServer*>(s.exchange.get());
  const int64_t steady = b.clock().steady_ms();
  const uint64_t now = steady >= 0 ? static_cast<uint64_t>(steady) : 0;
  std::string why;
  if (exchange == nullptr) {
    why = "no exchange in progress";
  } else if (authn.failures().locked_out(s.peer_host, now)) {
    why = "address locked out after repeated failures (sasl.failed.authentication.limit)";
  } else {
    auto step = exchange->on_token(token);
    if (step) {
      if (step->done) {
        s.principal = net::Principal{"User", exchange->user()};
        s.auth = net::AuthState::authenticated;
        s.raw_sasl_tokens = false;
        authn.failures().record_success(s.peer_host);
        FERRY_LOG(debug, "broker", "%s at %s authenticated with %s on listener %s",
                  log::escape(s.principal.to_string()).c_str(), s.peer.c_str(), s.mechanism.c_str(),
                  s.listener.name.c_str());
        s.exchange.reset();
        *done = true;
      }
      return std::move(step->challenge);
    }
    why = step.error().message();
    if (authn.failures().record_failure(s.peer_host, now)) {
      FERRY_LOG(warn, "broker",
                "SASL: %s reached sasl.failed.authentication.limit; its authentications are "
                "refused for the next window",
                s.peer_host.c_str());
    }
  }
  const std::string user = exchange != nullptr ? exchange->user() : std::string();
  FERRY_LOG_RATELIMITED(warn, "broker", "SASL authentication failed",
                        "SASL authentication failed for %s at %s (%s, user '%s'): %s",
                        s.listener.name.c_str(), s.peer.c_str(), s.mechanism.c_str(),
                        log::escape(user).c_str(), why.c_str());
  s.exchange.reset();
  s.auth = net::AuthState::none;
  return std::nullopt;
}

}  // namespace

void handle_sasl_handshake(Broker& b, Request&& r) {
  protocol::SaslHandshakeRequest req;
  if (!decode_body(r, req)) return;
  net::Session& s = *r.session;
  protocol::SaslHandshakeResponse resp;
  if (!sasl_listener(s)) {
    FERRY_LOG(debug, "broker",
              "client %s at %s asked for SASL mechanism '%s' on %.*s listener %s; none is enabled",
              log::escape(r.client()).c_str(), s.peer.c_str(), log::escape(req.mechanism).c_str(),
              static_cast<int>(protocol_name(s).size()), protocol_name(s).data(),
              s.listener.name.c_str());
    resp.error_code = wire(ErrorCode::unsupported_sasl_mechanism);
    respond(r, resp);
    return;
  }
  auto& authn = b.authenticator();
  resp.mechanisms = authn.enabled_names();
  if (s.auth != net::AuthState::none) {
    FERRY_LOG_RATELIMITED(warn, "broker", "SASL handshake in wrong state",
                          "client %s at %s sent SaslHandshake while %.*s; closing its connection",
                          log::escape(r.client()).c_str(), s.peer.c_str(),
                          static_cast<int>(net::auth_state_name(s.auth).size()),
                          net::auth_state_name(s.auth).data());
    resp.error_code = wire(ErrorCode::illegal_sasl_state);
    respond(r, resp);
    r.slot.close_when_drained();
    return;
  }
  const auto m = auth::parse_mechanism(req.mechanism);
  if (!m || !authn.enabled(*m)) {
    FERRY_LOG_RATELIMITED(info, "broker", "SASL mechanism not enabled",
                          "client %s at %s asked for SASL mechanism '%s', not enabled on "
                          "listener %s; closing its connection",
                          log::escape(r.client()).c_str(), s.peer.c_str(),
                          log::escape(req.mechanism).c_str(), s.listener.name.c_str());
    resp.error_code = wire(ErrorCode::unsupported_sasl_mechanism);
    respond(r, resp);
    r.slot.close_when_drained();
    return;
  }
  s.exchange = authn.start(*m);
  s.mechanism = std::string(auth::mechanism_name(*m));
  s.auth = net::AuthState::in_progress;
  s.raw_sasl_tokens = r.version() == 0;
  respond(r, resp);
}

void handle_sasl_authenticate(Broker& b, Request&& r) {
  protocol::SaslAuthenticateRequest req;
  if (!decode_body(r, req)) return;
  net::Session& s = *r.session;
  protocol::SaslAuthenticateResponse resp;
  if (!sasl_listener(s) || s.auth != net::AuthState::in_progress) {
    resp.error_code = wire(ErrorCode::illegal_sasl_state);
    resp.error_message = sasl_listener(s)
                             ? "SaslAuthenticate without a SaslHandshake naming a mechanism, or "
                               "after authentication completed"
                             : "SaslAuthenticate without a successful SaslHandshake: no SASL "
                               "mechanism is enabled on this listener";
    respond(r, resp);
    if (sasl_listener(s)) r.slot.close_when_drained();
    return;
  }
  const std::string_view token(reinterpret_cast<const char*>(req.auth_bytes.data()),
                               req.auth_bytes.size());
  bool done = false;
  auto challenge = run_token(b, s, token, &done);
  if (!challenge) {
    resp.error_code = wire(ErrorCode::sasl_authentication_failed);
    resp.error_message = kFailedMessage;
    respond(r, resp);
    r.slot.close_when_drained();
    return;
  }
  resp.auth_bytes.resize(challenge->size());
  if (!challenge->empty())
    std::memcpy(resp.auth_bytes.data(), challenge->data(), challenge->size());
  resp.session_lifetime_ms = 0;
  respond(r, resp);
}

void handle_sasl_raw_token(Broker& b, net::ResponseSlot slot, Buffer frame,
                           std::shared_ptr<net::Session> session) {
  const std::string_view token(reinterpret_cast<const char*>(frame.data()), frame.size());
  bool done = false;
  auto challenge = run_token(b, *session, token, &done);
  if (!challenge) {
    slot.close_connection("SASL authentication failed");
    return;
  }
  // A raw token back: its size, then its bytes (an empty one after PLAIN succeeds).
  std::vector<std::byte> out(4 + challenge->size());
  store_i32(out.data(), static_cast<int32_t>(challenge->size()));
  if (!challenge->empty()) std::memcpy(out.data() + 4, challenge->data(), challenge->size());
  slot.respond(std::move(out));
}

}  // namespace ferry::broker
