// SaslHandshake (key 17) and SaslAuthenticate (key 36), answered as a broker with no SASL
// mechanism enabled: every listener is PLAINTEXT until security lands.
//
// SaslHandshake gets UNSUPPORTED_SASL_MECHANISM with an empty list of enabled mechanisms, so a
// client configured for SASL learns why it cannot authenticate instead of seeing its
// connection closed; SaslAuthenticate, which may only follow a successful handshake, gets
// ILLEGAL_SASL_STATE. Neither closes the connection nor changes the Session. Clients not
// configured for SASL never send either.
#include "protocol/messages/sasl.h"

#include "broker/api_table.h"
#include "broker/broker.h"
#include "common/log.h"

namespace ferry::broker {

void handle_sasl_handshake(Broker&, Request&& r) {
  protocol::SaslHandshakeRequest req;
  if (!decode_body(r, req)) return;
  FERRY_LOG(
      debug, "broker",
      "client %s at %s asked for SASL mechanism '%s' on %.*s listener %s; none is enabled",
      log::escape(r.client()).c_str(), r.session->peer.c_str(), log::escape(req.mechanism).c_str(),
      static_cast<int>(net::security_protocol_name(r.session->protocol()).size()),
      net::security_protocol_name(r.session->protocol()).data(), r.session->listener.name.c_str());
  protocol::SaslHandshakeResponse resp;
  resp.error_code = wire(ErrorCode::unsupported_sasl_mechanism);
  respond(r, resp);
}

void handle_sasl_authenticate(Broker&, Request&& r) {
  protocol::SaslAuthenticateRequest req;
  if (!decode_body(r, req)) return;
  protocol::SaslAuthenticateResponse resp;
  resp.error_code = wire(ErrorCode::illegal_sasl_state);
  resp.error_message =
      "SaslAuthenticate without a successful SaslHandshake: no SASL mechanism is "
      "enabled on this listener";
  respond(r, resp);
}

}  // namespace ferry::broker
