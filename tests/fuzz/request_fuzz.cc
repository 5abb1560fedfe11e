// libFuzzer target for the request (and response) body decoders of every described API.
//
// Input: api_key:int16 api_version:int16 (big-endian), then the body. The body is decoded as
// that version's request and, separately, as its response. Checks: no crash or sanitizer report;
// decode_request_body agrees with the typed decode; and whatever decodes re-encodes to bytes
// that decode back to an equal message whose own encoding is identical.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "protocol/api.h"
#include "protocol/messages.h"
#include "protocol/schema.h"
#include "protocol/wire.h"

namespace {

using namespace ferry::protocol;

[[noreturn]] void check_failed() { std::abort(); }

template <typename M>
std::vector<std::byte> encode(const M& m, int16_t version, bool flexible) {
  std::vector<std::byte> out;
  Writer w(out);
  encode_message(m, version, flexible, w);
  return out;
}

template <typename M>
bool round_trip(std::span<const std::byte> body, int16_t version, bool flexible) {
  M first;
  if (!decode_message(body, version, flexible, first).ok()) return false;
  const std::vector<std::byte> wire = encode(first, version, flexible);
  M second;
  if (!decode_message(wire, version, flexible, second).ok()) check_failed();
  if (!(second == first)) check_failed();
  if (encode(second, version, flexible) != wire) check_failed();
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  Reader head(std::span<const std::byte>(bytes, 4));
  const int16_t key = head.i16();
  const int16_t version = head.i16();
  const std::span<const std::byte> body(bytes + 4, size - 4);

  const auto status = decode_request_body(key, version, body);
  visit_described_api(key, [&](auto k) {
    constexpr ApiKey api = decltype(k)::value;
    using Desc = Messages<api>;
    if (!Desc::has_version(version)) return;
    const bool flexible = is_flexible(api, version);
    const bool decoded = round_trip<typename Desc::Request>(body, version, flexible);
    if (decoded != status.ok()) check_failed();
    (void)round_trip<typename Desc::Response>(body, version, flexible);
  });
  return 0;
}
