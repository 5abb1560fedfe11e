// Dispatch from a runtime (api key, version) to the message struct that decodes it.
#include "protocol/messages.h"

#include <optional>
#include <string>
#include <utility>

namespace ferry::protocol {

Status decode_request_body(int16_t api_key, int16_t version, std::span<const std::byte> body) {
  std::optional<Status> result;
  visit_described_api(api_key, [&](auto k) {
    constexpr ApiKey key = decltype(k)::value;
    using Desc = Messages<key>;
    if (!Desc::has_version(version)) return;
    typename Desc::Request request;
    result = decode_message(body, version, is_flexible(key, version), request);
  });
  if (!result) {
    return Error(Errc::unsupported, "no description of api key " + std::to_string(api_key) +
                                        " version " + std::to_string(version));
  }
  return std::move(*result);
}

}  // namespace ferry::protocol
