// The node's links to the other nodes of its cluster: exactly one TCP connection per pair of
// nodes, made by the lower id (it dials, the higher only accepts), carrying requests both ways
// (peer_link.h, format in peer_wire.h). Raft groups share it: the replica manager sends
// coalesced vote frames and fetches (raft_codec.h) through request() and serves them through
// on_request() handlers.
//
// Connection management:
// - start() binds the internal listener (ClusterConfig listen) and dials every peer with a
//   higher id. A failed dial, refused hello or dropped link is dialled again after a jittered
//   exponential backoff (backoff_min_ms doubling to backoff_max_ms, each delay spread over
//   +-20%); an established link resets it.
// - The acceptor refuses (and logs, rate-limited per cause) a hello from an unknown id, from a
//   higher id (wrong direction) or meant for another node; a new link from a peer replaces its
//   old one (the peer restarted, or noticed a dead link first).
// - Requests in flight fail with Errc::closed when their link drops; a request to a peer without
//   an open link fails at once (deferred) with Errc::closed. There is no per-request timeout:
//   callers (Raft) have their own clocks.
// - Stall detector: a link with requests unanswered and no byte received for stall_timeout_ms
//   is closed (the dialer then dials again), so a black-holed peer is noticed. A link idle for
//   a third of that sends a ping (answered by the other link end), so both ends notice even
//   when only one of them has requests to send. A dial or hello exchange taking longer than
//   hello_timeout_ms is abandoned the same way.
// - Bounded sending: a link whose unsent bytes would pass max_send_buffer_bytes (a peer that
//   does not read) is dropped; its requests fail with Errc::closed.
//
// Callbacks (responses, handlers, failures) run on the loop thread, never inside a call of this
// API: failures are deferred to a later loop turn.
//
// Threading: one libuv loop, the broker's; no threads, no locks. Not copyable or movable.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cluster/peer_link.h"
#include "cluster/peer_wire.h"
#include "common/buffer.h"
#include "common/result.h"
#include "common/strong_types.h"
#include "common/uv_timer.h"
#include "config/cluster_config.h"

namespace ferry::cluster {

struct PeerNetworkOptions {
  // 0: 3 x heartbeat.interval.ms.
  uint64_t stall_timeout_ms = 0;
  // Connecting plus the hello exchange; 0: the stall timeout.
  uint64_t hello_timeout_ms = 0;
  uint32_t backoff_min_ms = 100;
  uint32_t backoff_max_ms = 2000;
  LinkLimits limits;
  // Seeds the backoff jitter; 0: random.
  uint64_t seed = 0;
};

// Per peer, over every link it had (for /metrics).
struct PeerCounters {
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  uint64_t connects = 0;        // links established (hellos exchanged)
  uint64_t reconnects = 0;      // of those, the ones after the first
  uint64_t dial_failures = 0;   // dials that failed, timed out or were refused
  uint64_t stalls = 0;          // links closed by the stall detector
  uint64_t send_overflows = 0;  // links dropped because the peer did not read
};

class PeerNetwork;

// The answer to one received request. Move-only; answer at most once, at any later time (even
// after the link dropped: then nothing is sent). Destroyed without an answer, it answers with
// ErrorReason::unanswered, so the requester is not left waiting.
class Responder {
 public:
  Responder(std::weak_ptr<PeerLink> link, uint32_t correlation, MessageType type)
      : link_(std::move(link)), correlation_(correlation), type_(type) {}
  Responder(Responder&& o) noexcept;
  Responder& operator=(Responder&& o) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void respond(Buffer payload);
  // The requester gets Errc::failed_state with `text`.
  void fail(std::string_view text);

 private:
  std::weak_ptr<PeerLink> link_;
  uint32_t correlation_ = 0;
  MessageType type_{};
  bool answered_ = false;
};

class PeerNetwork final : private LinkOwner {
 public:
  using ResponseFn = std::function<void(Result<Buffer>)>;
  using RequestHandler = std::function<void(NodeId from, Buffer payload, Responder responder)>;

