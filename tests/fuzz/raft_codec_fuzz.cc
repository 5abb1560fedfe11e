// libFuzzer target for the Raft payloads of the node-to-node link (src/cluster/raft_codec.h):
// arbitrary bytes to the three decoders (vote frame, fetch request, fetch response).
//
// Checks: no crash or sanitizer report; the encoding is canonical, so whatever decodes
// re-encodes to exactly the input bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "cluster/raft_codec.h"

namespace {

[[noreturn]] void check_failed() { std::abort(); }

void same_bytes(const ferry::Buffer& encoded, std::span<const std::byte> input) {
  if (encoded.size() != input.size()) check_failed();
  if (!input.empty() && std::memcmp(encoded.data(), input.data(), input.size()) != 0) {
    check_failed();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ferry::cluster;
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  if (auto votes = decode_vote_frame(in); votes.ok()) same_bytes(encode_vote_frame(*votes), in);
  if (auto fetch = decode_fetch_request(in); fetch.ok()) {
    same_bytes(encode_fetch_request(*fetch), in);
  }
  if (auto answer = decode_fetch_response(in); answer.ok()) {
    same_bytes(encode_fetch_response(*answer), in);
  }
  return 0;
}
