// The legacy SASL framing (after a SaslHandshake v0, as kafka-python sends it): each frame the
// client sends is a raw token (no request header), answered by a raw size-prefixed token; a
// failure closes the connection, since the framing has no way to carry an error. Called by
// Broker::on_request for sessions in that state (net::Session::raw_sasl_tokens).
#pragma once

#include <memory>

#include "common/buffer.h"
#include "net/connection.h"
#include "net/session.h"

namespace ferry::broker {

class Broker;

void handle_sasl_raw_token(Broker& b, net::ResponseSlot slot, Buffer frame,
                           std::shared_ptr<net::Session> session);

}  // namespace ferry::broker
