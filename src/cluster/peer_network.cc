// PeerNetwork: the listener, the dials with backoff, which link belongs to which peer, the stall
// sweep and request routing. See peer_network.h.
#include "cluster/peer_network.h"

#include <netdb.h>

#include <algorithm>
#include <cstring>

#include "cluster/raft_messages.h"
#include "common/log.h"
#include "config/broker_config.h"
#include "net/server.h"
#include "net/transport.h"

namespace ferry::cluster {

// A connect in progress: resolving the host (a name), then connecting. Cancelled by clearing
// `owner`; the libuv callbacks then only free it.
struct PeerNetwork::Dial {
  PeerNetwork* owner = nullptr;
  NodeId peer;
  uv_getaddrinfo_t resolve{};
  uv_tcp_t* tcp = nullptr;  // set once connecting; freed by its close callback
  uv_connect_t connect{};
};

namespace {

// Most accepted connections still exchanging hellos; more are closed at once.
constexpr size_t kMaxAccepting = 16;

void close_and_free(uv_tcp_t* tcp) {
  tcp->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(tcp),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
}

bool numeric_address(const std::string& host, uint16_t port, sockaddr_storage* out) {
  *out = {};
  return uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(out)) == 0 ||
         uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(out)) == 0;
}

// Runs `fn` from the close callback of a handle made for the purpose: on the next closing pass
// of the loop, whatever happens to the network meanwhile.
void post(uv_loop_t* loop, std::function<void()> fn) {
  struct Posted {
    uv_idle_t idle;
    std::function<void()> fn;
  };
  auto* p = new Posted{{}, std::move(fn)};
  uv_idle_init(loop, &p->idle);
  p->idle.data = p;
  uv_close(reinterpret_cast<uv_handle_t*>(&p->idle), [](uv_handle_t* h) {
    auto* posted = static_cast<Posted*>(h->data);
    auto call = std::move(posted->fn);
    delete posted;
    call();
  });
}

const char* refusal_cause(HelloStatus s) {
  switch (s) {
    case HelloStatus::unknown_sender: return "cluster hello refused: unknown sender";
    case HelloStatus::wrong_direction: return "cluster hello refused: wrong direction";
    case HelloStatus::wrong_receiver: return "cluster hello refused: wrong receiver";
    case HelloStatus::bad_version: return "cluster hello refused: version";
    case HelloStatus::ok: break;
  }
  return "cluster hello refused";
}

void add(PeerCounters& to, const LinkCounters& c) {
  to.bytes_sent += c.bytes_sent;
  to.bytes_received += c.bytes_received;
  to.frames_sent += c.frames_sent;
  to.frames_received += c.frames_received;
}

}  // namespace

// ---- Responder ------------------------------------------------------------------------------

Responder::Responder(Responder&& o) noexcept
    : link_(std::move(o.link_)),
      correlation_(o.correlation_),
      type_(o.type_),
      answered_(o.answered_) {
  o.answered_ = true;
}

Responder& Responder::operator=(Responder&& o) noexcept {
  if (this != &o) {
    if (!answered_) fail("unanswered");
    link_ = std::move(o.link_);
    correlation_ = o.correlation_;
    type_ = o.type_;
    answered_ = o.answered_;
    o.answered_ = true;
  }
  return *this;
}

Responder::~Responder() {
  if (answered_) return;
  answered_ = true;
  if (auto link = link_.lock()) {
    link->respond_error(correlation_, type_, ErrorReason::unanswered, "the request was dropped");
  }
}

void Responder::respond(Buffer payload) {
  if (answered_) return;
  answered_ = true;
  if (auto link = link_.lock()) link->respond(correlation_, type_, std::move(payload));
}

void Responder::fail(std::string_view text) {
  if (answered_) return;
  answered_ = true;
  if (auto link = link_.lock()) link->respond_error(correlation_, type_, ErrorReason::failed, text);
}

// ---- PeerNetwork ----------------------------------------------------------------------------

