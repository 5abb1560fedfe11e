// PeerLink: hellos, framing, correlation and the send bound of one connection between nodes.
// See peer_link.h.
#include "cluster/peer_link.h"

#include <uv.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "cluster/raft_messages.h"
#include "common/bytes.h"

namespace ferry::cluster {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// A buffer grown for a large frame is given back once it is consumed.
constexpr size_t kKeepBuffer = 256 * 1024;

struct OutFrame {
  std::array<std::byte, kFrameHeaderSize> header{};
  std::array<std::byte, kHelloSize> hello{};
  Buffer payload;
};

}  // namespace

PeerLink::PeerLink(std::unique_ptr<net::Transport> transport, Role role, NodeId self, NodeId peer,
                   LinkLimits limits, LinkOwner& owner)
    : transport_(std::move(transport)),
      role_(role),
      self_(self),
      peer_(peer),
      limits_(limits),
      owner_(owner) {
  created_ms_ = now();
  last_read_ms_ = created_ms_;
  transport_->set_sink(this);
}

PeerLink::~PeerLink() {
  state_ = State::closed;
  transport_->close();
}

uint64_t PeerLink::now() const { return uv_now(transport_->loop()); }

void PeerLink::start() {
  const int rc = transport_->start_reading();
  if (rc != 0) {
    close(Error(Errc::io, std::string("cannot read: ") + uv_strerror(rc)));
    return;
  }
  if (role_ == Role::dialer) send_hello(HelloStatus::ok, peer_);
}

void PeerLink::send_hello(HelloStatus status, NodeId receiver) {
  auto f = std::make_shared<OutFrame>();
  encode_hello(Hello{kPeerProtocolVersion, status, self_, receiver}, f->hello);
  const std::array<std::span<const std::byte>, 1> pieces{std::span<const std::byte>(f->hello)};
  send_buffered_ += kHelloSize;
  std::weak_ptr<PeerLink> weak = weak_from_this();
  const bool refusal = status != HelloStatus::ok;
  const int rc = transport_->write(pieces, [weak, f, refusal](int st) {
    auto self = weak.lock();
    if (!self) return;
    self->on_written(kHelloSize, st);
    // A refusal is the last thing said: close once it is out.
    if (refusal) {
      self->close(
          Error(Errc::closed, "refused: " + std::string(hello_status_name(self->refusal_))));
    }
  });
  if (rc != 0) {
    send_buffered_ -= kHelloSize;
    close(Error(Errc::io, std::string("cannot write the hello: ") + uv_strerror(rc)));
    return;
  }
  counters_.bytes_sent += kHelloSize;
}

bool PeerLink::send_frame(FrameKind kind, uint32_t correlation, MessageType type, Buffer payload) {
  if (state_ == State::closed) return false;
  const uint64_t size = kFrameHeaderSize + payload.size();
  if (send_buffered_ + size > limits_.max_send_buffer_bytes) {
    overflowed_ = true;
    close(Error(Errc::too_large, "the peer does not read: " + std::to_string(send_buffered_) +
                                     " bytes wait to be sent and the bound is " +
                                     std::to_string(limits_.max_send_buffer_bytes)));
    return false;
  }
  auto f = std::make_shared<OutFrame>();
  f->payload = std::move(payload);
  encode_frame_header(FrameHeader{static_cast<uint32_t>(size - 4), kind, correlation, type},
                      f->header);
  const std::array<std::span<const std::byte>, 2> pieces{
      std::span<const std::byte>(f->header),
      std::span<const std::byte>(f->payload.data(), f->payload.size())};
  std::weak_ptr<PeerLink> weak = weak_from_this();
  const int rc = transport_->write(pieces, [weak, f, size](int st) {
    if (auto self = weak.lock()) self->on_written(size, st);
  });
  if (rc != 0) {
    close(Error(Errc::io, std::string("cannot write: ") + uv_strerror(rc)));
    return false;
  }
  send_buffered_ += size;
  counters_.bytes_sent += size;
  ++counters_.frames_sent;
  return true;
}

