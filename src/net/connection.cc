// Connection: framing, ordered responses and back-pressure. See connection.h.
#include "net/connection.h"

#include <algorithm>
#include <cstring>

#include "common/bytes.h"
#include "common/log.h"

namespace ferry::net {
namespace {

// The smallest request header: api_key, api_version, correlation_id.
constexpr int32_t kMinFrame = 8;
constexpr size_t kReadChunk = 64 * 1024;
// A request missing at least this much is read directly into its own buffer.
constexpr size_t kDirectReadMin = 16 * 1024;
constexpr size_t kDirectReadMax = 1024 * 1024;

// Reads are copied out of this buffer before the read callback returns, so one buffer serves
// every connection of the thread's loop; an idle connection costs no read buffer.
std::byte* read_chunk() {
  thread_local std::vector<std::byte> chunk(kReadChunk);
  return chunk.data();
}

}  // namespace

void ResponseSlot::respond(std::vector<std::byte> frame) const {
  OutFrame f;
  f.bytes = std::move(frame);
  respond(std::move(f));
}

void ResponseSlot::respond(OutFrame frame) const {
  if (auto c = conn_.lock()) c->complete(seq_, std::move(frame));
}

void ResponseSlot::no_response() const {
  if (auto c = conn_.lock()) c->complete(seq_, {});
}

void ResponseSlot::close_connection(const char* why) const {
  if (auto c = conn_.lock()) c->close(why);
}

void ResponseSlot::close_when_drained() const {
  if (auto c = conn_.lock()) c->close_when_drained();
}

bool ResponseSlot::connected() const {
  auto c = conn_.lock();
  return c && !c->closed();
}

Connection::Connection(std::unique_ptr<Transport> transport, uint64_t id, ListenerInfo listener,
                       ConnectionLimits limits, std::shared_ptr<MemoryBudget> budget,
                       RequestFn on_request, ClosedFn on_closed)
    : transport_(std::move(transport)),
      id_(id),
      session_(std::make_shared<Session>()),
      limits_(limits),
      budget_(std::move(budget)),
      on_request_(std::move(on_request)),
      on_closed_(std::move(on_closed)) {
  session_->connection_id = id_;
  session_->peer = transport_->peer();
  session_->peer_host = host_of(session_->peer);
  session_->listener = std::move(listener);
  transport_->set_sink(this);
  last_activity_ms_ = now_ms();
  accepted_ms_ = last_activity_ms_;
}

Connection::~Connection() {
  if (!closing_) {
    uncharge(charged_reserve_, MemoryBudget::Pool::reserve);
    uncharge(charged_, MemoryBudget::Pool::main);
    closing_ = true;
    transport_->close();
  }
}

void Connection::start() { update_reading(); }

uint64_t Connection::now_ms() const noexcept { return uv_now(transport_->loop()); }

void Connection::uncharge(uint64_t bytes, MemoryBudget::Pool pool) {
  if (pool == MemoryBudget::Pool::reserve) {
    bytes = std::min(bytes, charged_reserve_);
    charged_reserve_ -= bytes;
  }
  bytes = std::min(bytes, charged_);
  charged_ -= bytes;
  if (bytes > 0) budget_->release(bytes, pool);
}

bool Connection::reserve_frame() {
  const auto size = static_cast<uint64_t>(frame_size_);
  if (!budget_->try_reserve(size, charged_ == 0, &frame_pool_)) {
    if (!budget_waiting_) {
      budget_waiting_ = true;
      budget_->wait(std::weak_ptr<BudgetWaiter>(shared_from_this()));
    }
    return false;
  }
  if (frame_pool_ == MemoryBudget::Pool::reserve) {
    // Held until the request's response is ready (complete()).
    charged_reserve_ = budget_->reserve_cost(size);
    charged_ += charged_reserve_;
  } else {
    charged_ += size;
  }
  frame_reserved_ = true;
  frame_.reserve(static_cast<size_t>(size));
  frame_timing_ = true;
  frame_started_ms_ = now_ms();  // the deadline counts from here, not while the budget was full
  return true;
}

bool Connection::retry_budget() {
  if (closing_ || !budget_waiting_) return true;
  if (frame_size_ < 0 || frame_reserved_) {
    budget_waiting_ = false;
    return true;
  }
  // reserve_frame() does not queue again while budget_waiting_ is set: a failed retry keeps
  // this connection's place in the budget's line.
  if (!reserve_frame()) return false;
  budget_waiting_ = false;
  auto self = shared_from_this();
  update_reading();
  return true;
}

bool Connection::check_deadlines(uint64_t now) {
  if (closing_) return false;
  // While this side does not read (the budget is full, the client's responses pile up) the
  // frame's clock is not the client's fault: it restarts when reading does.
  if (frame_timing_ && (!reading_ || budget_waiting_)) frame_started_ms_ = now;
  if (frame_timing_ && !budget_waiting_ && now - frame_started_ms_ >= limits_.frame_timeout_ms) {
    FERRY_LOG_RATELIMITED(warn, "net", "request frame timeout",
                          "connection %llu from %s: request frame incomplete after %llu ms "
                          "(%zu of %d bytes; request.frame.timeout.ms); closing",
                          static_cast<unsigned long long>(id_), peer().c_str(),
                          static_cast<unsigned long long>(now - frame_started_ms_), frame_filled_,
                          frame_size_);
    close("request frame timeout");
    return true;
  }
  if (limits_.auth_timeout_ms > 0 && session_->unauthenticated_sasl() &&
      now - accepted_ms_ >= limits_.auth_timeout_ms) {
    FERRY_LOG_RATELIMITED(warn, "net", "authentication timeout",
                          "connection %llu from %s on listener %s: not authenticated after %llu ms "
                          "(sasl.authentication.timeout.ms); closing",
                          static_cast<unsigned long long>(id_), peer().c_str(),
                          session_->listener.name.c_str(),
                          static_cast<unsigned long long>(now - accepted_ms_));
    close("authentication timeout");
    return true;
  }
  const bool handling =
      std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.done; });
  if (!handling && now - last_activity_ms_ >= limits_.idle_ms) {
    FERRY_LOG(debug, "net", "connection %llu from %s idle for %llu ms (connections.max.idle.ms)",
              static_cast<unsigned long long>(id_), peer().c_str(),
              static_cast<unsigned long long>(now - last_activity_ms_));
    close("idle");
    return true;
  }
  return false;
}