PeerNetwork::PeerNetwork(uv_loop_t* loop, const config::ClusterConfig& cluster, NodeId self,
                         PeerNetworkOptions options)
    : loop_(loop),
      cluster_(cluster),
      self_(self),
      options_(options),
      stall_ms_(options.stall_timeout_ms != 0
                    ? options.stall_timeout_ms
                    : 3 * static_cast<uint64_t>(std::max(cluster.heartbeat_interval_ms, 1))),
      hello_ms_(options.hello_timeout_ms != 0 ? options.hello_timeout_ms : stall_ms_),
      random_(options.seed != 0 ? options.seed : std::random_device{}()) {
  for (const config::ClusterPeer& c : cluster_.peers) {
    if (c.id == self_) continue;
    Peer p;
    p.id = c.id;
    p.host = c.host;
    p.port = c.port;
    p.we_dial = self_ < c.id;
    p.retry = std::make_unique<UvTimer>(loop_);
    peers_.emplace(c.id, std::move(p));
  }
  defer_timer_ = std::make_unique<UvTimer>(loop_);
}

PeerNetwork::~PeerNetwork() { close(nullptr); }

Status PeerNetwork::start() {
  FERRY_TRY(listen());
  connect();
  return ok_status();
}

Status PeerNetwork::listen() {
  if (closed_) return Error(Errc::closed, "the cluster network is closed");
  if (listener_ != nullptr) return ok_status();
  const std::string& host = cluster_.listen_host;
  const uint16_t port = cluster_.listen_port;
  auto resolved = net::resolve_address(host, port);
  if (!resolved) {
    return Error(Errc::invalid_argument, "cluster listen: " + resolved.error().message());
  }
  sockaddr_storage addr = *resolved;
  listener_ = new uv_tcp_t;
  uv_tcp_init(loop_, listener_);
  listener_->data = this;
  int rc = uv_tcp_bind(listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 16, [](uv_stream_t* s, int status) {
      if (auto* self = static_cast<PeerNetwork*>(s->data)) self->on_accept(status);
    });
  }
  if (rc != 0) {
    close_and_free(listener_);
    listener_ = nullptr;
    return Error(Errc::io, "cannot listen on " + config::HostPort{host, port}.to_string() +
                               " (cluster listen): " + uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  listen_port_ =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (!sweep_timer_) {
    sweep_timer_ = std::make_unique<UvTimer>(loop_);
    sweep();
  }
  return ok_status();
}

void PeerNetwork::connect() {
  if (closed_) return;
  connecting_ = true;
  if (!sweep_timer_) {
    sweep_timer_ = std::make_unique<UvTimer>(loop_);
    sweep();
  }
  for (auto& [id, p] : peers_) {
    if (p.we_dial) dial(p);
  }
}

void PeerNetwork::set_peer_address(NodeId peer, std::string host, uint16_t port) {
  if (Peer* p = find(peer)) {
    p->host = std::move(host);
    p->port = port;
  }
}

PeerNetwork::Peer* PeerNetwork::find(NodeId id) {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second;
}

const PeerNetwork::Peer* PeerNetwork::find(NodeId id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second;
}

// ---- dialling -------------------------------------------------------------------------------

void PeerNetwork::dial(Peer& p) {
  if (closed_ || !connecting_ || p.link || p.dial != nullptr) return;
  p.retry->stop();
  auto* d = new Dial;
  d->owner = this;
  d->peer = p.id;
  p.dial = d;
  p.dial_started_ms = uv_now(loop_);
  sockaddr_storage addr{};
  if (numeric_address(p.host, p.port, &addr)) {
    d->tcp = new uv_tcp_t;
    uv_tcp_init(loop_, d->tcp);
    d->connect.data = d;
    const int rc = uv_tcp_connect(&d->connect, d->tcp, reinterpret_cast<const sockaddr*>(&addr),
                                  [](uv_connect_t* req, int status) {
                                    auto* dial = static_cast<Dial*>(req->data);
                                    if (dial->owner == nullptr) {
                                      delete dial;  // cancelled; the handle was closed
                                      return;
                                    }
                                    dial->owner->on_connected(dial, status);
                                  });
    if (rc != 0) {
      close_and_free(d->tcp);
      p.dial = nullptr;
      delete d;
      dial_failed(p, std::string("cannot connect: ") + uv_strerror(rc));
    }
    return;
  }
  // A host name: resolved on the thread pool, then connected to its first address.
  d->resolve.data = d;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const std::string port = std::to_string(p.port);
  const int rc = uv_getaddrinfo(
      loop_, &d->resolve,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* dial = static_cast<Dial*>(req->data);
        PeerNetwork* net = dial->owner;
        if (net == nullptr) {
          if (res != nullptr) uv_freeaddrinfo(res);
          delete dial;
          return;
        }
        Peer* peer = net->find(dial->peer);
        if (status != 0 || res == nullptr) {
          if (res != nullptr) uv_freeaddrinfo(res);
          peer->dial = nullptr;
          delete dial;
          net->dial_failed(*peer, std::string("cannot resolve: ") + uv_strerror(status));
          return;
        }
        dial->tcp = new uv_tcp_t;
        uv_tcp_init(net->loop_, dial->tcp);
        dial->connect.data = dial;
        const int crc =
            uv_tcp_connect(&dial->connect, dial->tcp, res->ai_addr, [](uv_connect_t* c, int st) {
              auto* dl = static_cast<Dial*>(c->data);
              if (dl->owner == nullptr) {
                delete dl;
                return;
              }
              dl->owner->on_connected(dl, st);
            });
        uv_freeaddrinfo(res);
        if (crc != 0) {
          close_and_free(dial->tcp);
          peer->dial = nullptr;
          delete dial;
          net->dial_failed(*peer, std::string("cannot connect: ") + uv_strerror(crc));
        }
      },
      p.host.c_str(), port.c_str(), &hints);
  if (rc != 0) {
    p.dial = nullptr;
    delete d;
    dial_failed(p, std::string("cannot resolve: ") + uv_strerror(rc));
  }
}