void PeerLink::on_written(uint64_t bytes, int status) {
  send_buffered_ -= std::min(send_buffered_, bytes);
  if (status != 0 && status != UV_ECANCELED) {
    close(Error(Errc::io, std::string("write failed: ") + uv_strerror(status)));
  }
}

void PeerLink::request(MessageType type, Buffer payload, ResponseFn done) {
  if (state_ != State::open) {
    owner_.defer([done = std::move(done)] { done(Error(Errc::closed, "the link is not open")); });
    return;
  }
  uint32_t correlation = next_correlation_++;
  if (next_correlation_ == 0) next_correlation_ = 1;
  if (in_flight_.empty()) waiting_since_ms_ = now();
  in_flight_.emplace(correlation, Pending{std::move(done), type});
  // On failure the link is closed and the request fails with the others, deferred.
  send_frame(FrameKind::request, correlation, type, std::move(payload));
}

void PeerLink::respond(uint32_t correlation, MessageType type, Buffer payload) {
  if (state_ != State::open) return;
  if (payload.size() + kFrameHeaderSize > limits_.max_frame_bytes) {
    respond_error(correlation, type, ErrorReason::failed, "response over the frame size limit");
    return;
  }
  send_frame(FrameKind::response, correlation, type, std::move(payload));
}

void PeerLink::respond_error(uint32_t correlation, MessageType type, ErrorReason reason,
                             std::string_view text) {
  if (state_ != State::open) return;
  text = text.substr(0, 1024);
  Buffer payload(2 + text.size());
  store_be16(payload.data(), static_cast<uint16_t>(reason));
  if (!text.empty()) std::memcpy(payload.data() + 2, text.data(), text.size());
  send_frame(FrameKind::error, correlation, type, std::move(payload));
}

void PeerLink::close(const Error& why) {
  if (state_ == State::closed) return;
  auto keep = shared_from_this();  // the owner may drop its reference in on_closed
  state_ = State::closed;
  transport_->close();
  auto pending = std::move(in_flight_);
  in_flight_.clear();
  owner_.on_closed(*this, why);
  const std::string peer =
      peer_ == kNoNode ? std::string("the peer") : "node " + std::to_string(peer_.value());
  const Error failure(Errc::closed, "link to " + peer + " closed: " + why.message());
  for (auto& [correlation, p] : pending) {
    owner_.defer([done = std::move(p.done), failure] { done(failure); });
  }
}

bool PeerLink::stalled(uint64_t now_ms, uint64_t stall_ms) const {
  if (state_ != State::open || in_flight_.empty()) return false;
  const uint64_t since = std::max(last_read_ms_, waiting_since_ms_);
  return now_ms >= since && now_ms - since >= stall_ms;
}

void PeerLink::maybe_ping(uint64_t now_ms, uint64_t idle_ms) {
  if (state_ != State::open || !in_flight_.empty()) return;
  if (now_ms < last_read_ms_ + idle_ms || now_ms < last_ping_ms_ + idle_ms) return;
  last_ping_ms_ = now_ms;
  request(MessageType::ping, Buffer(), [](Result<Buffer>) {});
}

bool PeerLink::handshake_expired(uint64_t now_ms, uint64_t timeout_ms) const {
  return state_ == State::handshaking && now_ms >= created_ms_ &&
         now_ms - created_ms_ >= timeout_ms;
}

std::span<std::byte> PeerLink::read_buffer() {
  const size_t want = std::max(kReadChunk, frame_need_ > in_end_ ? frame_need_ - in_end_ : 0);
  if (in_.size() < in_end_ + want) in_.resize(in_end_ + want);
  return {in_.data() + in_end_, in_.size() - in_end_};
}

void PeerLink::on_read(std::span<const std::byte> bytes) {
  auto keep = shared_from_this();  // a handler may close the link and the owner drop it
  in_end_ += bytes.size();
  counters_.bytes_received += bytes.size();
  last_read_ms_ = now();
  const size_t used = consume();
  if (state_ == State::closed) return;
  if (used > 0 && in_end_ > used) {
    std::memmove(in_.data(), in_.data() + used, in_end_ - used);
  }
  in_end_ -= used;
  if (in_end_ == 0 && in_.size() > kKeepBuffer) Buffer().swap(in_);
}

