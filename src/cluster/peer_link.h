// One connection between two nodes (peer_wire.h has the bytes): the hello exchange, then
// requests both ways with correlation ids, answered in any order. The link frames what it
// reads, matches responses to the requests it sent, hands requests to its owner (the
// PeerNetwork), bounds what it buffers for sending (a peer that does not read gets its link
// dropped, not more memory) and reports when it looks stalled; the owner decides when to close
// it, when to dial again and which link belongs to which peer.
//
// Lifetime: owned by shared_ptr (the PeerNetwork); write completions and Responders hold weak
// references, so a link may be dropped at any time. The owner must outlive its links' calls.
// Closing is final: the transport is closed at once, the owner hears on_closed() once, and every
// request in flight fails with Errc::closed through owner.defer(), i.e. never inside a call.
//
// Threading: the loop thread of the transport, for every call and callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cluster/peer_wire.h"
#include "common/buffer.h"
#include "common/result.h"
#include "common/strong_types.h"
#include "net/transport.h"

namespace ferry::cluster {

class PeerLink;

// What a link tells its owner. Every call on the loop thread, from inside a link method or a
// transport callback; the owner may close the link (or others) from any of them.
class LinkOwner {
 public:
  virtual ~LinkOwner() = default;
  // Acceptor side: the dialer's hello. ok adopts the link as `hello.sender`'s; anything else is
  // sent back as the refusal and the link closes once it is written.
  virtual HelloStatus on_hello(PeerLink& link, const Hello& hello) = 0;
  // The hellos are exchanged; the link carries frames from now on.
  virtual void on_open(PeerLink& link) = 0;
  // A request arrived on an open link; answer with link.respond() or link.respond_error().
  virtual void on_request(PeerLink& link, MessageType type, uint32_t correlation,
                          Buffer payload) = 0;
  // The link closed; called once, before the requests in flight are failed.
  virtual void on_closed(PeerLink& link, const Error& why) = 0;
  // Runs `fn` on a later loop turn.
  virtual void defer(std::function<void()> fn) = 0;
};

struct LinkLimits {
  uint32_t max_frame_bytes = 16u << 20;          // larger frames (either way) are refused
  uint64_t max_send_buffer_bytes = 32ull << 20;  // bytes written but not yet taken by the socket
};

// Bytes and frames moved by one link (the network sums them per peer).
struct LinkCounters {
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
};

class PeerLink final : public net::TransportSink, public std::enable_shared_from_this<PeerLink> {
 public:
  enum class Role : uint8_t { dialer, acceptor };
  enum class State : uint8_t { handshaking, open, closed };
  using ResponseFn = std::function<void(Result<Buffer>)>;

  // `peer`: the node a dialer dialled; kNoNode for an acceptor until its hello is accepted.
  PeerLink(std::unique_ptr<net::Transport> transport, Role role, NodeId self, NodeId peer,
           LinkLimits limits, LinkOwner& owner);
  ~PeerLink() override;  // closes the transport; no owner call
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  // Starts reading; a dialer sends its hello. An error closes the link.
  void start();

  // Sends a request on an open link; `done` runs once with the response payload, an error frame
  // as an error (Errc::unsupported for no_handler, Errc::failed_state otherwise), or Errc::closed
  // when the link closes first. The payload must fit a frame (the network checks).
  void request(MessageType type, Buffer payload, ResponseFn done);
  // Answers a request. Nothing happens once the link is closed.
  void respond(uint32_t correlation, MessageType type, Buffer payload);
  void respond_error(uint32_t correlation, MessageType type, ErrorReason reason,
                     std::string_view text);

  // Closes now (see the file comment). Idempotent.
  void close(const Error& why);

  // Requests are unanswered and no byte has arrived for `stall_ms` since the later of the last
  // byte read and the moment the oldest of them went out.
  bool stalled(uint64_t now_ms, uint64_t stall_ms) const;
  // An open link with nothing in flight and nothing received for `idle_ms` sends a ping (at
  // most one per `idle_ms`), so that a dead path shows as a stall on this side too.
  void maybe_ping(uint64_t now_ms, uint64_t idle_ms);
  // Still exchanging hellos `timeout_ms` after the link was made.
  bool handshake_expired(uint64_t now_ms, uint64_t timeout_ms) const;

  Role role() const noexcept { return role_; }
  State state() const noexcept { return state_; }
  NodeId peer() const noexcept { return peer_; }
  const std::string& address() const noexcept { return transport_->peer(); }
  const LinkCounters& counters() const noexcept { return counters_; }
  uint64_t send_buffered_bytes() const noexcept { return send_buffered_; }
  size_t in_flight() const noexcept { return in_flight_.size(); }
  // The acceptor's refusal a dialer received (ok when none).
  HelloStatus refusal() const noexcept { return refusal_; }
  // The link was dropped because the peer did not read.
  bool overflowed() const noexcept { return overflowed_; }

  // TransportSink
  std::span<std::byte> read_buffer() override;
  void on_read(std::span<const std::byte> bytes) override;
  void on_read_end(int status) override;

 private:
  struct Pending {
    ResponseFn done;
    MessageType type;
  };
  uint64_t now() const;
  void send_hello(HelloStatus status, NodeId receiver);
  // Queues one frame; false (and the link closed) when it would pass the send bound.
  bool send_frame(FrameKind kind, uint32_t correlation, MessageType type, Buffer payload);
  void on_written(uint64_t bytes, int status);
  // Handles what [0, in_end_) holds; returns the bytes consumed.
  size_t consume();
  void handle_hello(const Hello& hello);
  void handle_frame(const FrameHeader& header, Buffer payload);

  std::unique_ptr<net::Transport> transport_;
  Role role_;
  State state_ = State::handshaking;
  NodeId self_;
  NodeId peer_;
  LinkLimits limits_;
  LinkOwner& owner_;
  Buffer in_;  // bytes read and not yet consumed: [0, in_end_)
  size_t in_end_ = 0;
  size_t frame_need_ = 0;  // size of the frame being read, once its header is in
  std::unordered_map<uint32_t, Pending> in_flight_;
  uint32_t next_correlation_ = 1;
  uint64_t created_ms_ = 0;
  uint64_t last_read_ms_ = 0;
  uint64_t waiting_since_ms_ = 0;  // when in_flight_ last became non-empty
  uint64_t last_ping_ms_ = 0;
  uint64_t send_buffered_ = 0;
  LinkCounters counters_;
  HelloStatus refusal_ = HelloStatus::ok;
  bool refusing_ = false;
  bool overflowed_ = false;
};

}  // namespace ferry::cluster