void PeerNetwork::on_connected(Dial* d, int status) {
  Peer* p = find(d->peer);
  p->dial = nullptr;
  uv_tcp_t* tcp = d->tcp;
  delete d;
  if (status != 0) {
    close_and_free(tcp);
    dial_failed(*p, std::string("cannot connect: ") + uv_strerror(status));
    return;
  }
  auto link =
      std::make_shared<PeerLink>(std::make_unique<net::TcpTransport>(tcp), PeerLink::Role::dialer,
                                 self_, p->id, options_.limits, static_cast<LinkOwner&>(*this));
  p->link = link;
  link->start();
}

void PeerNetwork::cancel_dial(Peer& p) {
  Dial* d = p.dial;
  if (d == nullptr) return;
  p.dial = nullptr;
  d->owner = nullptr;
  if (d->tcp != nullptr) {
    close_and_free(d->tcp);  // the connect callback runs with UV_ECANCELED and frees `d`
  } else {
    uv_cancel(reinterpret_cast<uv_req_t*>(&d->resolve));  // its callback frees `d`
  }
}

void PeerNetwork::dial_failed(Peer& p, const std::string& why) {
  ++p.totals.dial_failures;
  if (!p.down_logged) {
    p.down_logged = true;
    FERRY_LOG(warn, "cluster", "node %d at %s unreachable: %s (dialling again with backoff)",
              p.id.value(), config::HostPort{p.host, p.port}.to_string().c_str(), why.c_str());
  }
  schedule_retry(p);
}

void PeerNetwork::schedule_retry(Peer& p) {
  if (closed_ || !p.we_dial) return;
  const uint64_t min = options_.backoff_min_ms;
  const uint64_t max = std::max<uint64_t>(options_.backoff_max_ms, min);
  const uint64_t step = std::min<uint64_t>(p.backoff_step, 20);
  const uint64_t base = std::min(max, min << step);
  if (base < max) ++p.backoff_step;
  std::uniform_real_distribution<double> spread(0.8, 1.2);
  const auto delay =
      std::clamp(static_cast<uint64_t>(static_cast<double>(base) * spread(random_)), min, max);
  const NodeId id = p.id;
  p.retry->start(delay, [this, id] {
    if (Peer* q = find(id)) dial(*q);
  });
}

// ---- accepting ------------------------------------------------------------------------------

void PeerNetwork::on_accept(int status) {
  if (status != 0 || closed_) return;
  auto* tcp = new uv_tcp_t;
  uv_tcp_init(loop_, tcp);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_), reinterpret_cast<uv_stream_t*>(tcp)) !=
      0) {
    close_and_free(tcp);
    return;
  }
  ++accepted_;
  if (accepting_.size() >= kMaxAccepting) {
    FERRY_LOG_RATELIMITED(warn, "cluster", "cluster accept: too many hellos pending",
                          "closing a connection to the cluster listener: %zu others are still "
                          "exchanging hellos",
                          accepting_.size());
    close_and_free(tcp);
    return;
  }
  auto link =
      std::make_shared<PeerLink>(std::make_unique<net::TcpTransport>(tcp), PeerLink::Role::acceptor,
                                 self_, kNoNode, options_.limits, static_cast<LinkOwner&>(*this));
  accepting_.push_back(link);
  link->start();
}