void Connection::stop_reading() {
  stop_reading_ = true;
  update_reading();
}

void Connection::close(const char* why) {
  if (closing_) return;
  closing_ = true;
  FERRY_LOG(debug, "net", "closing connection %llu from %s: %s",
            static_cast<unsigned long long>(id_), peer().c_str(), why);
  auto self = shared_from_this();  // on_closed_ may drop the owner's reference
  budget_waiting_ = false;
  frame_timing_ = false;
  uncharge(charged_reserve_, MemoryBudget::Pool::reserve);
  uncharge(charged_, MemoryBudget::Pool::main);
  transport_->close();
  slots_.clear();
  if (on_closed_) on_closed_(*this);
}

void Connection::close_when_drained() {
  drain_then_close_ = true;
  stop_reading();
  maybe_finish_drain();
}

void Connection::maybe_finish_drain() {
  if (!drain_then_close_ || closing_ || shutting_down_ || !slots_.empty() || pending_bytes_ != 0)
    return;
  shutting_down_ = true;
  const int rc = transport_->shutdown([weak = weak_from_this()](int) {
    if (auto c = weak.lock()) c->close("drained");
  });
  if (rc != 0) close("drained");
}

bool Connection::accepting() const noexcept {
  return !stop_reading_ && !budget_waiting_ && pending_bytes_ <= limits_.max_pending_bytes &&
         slots_.size() < limits_.max_in_flight &&
         in_flight_request_bytes_ < limits_.max_in_flight_request_bytes;
}

void Connection::update_reading() {
  if (closing_) return;
  // Bytes that arrived while paused come first.
  if (!stash_.empty() && accepting()) {
    std::vector<std::byte> pending = std::move(stash_);
    stash_.clear();
    consume(pending);
    if (closing_) return;
  }
  const bool want = accepting() && stash_.empty();
  if (want == reading_) return;
  if (want) {
    if (const int rc = transport_->start_reading(); rc != 0) {
      close(uv_strerror(rc));
      return;
    }
    reading_ = true;
  } else {
    transport_->stop_reading();
    reading_ = false;
  }
}

