// The byte format of the link between two nodes (one TCP connection per pair, peer_network.h):
// a hello each way, then frames in both directions. Every integer is big-endian.
//
// Hello (16 bytes, no length prefix). The dialer (the lower node id) sends one on connect; the
// acceptor answers with its own, or with a refusal and closes:
//   0  u32 magic       0x46525259 ("FRRY"): anything else is not a ferry node
//   4  u16 version     kPeerProtocolVersion; the acceptor refuses another (bad_version)
//   6  u16 status      0 in the dialer's hello; the acceptor's answer: HelloStatus
//   8  i32 sender      the node writing this hello
//  12  i32 receiver    the node it believes it talks to
//
// Frame (after the hellos, either side, any number in flight, answered in any order):
//   0  u32 length      bytes after this field (kFrameHeaderSize - 4 + payload), at most the
//                      receiver's max frame size: a larger one closes the link
//   4  u8  kind        FrameKind
//   5  u32 correlation chosen by the requester, echoed by the response
//   9  u16 type        MessageType; echoed by the response
//  11  payload         the message (raft_codec.h); for kind error: u16 ErrorReason, then text
//
// What may change without a version bump: new MessageType values (an old node answers them
// with the error `no_handler`), new ErrorReason values. Anything else bumps the version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/result.h"
#include "common/strong_types.h"

namespace ferry::cluster {

inline constexpr uint32_t kPeerMagic = 0x46525259;  // "FRRY"
inline constexpr uint16_t kPeerProtocolVersion = 1;
inline constexpr size_t kHelloSize = 16;
inline constexpr size_t kFrameHeaderSize = 11;  // length field included

enum class HelloStatus : uint16_t {
  ok = 0,
  unknown_sender = 1,   // the sender's id is not among the acceptor's peers (or is its own)
  wrong_direction = 2,  // the higher id dialled the lower: only the lower dials
  wrong_receiver = 3,   // the dialer meant another node (its address list is wrong)
  bad_version = 4,
};
std::string_view hello_status_name(HelloStatus s) noexcept;

struct Hello {
  uint16_t version = kPeerProtocolVersion;
  HelloStatus status = HelloStatus::ok;
  NodeId sender{-1};
  NodeId receiver{-1};
  bool operator==(const Hello&) const = default;
};

void encode_hello(const Hello& hello, std::span<std::byte, kHelloSize> out) noexcept;
// Errc::corrupt for a wrong magic or an unknown status value.
Result<Hello> decode_hello(std::span<const std::byte, kHelloSize> in);

enum class FrameKind : uint8_t { request = 0, response = 1, error = 2 };

// What a request carries. A node answers a type it has no handler for with no_handler.
enum class MessageType : uint16_t {
  ping = 0,         // empty; answered by the link itself (keeps an idle link's stall check live)
  raft_votes = 1,   // a coalesced vote frame (raft_codec.h), answered by another one
  raft_fetch = 2,   // a follower node's coalesced fetch; answered by a fetch response
  leaders = 3,      // the leadership of groups the sender leads (cluster_codec.h); empty answer
  node_info = 4,    // the sender's Kafka listeners (cluster_codec.h); empty answer
  auto_create = 5,  // to the controller: auto-create this topic (cluster_codec.h); empty answer
  proposal = 6,  // to the controller: a topic change (cluster_codec.h), answered with its outcome
};

// Why an error frame answers a request.
enum class ErrorReason : uint16_t {
  no_handler = 1,  // the receiver has no handler for the type
  failed = 2,      // the handler failed the request (text says why)
  unanswered = 3,  // the handler dropped the request without answering
};

struct FrameHeader {
  uint32_t length = 0;  // bytes after the length field
  FrameKind kind = FrameKind::request;
  uint32_t correlation = 0;
  MessageType type{};
  size_t payload_size() const noexcept { return length - (kFrameHeaderSize - 4); }
};

void encode_frame_header(const FrameHeader& h, std::span<std::byte, kFrameHeaderSize> out) noexcept;
// Errc::corrupt for an unknown kind or a length below the header; Errc::too_large above
// `max_frame_bytes`.
Result<FrameHeader> decode_frame_header(std::span<const std::byte, kFrameHeaderSize> in,
                                        uint32_t max_frame_bytes);

}  // namespace ferry::cluster
