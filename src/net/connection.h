// One client connection: Kafka framing in, responses out strictly in request order.
//
// Framing. Every request is `size:int32 BE` followed by `size` bytes (header + body). A size
// below the smallest possible header or above `max_request_bytes` (socket.request.max.bytes)
// closes this connection only; nothing else on the broker is affected.
//
// Ordering. Each request gets a ResponseSlot when it is handed to the handler. Handlers may
// complete slots in any order and at any later time (a produce waiting for fsync, a fetch
// long-polling), but bytes leave the socket in request order: a slot that is not complete holds
// back every later response, as Kafka does. A slot completed with no_response() (acks=0
// produce) simply releases its place.
//
// Back-pressure. A new request is not read while the responses queued but not yet written
// exceed `max_pending_bytes`, or while `max_in_flight` requests or `max_in_flight_request_bytes`
// of request frames await their responses (a pipelining producer waiting on fsync); reading
// resumes as responses complete and drain. A client that sends faster than the disk or never
// reads its responses therefore costs a bounded amount of memory.
//
// Broker-wide memory. Every frame is charged to the server's MemoryBudget
// (queued.max.request.bytes) once its size prefix is read and before its body is read, until
// its response is ready; every response from then until the socket took it. A frame that does
// not fit pauses this connection's reading until room is released (memory_budget.h). A frame
// larger than the whole budget is refused like one above socket.request.max.bytes.
//
// Deadlines (checked by the Server's sweep, check_deadlines()). A request frame must arrive
// whole within `frame_timeout_ms` of its first byte (time this side spends not reading, waiting
// for the budget or for the client to read its responses, does not count); a connection with no
// request being handled and no byte read or written for `idle_ms` is closed
// (connections.max.idle.ms). On a SASL listener a connection not authenticated within
// `auth_timeout_ms` of its accept is closed, and before authentication a frame above
// `max_unauthenticated_request_bytes` closes it.
//
// Each request gets its own frame buffer, sized from its size prefix. Small requests are copied
// into it from a read buffer shared by all connections; the missing part of a large one is read
// from the transport directly into it. Either way the frame is handed over without another copy.
//
// Bytes move through a Transport (transport.h: plain TCP today, TLS later), which the
// Connection owns; everything above the byte stream (framing, ordering, budget, limits) is here
// and does not depend on which transport it is.
//
// Session. The Connection creates the connection's Session (session.h: peer, listener,
// principal, authentication state) and hands it to the request callback with every frame;
// handlers keep it through a shared_ptr, so it outlives the Connection if they do.
//
// Threading and lifetime. Everything runs on the loop thread. A Connection is owned by a
// shared_ptr (the Server's set); slots hold weak references, so completing a slot after the
// connection closed is a harmless no-op.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/buffer.h"
#include "common/splice.h"
#include "net/memory_budget.h"
#include "net/session.h"
#include "net/transport.h"

namespace ferry::net {

class Connection;

// A response ready to send: `bytes` (starting with the 4-byte size prefix) with `splices`
// inserted at their offsets, in order; `keep_alive` owns what the splices view until written.
struct OutFrame {
  std::vector<std::byte> bytes;
  std::vector<Splice> splices;
  std::shared_ptr<const void> keep_alive;
  size_t size() const noexcept {
    size_t n = bytes.size();
    for (const auto& s : splices) n += s.data.size();
    return n;
  }
};

// The place of one request's response in its connection's output order. Copyable handle;
// complete it exactly once.
class ResponseSlot {
 public:
  ResponseSlot() = default;
  ResponseSlot(std::weak_ptr<Connection> conn, uint64_t seq) : conn_(std::move(conn)), seq_(seq) {}

  // `frame` is the whole response including its 4-byte size prefix.
  void respond(std::vector<std::byte> frame) const;
  void respond(OutFrame frame) const;
  // Completes the slot without sending anything (acks=0).
  void no_response() const;
  // False once the connection has closed: work for it may be abandoned.
  bool connected() const;
  // Closes the connection (a request it could not parse; an acks=0 produce that failed).
  void close_connection(const char* why) const;
  // Closes the connection once the responses handed out so far are written (after a failed
  // authentication is answered).
  void close_when_drained() const;