// Where the next read goes: straight into the request being received when a large part of it
// is still missing (no copy, and one read call can take all of it), else the shared chunk.
std::span<std::byte> Connection::read_buffer() {
  if (frame_size_ >= 0 && frame_reserved_) {
    const size_t missing = static_cast<size_t>(frame_size_) - frame_filled_;
    if (missing >= kDirectReadMin) {
      // The buffer grows with what arrives: a size prefix alone commits no memory.
      const size_t n = std::min(missing, kDirectReadMax);
      if (frame_.size() < frame_filled_ + n) frame_.resize(frame_filled_ + n);
      return std::span<std::byte>(frame_.data() + frame_filled_, n);
    }
  }
  return std::span<std::byte>(read_chunk(), kReadChunk);
}

void Connection::on_read_end(int status) {
  close(status == UV_EOF ? "peer closed" : uv_strerror(status));
}

// On an SSL listener a verified client certificate authenticates the session as
// User:<subject>, as Kafka's default principal builder names it. On SASL_SSL the SASL exchange
// decides the principal, as in Kafka.
void Connection::on_peer_certificate(std::string_view subject) {
  if (session_->listener.protocol != SecurityProtocol::ssl) return;
  session_->principal = Principal{"User", std::string(subject)};
  session_->auth = AuthState::authenticated;
  FERRY_LOG(info, "net", "connection %llu from %s: client certificate, principal %s",
            static_cast<unsigned long long>(id_), peer().c_str(),
            session_->principal.to_string().c_str());
}

void Connection::on_read(std::span<const std::byte> bytes) {
  auto self = shared_from_this();
  last_activity_ms_ = now_ms();
  if (frame_size_ >= 0 && frame_reserved_ && bytes.data() == frame_.data() + frame_filled_) {
    // Read directly into the frame.
    frame_filled_ += bytes.size();
    if (frame_filled_ == static_cast<size_t>(frame_size_)) dispatch_frame();
    update_reading();
    return;
  }
  if (stash_.empty()) {
    consume(bytes);
  } else {
    stash_.insert(stash_.end(), bytes.begin(), bytes.end());  // after what is already waiting
  }
  update_reading();
}

void Connection::consume(std::span<const std::byte> bytes) {
  while (!bytes.empty() && !closing_) {
    if (frame_size_ < 0) {
      // Between frames: a new request is taken only while the limits allow it.
      if (header_len_ == 0 && !accepting()) break;
      if (header_len_ == 0) {
        frame_timing_ = true;
        frame_started_ms_ = now_ms();
      }
      const size_t take = std::min(sizeof header_ - header_len_, bytes.size());
      std::memcpy(header_ + header_len_, bytes.data(), take);
      header_len_ += take;
      bytes = bytes.subspan(take);
      if (header_len_ < sizeof header_) break;
      header_len_ = 0;
      const int32_t size = load_i32(header_);
      // Raw SASL tokens (after a SaslHandshake v0) have no request header and may be short.
      const int32_t min_frame = session_->raw_sasl_tokens ? 1 : kMinFrame;
      if (size < min_frame) {
        FERRY_LOG_RATELIMITED(warn, "net", "invalid frame size",
                              "connection %llu from %s: invalid frame size %d; closing",
                              static_cast<unsigned long long>(id_), peer().c_str(), size);
        close("invalid frame size");
        return;
      }
      if (header_[0] == std::byte{0x16} && header_[1] == std::byte{0x03} &&
          session_->listener.protocol != SecurityProtocol::ssl &&
          session_->listener.protocol != SecurityProtocol::sasl_ssl) {
        // A TLS record header (handshake, version 3.x) where a request size should be.
        FERRY_LOG_RATELIMITED(
            warn, "net", "tls on plaintext",
            "connection %llu from %s: a TLS ClientHello on %s listener %s; "
            "closing",
            static_cast<unsigned long long>(id_), peer().c_str(),
            std::string(security_protocol_name(session_->listener.protocol)).c_str(),
            session_->listener.name.c_str());
        close("TLS on a plaintext listener");
        return;
      }
      if (size > limits_.max_request_bytes || static_cast<uint64_t>(size) > budget_->capacity()) {
        FERRY_LOG_RATELIMITED(warn, "net", "request too large",
                              "connection %llu from %s: request of %d bytes exceeds "
                              "socket.request.max.bytes (%d) or queued.max.request.bytes "
                              "(%llu); closing",
                              static_cast<unsigned long long>(id_), peer().c_str(), size,
                              limits_.max_request_bytes,
                              static_cast<unsigned long long>(budget_->capacity()));
        close("request too large");
        return;
      }
      if (session_->unauthenticated_sasl() && size > limits_.max_unauthenticated_request_bytes) {
        FERRY_LOG_RATELIMITED(warn, "net", "unauthenticated request too large",
                              "connection %llu from %s: a %d-byte frame before authentication "
                              "exceeds sasl.server.max.receive.size (%d); closing",
                              static_cast<unsigned long long>(id_), peer().c_str(), size,
                              limits_.max_unauthenticated_request_bytes);
        close("unauthenticated request too large");
        return;
      }
      frame_size_ = size;
      frame_.clear();
      frame_filled_ = 0;
      frame_reserved_ = false;
    }
    if (!frame_reserved_ && !reserve_frame()) break;  // waits for the budget
    const size_t take = std::min(static_cast<size_t>(frame_size_) - frame_filled_, bytes.size());
    if (frame_.size() < frame_filled_ + take) frame_.resize(frame_filled_ + take);
    std::memcpy(frame_.data() + frame_filled_, bytes.data(), take);
    frame_filled_ += take;
    bytes = bytes.subspan(take);
    if (frame_filled_ < static_cast<size_t>(frame_size_)) break;
    dispatch_frame();
  }
  if (!bytes.empty() && !closing_) stash_.insert(stash_.end(), bytes.begin(), bytes.end());
}

