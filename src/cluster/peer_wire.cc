// The hello and frame header of the link between nodes. See peer_wire.h.
#include "cluster/peer_wire.h"

#include <string>

#include "common/bytes.h"

namespace ferry::cluster {

std::string_view hello_status_name(HelloStatus s) noexcept {
  switch (s) {
    case HelloStatus::ok: return "ok";
    case HelloStatus::unknown_sender: return "unknown sender";
    case HelloStatus::wrong_direction: return "wrong direction (the lower id dials)";
    case HelloStatus::wrong_receiver: return "wrong receiver";
    case HelloStatus::bad_version: return "unsupported protocol version";
  }
  return "?";
}

void encode_hello(const Hello& h, std::span<std::byte, kHelloSize> out) noexcept {
  store_be32(out.data(), kPeerMagic);
  store_be16(out.data() + 4, h.version);
  store_be16(out.data() + 6, static_cast<uint16_t>(h.status));
  store_i32(out.data() + 8, h.sender.value());
  store_i32(out.data() + 12, h.receiver.value());
}

Result<Hello> decode_hello(std::span<const std::byte, kHelloSize> in) {
  if (load_be32(in.data()) != kPeerMagic) {
    return Error(Errc::corrupt, "not a ferry node (bad hello magic)");
  }
  Hello h;
  h.version = load_be16(in.data() + 4);
  const uint16_t status = load_be16(in.data() + 6);
  if (status > static_cast<uint16_t>(HelloStatus::bad_version)) {
    return Error(Errc::corrupt, "unknown hello status " + std::to_string(status));
  }
  h.status = static_cast<HelloStatus>(status);
  h.sender = NodeId(load_i32(in.data() + 8));
  h.receiver = NodeId(load_i32(in.data() + 12));
  return h;
}

void encode_frame_header(const FrameHeader& h,
                         std::span<std::byte, kFrameHeaderSize> out) noexcept {
  store_be32(out.data(), h.length);
  out[4] = static_cast<std::byte>(h.kind);
  store_be32(out.data() + 5, h.correlation);
  store_be16(out.data() + 9, static_cast<uint16_t>(h.type));
}

Result<FrameHeader> decode_frame_header(std::span<const std::byte, kFrameHeaderSize> in,
                                        uint32_t max_frame_bytes) {
  FrameHeader h;
  h.length = load_be32(in.data());
  if (h.length < kFrameHeaderSize - 4) {
    return Error(Errc::corrupt, "frame length " + std::to_string(h.length) + " below its header");
  }
  if (h.length > max_frame_bytes) {
    return Error(Errc::too_large, "frame of " + std::to_string(h.length) +
                                      " bytes over the limit of " +
                                      std::to_string(max_frame_bytes));
  }
  const auto kind = static_cast<uint8_t>(in[4]);
  if (kind > static_cast<uint8_t>(FrameKind::error)) {
    return Error(Errc::corrupt, "unknown frame kind " + std::to_string(kind));
  }
  h.kind = static_cast<FrameKind>(kind);
  h.correlation = load_be32(in.data() + 5);
  h.type = static_cast<MessageType>(load_be16(in.data() + 9));
  return h;
}

}  // namespace ferry::cluster