HelloStatus PeerNetwork::on_hello(PeerLink& link, const Hello& hello) {
  HelloStatus status = HelloStatus::ok;
  Peer* p = find(hello.sender);
  if (hello.version != kPeerProtocolVersion) {
    status = HelloStatus::bad_version;
  } else if (hello.receiver != self_) {
    status = HelloStatus::wrong_receiver;
  } else if (p == nullptr) {
    status = HelloStatus::unknown_sender;
  } else if (p->we_dial) {
    status = HelloStatus::wrong_direction;
  }
  if (status != HelloStatus::ok) {
    ++refused_;
    FERRY_LOG_RATELIMITED(warn, "cluster", refusal_cause(status),
                          "refused a cluster connection from %s: hello (version %u) from node %d "
                          "to node %d, this is node %d: %s",
                          link.address().c_str(), static_cast<unsigned>(hello.version),
                          hello.sender.value(), hello.receiver.value(), self_.value(),
                          std::string(hello_status_name(status)).c_str());
    return status;
  }
  // Adopt: the link leaves the accepting list and replaces any older link of that peer.
  std::shared_ptr<PeerLink> adopted;
  for (auto it = accepting_.begin(); it != accepting_.end(); ++it) {
    if (it->get() == &link) {
      adopted = std::move(*it);
      accepting_.erase(it);
      break;
    }
  }
  std::shared_ptr<PeerLink> old = std::move(p->link);
  p->link = std::move(adopted);
  if (old) {
    old->close(Error(Errc::closed,
                     "replaced by a new connection from node " + std::to_string(p->id.value())));
  }
  return HelloStatus::ok;
}

// ---- link events ----------------------------------------------------------------------------

void PeerNetwork::on_open(PeerLink& link) {
  Peer* p = find(link.peer());
  if (p == nullptr) return;
  ++p->totals.connects;
  if (p->totals.connects > 1) ++p->totals.reconnects;
  p->backoff_step = 0;
  p->down_logged = false;
  FERRY_LOG(info, "cluster", "link to node %d up (%s, %s)", p->id.value(), link.address().c_str(),
            link.role() == PeerLink::Role::dialer ? "dialled" : "accepted");
}

void PeerNetwork::on_request(PeerLink& link, MessageType type, uint32_t correlation,
                             Buffer payload) {
  auto it = handlers_.find(type);
  if (it == handlers_.end()) {
    link.respond_error(
        correlation, type, ErrorReason::no_handler,
        "no handler for message type " + std::to_string(static_cast<unsigned>(type)));
    return;
  }
  RequestHandler handler = it->second;  // the handler may replace itself
  handler(link.peer(), std::move(payload), Responder(link.weak_from_this(), correlation, type));
}

void PeerNetwork::on_closed(PeerLink& link, const Error& why) {
  if (closed_) return;
  for (auto it = accepting_.begin(); it != accepting_.end(); ++it) {
    if (it->get() == &link) {
      accepting_.erase(it);  // the link holds itself alive for the rest of its close()
      return;
    }
  }
  Peer* p = find(link.peer());
  if (p == nullptr) return;
  add(p->totals, link.counters());
  if (link.overflowed()) ++p->totals.send_overflows;
  if (p->link.get() != &link) return;  // replaced by a newer link
  p->link.reset();
  if (link.refusal() != HelloStatus::ok) {
    ++p->totals.dial_failures;
    FERRY_LOG_RATELIMITED(warn, "cluster", refusal_cause(link.refusal()), "%s",
                          why.message().c_str());
  } else if (!p->down_logged) {
    p->down_logged = true;
    FERRY_LOG(warn, "cluster", "link to node %d down: %s", p->id.value(), why.message().c_str());
  }
  schedule_retry(*p);
}

void PeerNetwork::defer(std::function<void()> fn) {
  if (closed_ && !defer_timer_) {
    post(loop_, std::move(fn));
    return;
  }
  deferred_.push_back(std::move(fn));
  if (!closed_ && !defer_timer_->active()) defer_timer_->start(0, [this] { run_deferred(); });
}

void PeerNetwork::run_deferred() {
  while (!deferred_.empty()) {
    std::vector<std::function<void()>> batch;
    batch.swap(deferred_);
    for (auto& fn : batch) fn();
  }
}

// ---- the sweep: stalls and slow connects ----------------------------------------------------