 private:
  std::weak_ptr<Connection> conn_;
  uint64_t seq_ = 0;
};

struct ConnectionLimits {
  int32_t max_request_bytes = 100 << 20;
  size_t max_pending_bytes = 16u << 20;
  size_t max_in_flight = 1024;
  // Enough pipelined produce data to keep the disk busy while a group-committed fdatasync runs
  // (acks=all), small enough to keep a gateway's broker well under 64 MiB.
  size_t max_in_flight_request_bytes = 32u << 20;
  // connections.max.idle.ms: no byte read or written and no request being handled.
  uint64_t idle_ms = 600000;
  // request.frame.timeout.ms: from the first byte of a request frame to its last.
  uint64_t frame_timeout_ms = 30000;
  // SASL listeners only (Session::unauthenticated_sasl()): sasl.authentication.timeout.ms, the
  // time from accept to a completed authentication (0: none), and sasl.server.max.receive.size,
  // the largest frame accepted before authentication.
  uint64_t auth_timeout_ms = 0;
  int32_t max_unauthenticated_request_bytes = 524288;
};

class Connection final : public std::enable_shared_from_this<Connection>,
                         public BudgetWaiter,
                         private TransportSink {
 public:
  // Called for each complete request frame (without its size prefix), in arrival order.
  using RequestFn = std::function<void(Connection&, ResponseSlot, Buffer frame)>;
  using ClosedFn = std::function<void(Connection&)>;

  // Takes the accepted connection's transport (closed with the Connection). `listener` is the
  // listener it was accepted on, for its Session. `budget` is shared by all connections of a
  // server. Call start() once the shared_ptr exists.
  Connection(std::unique_ptr<Transport> transport, uint64_t id, ListenerInfo listener,
             ConnectionLimits limits, std::shared_ptr<MemoryBudget> budget, RequestFn on_request,
             ClosedFn on_closed);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // Stops reading new requests; responses still in progress are still written.
  void stop_reading();
  // Closes the socket now; slots not yet written are dropped.
  void close(const char* why);
  // Closes once every slot handed out so far has been completed and written (the outgoing
  // stream is shut down first, then the connection closed).
  void close_when_drained();

  uint64_t id() const noexcept { return id_; }
  const std::string& peer() const noexcept { return session_->peer; }
  // This connection's Session; handlers hold a reference through their Request.
  const std::shared_ptr<Session>& session() const noexcept { return session_; }
  bool closed() const noexcept { return closing_; }
  size_t in_flight() const noexcept { return slots_.size(); }
  size_t pending_bytes() const noexcept { return pending_bytes_; }
  // Bytes this connection holds in the memory budget.
  uint64_t charged_bytes() const noexcept { return charged_; }
  // uv_now() of the last byte read or written (or of the accept).
  uint64_t last_activity_ms() const noexcept { return last_activity_ms_; }
  // No request read and not yet answered: closing it loses no work (eviction candidates).
  bool quiet() const noexcept { return slots_.empty(); }
  // Closes the connection if a deadline passed at `now_ms` (uv_now); true when it did.
  bool check_deadlines(uint64_t now_ms);

  // BudgetWaiter: room was released; takes the frame waiting for it if it fits now.
  bool retry_budget() override;

 private:
  friend class ResponseSlot;
  struct Slot {
    uint64_t seq;
    size_t request_bytes;     // the request's frame size, until the slot completes
    MemoryBudget::Pool pool;  // where request_bytes are charged
    bool done = false;
    OutFrame frame;  // empty when completed without a response
  };

  void complete(uint64_t seq, OutFrame frame);
  void flush_ready();
  void update_reading();
  // TransportSink.
  std::span<std::byte> read_buffer() override;
  void on_read(std::span<const std::byte> bytes) override;
  void on_read_end(int status) override;
  void on_peer_certificate(std::string_view subject) override;
  void on_written(size_t bytes, int status);
  bool accepting() const noexcept;
  // Frames `bytes` into requests; what cannot be taken now (reading paused between frames) is
  // kept in stash_ for resume.
  void consume(std::span<const std::byte> bytes);
  void dispatch_frame();  // hands the complete frame_ to the handler
  void maybe_finish_drain();
  // Charges the frame whose prefix was read; false (and queued as a waiter) when it does not fit.
  bool reserve_frame();
  void uncharge(uint64_t bytes, MemoryBudget::Pool pool);
  uint64_t now_ms() const noexcept;

  std::unique_ptr<Transport> transport_;
  uint64_t id_;
  std::shared_ptr<Session> session_;
  ConnectionLimits limits_;
  std::shared_ptr<MemoryBudget> budget_;
  RequestFn on_request_;
  ClosedFn on_closed_;

  std::byte header_[4] = {};
  size_t header_len_ = 0;    // bytes of the next size prefix received so far
  int32_t frame_size_ = -1;  // size of the frame being received; -1 while reading a prefix
  Buffer frame_;             // the request being received, sized from its prefix (not zero-filled)
  size_t frame_filled_ = 0;  // bytes of frame_ received so far
  std::vector<std::byte> stash_;  // bytes read but not framed while reading was paused
  size_t in_flight_request_bytes_ = 0;
  std::vector<std::span<const std::byte>> pieces_;  // flush_ready's scratch list for write()
  std::deque<Slot> slots_;                          // requests without a written response, in order
  uint64_t next_seq_ = 0;
  size_t pending_bytes_ = 0;  // response bytes queued or being written
  bool reading_ = false;
  bool stop_reading_ = false;
  bool drain_then_close_ = false;
  bool shutting_down_ = false;  // drained: the transport's shutdown runs, then close()
  bool closing_ = false;
  uint64_t charged_ = 0;          // bytes held in budget_: frames read, responses unsent
  uint64_t charged_reserve_ = 0;  // the part of charged_ from the budget's reserve
  MemoryBudget::Pool frame_pool_ = MemoryBudget::Pool::main;
  bool frame_reserved_ = false;  // frame_size_ bytes are charged for the frame being received
  bool budget_waiting_ = false;  // queued in budget_ for the frame whose prefix was read
  uint64_t last_activity_ms_ = 0;
  uint64_t accepted_ms_ = 0;   // when the connection was accepted (the authentication deadline)
  bool frame_timing_ = false;  // a frame's first byte arrived: its deadline runs
  uint64_t frame_started_ms_ = 0;
};

}  // namespace ferry::net