void PeerLink::on_read_end(int status) {
  close(Error(Errc::closed, status == UV_EOF ? std::string("the peer closed the connection")
                                             : std::string("read failed: ") + uv_strerror(status)));
}

size_t PeerLink::consume() {
  size_t pos = 0;
  while (state_ != State::closed && !refusing_) {
    const std::span<const std::byte> rest(in_.data() + pos, in_end_ - pos);
    if (state_ == State::handshaking) {
      if (rest.size() < kHelloSize) break;
      Result<Hello> hello = decode_hello(rest.first<kHelloSize>());
      pos += kHelloSize;
      if (!hello) {
        close(hello.error());
        break;
      }
      handle_hello(*hello);
      continue;
    }
    if (rest.size() < kFrameHeaderSize) break;
    Result<FrameHeader> header =
        decode_frame_header(rest.first<kFrameHeaderSize>(), limits_.max_frame_bytes);
    if (!header) {
      close(header.error());
      break;
    }
    const size_t total = 4 + size_t{header->length};
    if (rest.size() < total) {
      frame_need_ = total;
      break;
    }
    frame_need_ = 0;
    Buffer payload(header->payload_size());
    if (!payload.empty()) {
      std::memcpy(payload.data(), rest.data() + kFrameHeaderSize, payload.size());
    }
    pos += total;
    ++counters_.frames_received;
    handle_frame(*header, std::move(payload));
  }
  return pos;
}

void PeerLink::handle_hello(const Hello& hello) {
  if (role_ == Role::dialer) {
    if (hello.status != HelloStatus::ok) {
      refusal_ = hello.status;
      close(Error(Errc::closed,
                  "node " + std::to_string(peer_.value()) + " at " + address() +
                      " refused the link: " + std::string(hello_status_name(hello.status))));
      return;
    }
    if (hello.sender != peer_ || hello.receiver != self_) {
      close(Error(Errc::closed, "dialled node " + std::to_string(peer_.value()) + " but node " +
                                    std::to_string(hello.sender.value()) +
                                    " answered (as if to node " +
                                    std::to_string(hello.receiver.value()) + ")"));
      return;
    }
    state_ = State::open;
    owner_.on_open(*this);
    return;
  }
  const HelloStatus status = owner_.on_hello(*this, hello);
  if (status != HelloStatus::ok) {
    refusal_ = status;
    refusing_ = true;
    transport_->stop_reading();
    send_hello(status, hello.sender);
    return;
  }
  peer_ = hello.sender;
  send_hello(HelloStatus::ok, peer_);
  if (state_ == State::closed) return;
  state_ = State::open;
  owner_.on_open(*this);
}

void PeerLink::handle_frame(const FrameHeader& header, Buffer payload) {
  if (header.kind == FrameKind::request) {
    if (header.type == MessageType::ping) {
      respond(header.correlation, header.type, Buffer());
      return;
    }
    owner_.on_request(*this, header.type, header.correlation, std::move(payload));
    return;
  }
  auto it = in_flight_.find(header.correlation);
  if (it == in_flight_.end()) return;  // answered after its requester gave up: ignored
  ResponseFn done = std::move(it->second.done);
  in_flight_.erase(it);
  if (header.kind == FrameKind::response) {
    done(std::move(payload));
    return;
  }
  uint16_t reason = 0;
  std::string text;
  if (payload.size() >= 2) {
    reason = load_be16(payload.data());
    text.assign(reinterpret_cast<const char*>(payload.data()) + 2, payload.size() - 2);
  }
  const Errc code = reason == static_cast<uint16_t>(ErrorReason::no_handler) ? Errc::unsupported
                                                                             : Errc::failed_state;
  done(Error(code, "node " + std::to_string(peer_.value()) + ": " + text));
}

}  // namespace ferry::cluster