  // `cluster` names every node (self included); `self` is this node's id (node.id). The loop
  // must outlive the network's close.
  PeerNetwork(uv_loop_t* loop, const config::ClusterConfig& cluster, NodeId self,
              PeerNetworkOptions options = {});
  // Closes (as close() without a callback) if still open.
  ~PeerNetwork() override;
  PeerNetwork(const PeerNetwork&) = delete;
  PeerNetwork& operator=(const PeerNetwork&) = delete;

  // listen(), then connect().
  Status start();
  // Binds the internal listener on the configured listen address (port 0: an ephemeral port,
  // tests). Resolving a host name blocks; it happens once at start-up.
  Status listen();
  uint16_t listen_port() const noexcept { return listen_port_; }
  // Dials every peer with a higher id (and keeps doing so until close()).
  void connect();
  // Changes where a peer is dialled from now on (tests whose nodes listen on ephemeral ports).
  void set_peer_address(NodeId peer, std::string host, uint16_t port);

  // Sends a request to `to`; `done` runs once on the loop thread with the response payload or
  // an error: Errc::closed (no open link, or it dropped), Errc::invalid_argument (not a peer),
  // Errc::too_large (over the frame limit), Errc::unsupported (no handler there),
  // Errc::failed_state (the handler failed it).
  void request(NodeId to, MessageType type, Buffer payload, ResponseFn done);
  // The handler of one request type (replacing any earlier one).
  void on_request(MessageType type, RequestHandler handler);

  // Whether the link to `peer` is open (hellos exchanged).
  bool connected(NodeId peer) const;
  PeerCounters counters(NodeId peer) const;
  // Bytes waiting to be taken by the socket of `peer`'s link (0 without one).
  uint64_t send_buffered_bytes(NodeId peer) const;
  // Connections this node accepted, and hellos it refused, since it started.
  uint64_t accepted_connections() const noexcept { return accepted_; }
  uint64_t refused_hellos() const noexcept { return refused_; }

  // Stops listening and dialling and closes every link: requests in flight fail with
  // Errc::closed before this returns. `done` (may be empty) runs on a later loop turn, once
  // every handle of the network is closed. Idempotent.
  void close(std::function<void()> done);

 private:
  struct Dial;
  struct Peer {
    NodeId id;
    std::string host;
    uint16_t port = 0;
    bool we_dial = false;            // self < id
    std::shared_ptr<PeerLink> link;  // dialer: handshaking or open; acceptor: open
    Dial* dial = nullptr;            // connecting
    uint64_t dial_started_ms = 0;
    std::unique_ptr<UvTimer> retry;
    uint32_t backoff_step = 0;
    bool down_logged = false;  // "link down" said since the last open
    PeerCounters totals;       // of the links closed so far
  };

  // LinkOwner
  HelloStatus on_hello(PeerLink& link, const Hello& hello) override;
  void on_open(PeerLink& link) override;
  void on_request(PeerLink& link, MessageType type, uint32_t correlation, Buffer payload) override;
  void on_closed(PeerLink& link, const Error& why) override;
  void defer(std::function<void()> fn) override;

  void dial(Peer& p);
  void on_connected(Dial* d, int status);
  void cancel_dial(Peer& p);
  void dial_failed(Peer& p, const std::string& why);
  void schedule_retry(Peer& p);
  void on_accept(int status);
  void sweep();
  void run_deferred();
  Peer* find(NodeId id);
  const Peer* find(NodeId id) const;

  uv_loop_t* loop_;
  config::ClusterConfig cluster_;
  NodeId self_;
  PeerNetworkOptions options_;
  uint64_t stall_ms_;
  uint64_t hello_ms_;
  std::map<NodeId, Peer> peers_;                      // every other node
  std::vector<std::shared_ptr<PeerLink>> accepting_;  // accepted, hello not yet accepted
  std::map<MessageType, RequestHandler> handlers_;
  uv_tcp_t* listener_ = nullptr;  // heap: freed by its close callback
  uint16_t listen_port_ = 0;
  std::unique_ptr<UvTimer> sweep_timer_;
  std::unique_ptr<UvTimer> defer_timer_;
  std::vector<std::function<void()>> deferred_;
  std::mt19937_64 random_;
  uint64_t accepted_ = 0;
  uint64_t refused_ = 0;
  bool connecting_ = false;
  bool closed_ = false;
};

}  // namespace ferry::cluster
