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

struct WriteReq {
  uv_write_t req;
  OutFrame frame;
  size_t size;
  std::weak_ptr<Connection> conn;
};

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

bool ResponseSlot::connected() const {
  auto c = conn_.lock();
  return c && !c->closed();
}

Connection::Connection(uv_tcp_t* tcp, uint64_t id, std::string peer, ConnectionLimits limits,
                       std::shared_ptr<MemoryBudget> budget, RequestFn on_request,
                       ClosedFn on_closed)
    : tcp_(tcp),
      id_(id),
      peer_(std::move(peer)),
      limits_(limits),
      budget_(std::move(budget)),
      on_request_(std::move(on_request)),
      on_closed_(std::move(on_closed)) {
  tcp_->data = this;
  last_activity_ms_ = now_ms();
}

Connection::~Connection() {
  if (!closing_) {
    uncharge(charged_reserve_, MemoryBudget::Pool::reserve);
    uncharge(charged_, MemoryBudget::Pool::main);
    closing_ = true;
    tcp_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  }
}

void Connection::start() { update_reading(); }

uint64_t Connection::now_ms() const noexcept { return uv_now(tcp_->loop); }

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
                          static_cast<unsigned long long>(id_), peer_.c_str(),
                          static_cast<unsigned long long>(now - frame_started_ms_), frame_filled_,
                          frame_size_);
    close("request frame timeout");
    return true;
  }
  const bool handling =
      std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.done; });
  if (!handling && now - last_activity_ms_ >= limits_.idle_ms) {
    FERRY_LOG(debug, "net", "connection %llu from %s idle for %llu ms (connections.max.idle.ms)",
              static_cast<unsigned long long>(id_), peer_.c_str(),
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
            static_cast<unsigned long long>(id_), peer_.c_str(), why);
  auto self = shared_from_this();  // on_closed_ may drop the owner's reference
  budget_waiting_ = false;
  frame_timing_ = false;
  uncharge(charged_reserve_, MemoryBudget::Pool::reserve);
  uncharge(charged_, MemoryBudget::Pool::main);
  tcp_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  slots_.clear();
  if (on_closed_) on_closed_(*this);
}

void Connection::close_when_drained() {
  drain_then_close_ = true;
  stop_reading();
  maybe_finish_drain();
}

void Connection::maybe_finish_drain() {
  if (drain_then_close_ && !closing_ && slots_.empty() && pending_bytes_ == 0) close("drained");
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
  auto* stream = reinterpret_cast<uv_stream_t*>(tcp_);
  if (want) {
    const int rc = uv_read_start(
        stream,
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* self = static_cast<Connection*>(h->data);
          *buf = self != nullptr ? self->read_buffer()
                                 : uv_buf_init(reinterpret_cast<char*>(read_chunk()),
                                               static_cast<unsigned int>(kReadChunk));
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
          auto* self = static_cast<Connection*>(s->data);
          if (self != nullptr) self->on_read(nread, buf);
        });
    if (rc != 0) {
      close(uv_strerror(rc));
      return;
    }
    reading_ = true;
  } else {
    uv_read_stop(stream);
    reading_ = false;
  }
}

// Where the next read goes: straight into the request being received when a large part of it
// is still missing (no copy, and one read call can take all of it), else the shared chunk.
uv_buf_t Connection::read_buffer() {
  if (frame_size_ >= 0 && frame_reserved_) {
    const size_t missing = static_cast<size_t>(frame_size_) - frame_filled_;
    if (missing >= kDirectReadMin) {
      // The buffer grows with what arrives: a size prefix alone commits no memory.
      const size_t n = std::min(missing, kDirectReadMax);
      if (frame_.size() < frame_filled_ + n) frame_.resize(frame_filled_ + n);
      return uv_buf_init(reinterpret_cast<char*>(frame_.data() + frame_filled_),
                         static_cast<unsigned int>(n));
    }
  }
  return uv_buf_init(reinterpret_cast<char*>(read_chunk()), static_cast<unsigned int>(kReadChunk));
}

void Connection::on_read(ssize_t nread, const uv_buf_t* buf) {
  auto self = shared_from_this();
  if (nread < 0) {
    close(nread == UV_EOF ? "peer closed" : uv_strerror(static_cast<int>(nread)));
    return;
  }
  if (nread == 0) return;
  last_activity_ms_ = now_ms();
  if (frame_size_ >= 0 && frame_reserved_ &&
      reinterpret_cast<std::byte*>(buf->base) == frame_.data() + frame_filled_) {
    // Read directly into the frame.
    frame_filled_ += static_cast<size_t>(nread);
    if (frame_filled_ == static_cast<size_t>(frame_size_)) dispatch_frame();
    update_reading();
    return;
  }
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(buf->base),
                                         static_cast<size_t>(nread));
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
      if (size < kMinFrame) {
        FERRY_LOG_RATELIMITED(warn, "net", "invalid frame size",
                              "connection %llu from %s: invalid frame size %d; closing",
                              static_cast<unsigned long long>(id_), peer_.c_str(), size);
        close("invalid frame size");
        return;
      }
      if (size > limits_.max_request_bytes || static_cast<uint64_t>(size) > budget_->capacity()) {
        FERRY_LOG_RATELIMITED(warn, "net", "request too large",
                              "connection %llu from %s: request of %d bytes exceeds "
                              "socket.request.max.bytes (%d) or queued.max.request.bytes "
                              "(%llu); closing",
                              static_cast<unsigned long long>(id_), peer_.c_str(), size,
                              limits_.max_request_bytes,
                              static_cast<unsigned long long>(budget_->capacity()));
        close("request too large");
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
    auto* req = new WriteReq{{}, std::move(frame), size, weak_from_this()};
    req->req.data = req;
    // The buffer with the spliced record sets in between, in order.
    std::vector<uv_buf_t> bufs;
    bufs.reserve(2 * req->frame.splices.size() + 1);
    auto piece = [&](const std::byte* p, size_t n) {
      if (n > 0)
        bufs.push_back(uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(p)),
                                   static_cast<unsigned int>(n)));
    };
    size_t pos = 0;
    const auto& bytes = req->frame.bytes;
    for (const auto& sp : req->frame.splices) {
      piece(bytes.data() + pos, sp.at - pos);
      piece(sp.data.data(), sp.data.size());
      pos = sp.at;
    }
    piece(bytes.data() + pos, bytes.size() - pos);
    const int rc = uv_write(&req->req, reinterpret_cast<uv_stream_t*>(tcp_), bufs.data(),
                            static_cast<unsigned int>(bufs.size()), [](uv_write_t* w, int status) {
                              auto* r = static_cast<WriteReq*>(w->data);
                              if (auto c = r->conn.lock()) c->on_written(r->size, status);
                              delete r;
                            });
    if (rc != 0) {
      pending_bytes_ -= std::min(size, pending_bytes_);
      uncharge(size, MemoryBudget::Pool::main);
      delete req;
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
