// One request as handlers see it, and the helpers that decode its body and send its response.
//
// A Request owns its frame; `body()` and any RecordsRef decoded from it view that frame, so a
// handler that completes later keeps the Request (moved into its callback) alive until then.
// It also holds its connection's Session (net/session.h: peer, listener, principal,
// authentication state), which therefore stays valid for as long as the handler keeps the
// Request, even past the connection's close; whether the client is still connected is
// `slot.connected()`.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "broker/authz/denied.h"
#include "broker/broker_metrics.h"
#include "common/buffer.h"
#include "common/log.h"
#include "net/connection.h"
#include "net/session.h"
#include "protocol/api.h"
#include "protocol/schema.h"
#include "protocol/wire.h"

namespace ferry::broker {

struct Request {
  protocol::RequestHeader header;
  Buffer frame;  // the request, header included
  size_t body_offset = 0;
  net::ResponseSlot slot;
  std::shared_ptr<net::Session> session;  // never null for a request the broker dispatched
  // Set by the authorization check point when it took denied items out of the request; the
  // respond functions below apply it to the response (authz/denied.h).
  std::shared_ptr<const authz::Denied> denied;
  // Counts the request and records its latency when the last copy of the Request goes
  // (broker_metrics.h); null for requests built outside the dispatcher.
  std::shared_ptr<RequestTimer> timer;

  // Counts an error code answered (per response or per partition) for /metrics.
  void note_error(int16_t code) const {
    if (timer) timer->error(code);
  }

  protocol::ApiKey key() const noexcept { return static_cast<protocol::ApiKey>(header.api_key); }
  int16_t version() const noexcept { return header.api_version; }
  bool flexible() const noexcept { return protocol::is_flexible(key(), version()); }
  std::span<const std::byte> body() const noexcept {
    return std::span<const std::byte>(frame).subspan(body_offset);
  }
  // Client id for logs.
  const char* client() const noexcept { return header.client_id ? header.client_id->c_str() : "-"; }
};

// Decodes the body into `out`. Malformed input is logged, the connection is closed (as Kafka
// closes connections that send requests it cannot parse) and false returned.
template <typename M>
bool decode_body(Request& r, M& out) {
  auto st = protocol::decode_message(r.body(), r.version(), r.flexible(), out);
  if (st) return true;
  FERRY_LOG(warn, "broker", "malformed %.*s v%d request from client %s: %s",
            static_cast<int>(protocol::api_name(r.header.api_key).size()),
            protocol::api_name(r.header.api_key).data(), r.version(), r.client(),
            st.error().message().c_str());
  r.slot.close_connection("malformed request");
  return false;
}

template <typename M>
std::vector<std::byte> encode_response(const Request& r, const M& m) {
  std::vector<std::byte> out;
  protocol::Writer w(out);
  const size_t mark = w.reserve_size();
  protocol::encode_response_header(r.key(), r.version(), r.header.correlation_id, w);
  protocol::encode_message(m, r.version(), r.flexible(), w);
  w.patch_size(mark);
  return out;
}

template <typename M>
void respond(const Request& r, const M& m) {
  if constexpr (requires { m.error_code; }) r.note_error(static_cast<int16_t>(m.error_code));
  if (r.denied) {
    M merged = m;
    authz::merge_denied(*r.denied, merged);
    r.slot.respond(encode_response(r, merged));
    return;
  }
  r.slot.respond(encode_response(r, m));
}

namespace detail {
template <typename M>
void send_spliced(const Request& r, const M& m, std::shared_ptr<const void> keep_alive) {
  net::OutFrame out;
  protocol::Writer w(out.bytes, &out.splices);
  const size_t mark = w.reserve_size();
  protocol::encode_response_header(r.key(), r.version(), r.header.correlation_id, w);
  protocol::encode_message(m, r.version(), r.flexible(), w);
  w.patch_size(mark);
  out.keep_alive = std::move(keep_alive);
  r.slot.respond(std::move(out));
}
}  // namespace detail

// Like respond(), but record sets of RECORDS fields are sent from where they lie instead of
// being copied into the response; `keep_alive` owns them until the response is written.
template <typename M>
void respond_spliced(const Request& r, const M& m, std::shared_ptr<const void> keep_alive) {
  if (r.denied) {
    M merged = m;  // the record sets stay views
    authz::merge_denied(*r.denied, merged);
    detail::send_spliced(r, merged, std::move(keep_alive));
    return;
  }
  detail::send_spliced(r, m, std::move(keep_alive));
}

}  // namespace ferry::broker
