// Server: listening socket and the set of live connections. See server.h.
#include "net/server.h"

#include <netdb.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>

#include "common/log.h"
#include "net/tls_transport.h"
#include "tls/engine.h"

namespace ferry::net {
namespace {

void close_and_free(uv_tcp_t* tcp) {
  tcp->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(tcp),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
}

// Descriptors the broker needs besides its connections: partition files (the file pool),
// meta.db and its WAL, the listener, libuv's internals.
constexpr rlim_t kFdsBesidesConnections = 512;

}  // namespace

Result<sockaddr_storage> resolve_address(const std::string& host, uint16_t port) {
  sockaddr_storage ss{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss)) == 0) return ss;
  if (uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss)) == 0) return ss;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    return Error(Errc::invalid_argument, "cannot resolve '" + host + "': " + gai_strerror(rc));
  }
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (ss.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
  }
  return ss;
}

Server::Server(uv_loop_t* loop, ServerOptions options, Connection::RequestFn on_request)
    : loop_(loop),
      options_(std::move(options)),
      on_request_(std::move(on_request)),
      budget_(options_.budget ? options_.budget
                              : std::make_shared<MemoryBudget>(options_.queued_max_request_bytes)),
      table_(options_.table ? options_.table : std::make_shared<ConnectionTable>()) {
  uint64_t shortest = std::min(options_.limits.idle_ms, options_.limits.frame_timeout_ms);
  if (options_.limits.auth_timeout_ms > 0)
    shortest = std::min(shortest, options_.limits.auth_timeout_ms);
  sweep_interval_ms_ = std::clamp<uint64_t>(shortest / 4, 5, 1000);
}

Server::~Server() {
  close_all();
  if (listener_ != nullptr) close_and_free(listener_);
}

void Server::raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t need = static_cast<rlim_t>(options_.max_connections) + kFdsBesidesConnections;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    const rlim_t want = rl.rlim_max == RLIM_INFINITY ? need : std::min(need, rl.rlim_max);
    if (want > rl.rlim_cur) {
      rlimit raised = rl;
      raised.rlim_cur = want;
      if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
    }
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    FERRY_LOG(warn, "net",
              "max.connections (%zu) needs about %llu file descriptors but the limit is %llu "
              "(ulimit -n); connections beyond it will fail to be accepted",
              options_.max_connections, static_cast<unsigned long long>(need),
              static_cast<unsigned long long>(rl.rlim_cur));
  }
}