void PeerNetwork::sweep() {
  if (closed_) return;
  const uint64_t now = uv_now(loop_);
  for (auto& [id, p] : peers_) {
    if (p.dial != nullptr && now - p.dial_started_ms >= hello_ms_) {
      cancel_dial(p);
      dial_failed(p, "connect timed out after " + std::to_string(hello_ms_) + " ms");
      continue;
    }
    if (!p.link) continue;
    std::shared_ptr<PeerLink> link = p.link;
    if (link->handshake_expired(now, hello_ms_)) {
      link->close(Error(Errc::closed, "no hello within " + std::to_string(hello_ms_) + " ms"));
    } else if (link->stalled(now, stall_ms_)) {
      ++p.totals.stalls;
      link->close(Error(Errc::closed, "stalled: " + std::to_string(link->in_flight()) +
                                          " requests unanswered and nothing received for " +
                                          std::to_string(stall_ms_) + " ms"));
    } else {
      link->maybe_ping(now, std::max<uint64_t>(stall_ms_ / 3, 1));
    }
  }
  std::vector<std::shared_ptr<PeerLink>> expired;
  for (const auto& link : accepting_) {
    if (link->handshake_expired(now, hello_ms_)) expired.push_back(link);
  }
  for (const auto& link : expired) {
    link->close(Error(Errc::closed, "no hello within " + std::to_string(hello_ms_) + " ms"));
  }
  const uint64_t tick = std::clamp<uint64_t>(std::min(stall_ms_, hello_ms_) / 4, 5, 250);
  sweep_timer_->start(tick, [this] { sweep(); });
}

// ---- requests -------------------------------------------------------------------------------

void PeerNetwork::request(NodeId to, MessageType type, Buffer payload, ResponseFn done) {
  auto fail = [&](Errc code, std::string message) {
    defer([done = std::move(done), e = Error(code, std::move(message))] { done(e); });
  };
  if (closed_) return fail(Errc::closed, "the cluster network is closed");
  Peer* p = find(to);
  if (p == nullptr) {
    return fail(Errc::invalid_argument, "node " + std::to_string(to.value()) + " is not a peer");
  }
  if (payload.size() + kFrameHeaderSize > options_.limits.max_frame_bytes) {
    return fail(Errc::too_large, "a request of " + std::to_string(payload.size()) +
                                     " bytes is over the frame limit");
  }
  if (!p->link || p->link->state() != PeerLink::State::open) {
    return fail(Errc::closed, "not connected to node " + std::to_string(to.value()));
  }
  std::shared_ptr<PeerLink> link = p->link;
  link->request(type, std::move(payload), std::move(done));
}

void PeerNetwork::on_request(MessageType type, RequestHandler handler) {
  handlers_[type] = std::move(handler);
}

bool PeerNetwork::connected(NodeId peer) const {
  const Peer* p = find(peer);
  return p != nullptr && p->link && p->link->state() == PeerLink::State::open;
}

PeerCounters PeerNetwork::counters(NodeId peer) const {
  const Peer* p = find(peer);
  if (p == nullptr) return {};
  PeerCounters c = p->totals;
  if (p->link) add(c, p->link->counters());
  return c;
}

uint64_t PeerNetwork::send_buffered_bytes(NodeId peer) const {
  const Peer* p = find(peer);
  return p != nullptr && p->link ? p->link->send_buffered_bytes() : 0;
}

// ---- closing --------------------------------------------------------------------------------

void PeerNetwork::close(std::function<void()> done) {
  if (closed_) {
    if (done) defer(std::move(done));
    return;
  }
  closed_ = true;
  sweep_timer_.reset();
  std::vector<std::shared_ptr<PeerLink>> links;
  for (auto& [id, p] : peers_) {
    p.retry.reset();
    cancel_dial(p);
    if (p.link) links.push_back(std::move(p.link));
  }
  for (auto& link : accepting_) links.push_back(std::move(link));
  accepting_.clear();
  for (auto& link : links) link->close(Error(Errc::closed, "the cluster network is closing"));
  links.clear();
  if (listener_ != nullptr) {
    close_and_free(listener_);
    listener_ = nullptr;
  }
  run_deferred();  // the requests in flight fail now
  defer_timer_.reset();
  // Closed after all the others, so it runs in the same closing pass of the loop.
  if (done) post(loop_, std::move(done));
}

}  // namespace ferry::cluster
