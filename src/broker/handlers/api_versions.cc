// ApiVersions (key 18): the supported version ranges, built from the API table.
//
// A version newer than ours gets UNSUPPORTED_VERSION in the v0 layout (with at least our
// ApiVersions entry) so that the client can retry with a version we support; the connection is
// never closed for it (KIP-511).
#include "protocol/messages/api_versions.h"

#include "broker/api_table.h"
#include "broker/broker.h"

namespace ferry::broker {

void handle_api_versions(Broker&, Request&& r) {
  protocol::ApiVersionsResponse resp;
  for (const auto& h : api_handlers()) {
    if (h.advertised)
      resp.api_keys.push_back({static_cast<int16_t>(h.key), h.min_version, h.max_version});
  }
  const ApiHandler* self = find_api_handler(static_cast<int16_t>(protocol::ApiKey::api_versions));
  if (r.version() > self->max_version) {
    resp.error_code = static_cast<int16_t>(ErrorCode::unsupported_version);
    std::vector<std::byte> out;
    protocol::Writer w(out);
    const size_t mark = w.reserve_size();
    w.i32(r.header.correlation_id);
    protocol::encode_message(resp, 0, false, w);
    w.patch_size(mark);
    r.slot.respond(std::move(out));
    return;
  }
  protocol::ApiVersionsRequest req;
  if (!decode_body(r, req)) return;
  respond(r, resp);
}

}  // namespace ferry::broker