void Connection::dispatch_frame() {
  const uint64_t seq = next_seq_++;
  const auto request_bytes = static_cast<size_t>(frame_size_);
  slots_.push_back(Slot{seq, request_bytes, frame_pool_, false, {}});
  in_flight_request_bytes_ += request_bytes;
  frame_size_ = -1;
  frame_filled_ = 0;
  frame_reserved_ = false;  // the charge stays with the slot until it completes
  frame_timing_ = false;
  Buffer frame = std::move(frame_);
  frame_ = {};
  on_request_(*this, ResponseSlot(weak_from_this(), seq), std::move(frame));
}

void Connection::complete(uint64_t seq, OutFrame frame) {
  if (closing_) return;
  auto it = std::find_if(slots_.begin(), slots_.end(), [&](const Slot& s) { return s.seq == seq; });
  if (it == slots_.end() || it->done) return;  // completed twice: ignore
  it->done = true;
  in_flight_request_bytes_ -= std::min(it->request_bytes, in_flight_request_bytes_);
  pending_bytes_ += frame.size();
  // The response's bytes replace the request's in the budget.
  budget_->charge(frame.size());
  charged_ += frame.size();
  const uint64_t request_bytes = it->request_bytes;
  const MemoryBudget::Pool request_pool = it->pool;
  it->frame = std::move(frame);
  if (request_pool == MemoryBudget::Pool::reserve) {
    uncharge(charged_reserve_, request_pool);
  } else {
    uncharge(request_bytes, request_pool);
  }
  if (closing_) return;
  flush_ready();
}

void Connection::flush_ready() {
  auto self = shared_from_this();
  while (!closing_ && !slots_.empty() && slots_.front().done) {
    OutFrame frame = std::move(slots_.front().frame);
    slots_.pop_front();
    const size_t size = frame.size();
    if (size == 0) continue;
    // The buffer with the spliced record sets in between, in order. The ranges view the frame's
    // buffers, which keep their addresses when the frame moves into the completion below.
    pieces_.clear();
    size_t pos = 0;
    const auto& bytes = frame.bytes;
    for (const auto& sp : frame.splices) {
      pieces_.emplace_back(bytes.data() + pos, sp.at - pos);
      pieces_.push_back(sp.data);
      pos = sp.at;
    }
    pieces_.emplace_back(bytes.data() + pos, bytes.size() - pos);
    const int rc = transport_->write(
        pieces_, [conn = weak_from_this(), frame = std::move(frame), size](int status) {
          if (auto c = conn.lock()) c->on_written(size, status);
        });
    pieces_.clear();
    if (rc != 0) {
      pending_bytes_ -= std::min(size, pending_bytes_);
      uncharge(size, MemoryBudget::Pool::main);
      close(uv_strerror(rc));
      return;
    }
  }
  update_reading();
  maybe_finish_drain();
}

void Connection::on_written(size_t bytes, int status) {
  pending_bytes_ -= std::min(bytes, pending_bytes_);
  if (closing_) return;  // close() gave back every charge
  last_activity_ms_ = now_ms();
  uncharge(bytes, MemoryBudget::Pool::main);
  if (status != 0) {
    close(uv_strerror(status));
    return;
  }
  update_reading();
  maybe_finish_drain();
}

}  // namespace ferry::net