Status Server::listen() {
  raise_fd_limit();
  auto addr = resolve_address(options_.host, options_.port);
  if (!addr) return std::move(addr).error();
  listener_ = new uv_tcp_t;
  uv_tcp_init(loop_, listener_);
  listener_->data = this;
  int rc = uv_tcp_bind(listener_, reinterpret_cast<const sockaddr*>(&*addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 128, [](uv_stream_t* s, int status) {
      auto* self = static_cast<Server*>(s->data);
      if (self != nullptr) self->on_connection(status);
    });
  }
  if (rc != 0) {
    close_and_free(listener_);
    listener_ = nullptr;
    return Error(Errc::io, "cannot listen on " + options_.host + ":" +
                               std::to_string(options_.port) + ": " + uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  sweep_timer_ = std::make_unique<UvTimer>(loop_);
  sweep_timer_->start(sweep_interval_ms_, [this] { sweep(); });
  sweep_timer_->unref();
  return ok_status();
}

void Server::sweep() {
  const uint64_t now = uv_now(loop_);
  // check_deadlines may close (and erase) a connection: iterate over a copy.
  std::vector<std::shared_ptr<Connection>> conns;
  conns.reserve(conns_.size());
  for (const auto& [id, c] : conns_) conns.push_back(c);
  for (const auto& c : conns) c->check_deadlines(now);
  sweep_timer_->start(sweep_interval_ms_, [this] { sweep(); });
  sweep_timer_->unref();
}

bool Server::evict_one(const std::string& newcomer, bool this_listener_only) {
  std::shared_ptr<Connection> victim;
  auto consider = [&victim](const std::shared_ptr<Connection>& c) {
    if (!c || !c->quiet() || c->closed()) return;
    if (!victim || c->last_activity_ms() < victim->last_activity_ms()) victim = c;
  };
  if (this_listener_only) {
    for (const auto& [id, c] : conns_) consider(c);
  } else {
    for (const auto& [id, weak] : table_->connections()) consider(weak.lock());
  }
  if (!victim) return false;
  const std::string limit =
      this_listener_only ? "listener.name." + options_.listener.name + ".max.connections (" +
                               std::to_string(options_.max_listener_connections) + ")"
                         : "max.connections (" + std::to_string(options_.max_connections) + ")";
  FERRY_LOG_RATELIMITED(warn, "net", "connection evicted",
                        "%s reached: closing connection %llu from %s, idle "
                        "for %llu ms, to admit %s",
                        limit.c_str(), static_cast<unsigned long long>(victim->id()),
                        victim->peer().c_str(),
                        static_cast<unsigned long long>(uv_now(loop_) - victim->last_activity_ms()),
                        newcomer.c_str());
  victim->close("evicted at max.connections");
  return true;
}

void Server::on_connection(int status) {
  if (status != 0) {
    FERRY_LOG_RATELIMITED(warn, "net", "accept failed", "accept failed: %s (%zu connections open)",
                          uv_strerror(status), conns_.size());
    return;
  }
  auto* tcp = new uv_tcp_t;
  uv_tcp_init(loop_, tcp);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_), reinterpret_cast<uv_stream_t*>(tcp)) !=
      0) {
    close_and_free(tcp);
    return;
  }
  // Refused connections are closed by the transport's destructor.
  std::unique_ptr<Transport> transport;
  if (options_.tls) {
    auto engine = tls::Engine::server(options_.tls->current());
    if (!engine) {
      FERRY_LOG_RATELIMITED(error, "net", "tls engine", "cannot start TLS for a connection: %s",
                            engine.error().message().c_str());
      close_and_free(tcp);
      return;
    }
    transport = std::make_unique<TlsTransport>(tcp, std::move(*engine));
  } else {
    transport = std::make_unique<TcpTransport>(tcp);
  }
  const std::string& peer = transport->peer();
  const std::string host = host_of(peer);
  const auto override_it = options_.max_connections_per_ip_overrides.find(host);
  const size_t per_ip_limit = override_it != options_.max_connections_per_ip_overrides.end()
                                  ? override_it->second
                                  : options_.max_connections_per_ip;
  if (table_->count_for(host) >= per_ip_limit) {
    FERRY_LOG_RATELIMITED(warn, "net", "max.connections.per.ip",
                          "refusing a connection from %s: max.connections.per.ip (%zu) reached",
                          peer.c_str(), per_ip_limit);
    return;
  }
  if (options_.max_listener_connections > 0 && conns_.size() >= options_.max_listener_connections &&
      !evict_one(peer, true)) {
    FERRY_LOG_RATELIMITED(warn, "net", "listener max.connections",
                          "refusing a connection from %s on listener %s: its max.connections "
                          "(%zu) reached and every connection has a request in progress",
                          peer.c_str(), options_.listener.name.c_str(),
                          options_.max_listener_connections);
    return;
  }
  if (table_->size() >= options_.max_connections && !evict_one(peer, false)) {
    FERRY_LOG_RATELIMITED(warn, "net", "max.connections",
                          "refusing a connection from %s: max.connections (%zu) reached and "
                          "every connection has a request in progress",
                          peer.c_str(), options_.max_connections);
    return;
  }
  const uint64_t id = table_->next_id();
  auto conn =
      std::make_shared<Connection>(std::move(transport), id, options_.listener, options_.limits,
                                   budget_, on_request_, [this](Connection& c) { on_closed(c); });
  conns_.emplace(id, conn);
  table_->add(conn, host);
  FERRY_LOG(debug, "net", "connection %llu from %s", static_cast<unsigned long long>(id),
            conn->peer().c_str());
  conn->start();
}

void Server::on_closed(Connection& c) {
  if (conns_.erase(c.id()) > 0) table_->remove(c.id(), host_of(c.peer()));
  if (conns_.empty() && drained_) {
    auto done = std::move(drained_);
    drained_ = nullptr;
    done();
  }
}

void Server::stop_accepting() {
  if (listener_ != nullptr) {
    close_and_free(listener_);
    listener_ = nullptr;
  }
  for (auto& [id, c] : conns_) c->stop_reading();
}

void Server::drain(std::function<void()> done) {
  stop_accepting();
  if (conns_.empty()) {
    done();
    return;
  }
  drained_ = std::move(done);
  // close_when_drained may close (and erase) synchronously: iterate over a copy.
  auto conns = conns_;
  for (auto& [id, c] : conns) c->close_when_drained();
}

void Server::close_all() {
  auto conns = std::move(conns_);
  conns_.clear();
  for (auto& [id, c] : conns) table_->remove(id, host_of(c->peer()));
  drained_ = nullptr;
  for (auto& [id, c] : conns) c->close("shutting down");
}

}  // namespace ferry::net
