// Server: listening socket and the set of live connections. See server.h.
#include "net/server.h"

#include <netdb.h>

#include <cstring>

#include "common/log.h"

namespace ferry::net {
namespace {

void close_and_free(uv_tcp_t* tcp) {
  tcp->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(tcp),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
}

std::string peer_name(uv_tcp_t* tcp) {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = {0};
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    uv_ip4_name(a, host, sizeof host);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    uv_ip6_name(a, host, sizeof host);
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

Result<sockaddr_storage> resolve(const std::string& host, uint16_t port) {
  sockaddr_storage ss{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss)) == 0) return ss;
  if (uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss)) == 0) return ss;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    return Error(Errc::invalid_argument,
                 "cannot resolve listen host '" + host + "': " + gai_strerror(rc));
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

}  // namespace

Server::Server(uv_loop_t* loop, ServerOptions options, Connection::RequestFn on_request)
    : loop_(loop), options_(std::move(options)), on_request_(std::move(on_request)) {}

Server::~Server() {
  close_all();
  if (listener_ != nullptr) close_and_free(listener_);
}

Status Server::listen() {
  auto addr = resolve(options_.host, options_.port);
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
  return ok_status();
}

void Server::on_connection(int status) {
  if (status != 0) {
    FERRY_LOG(warn, "net", "accept failed: %s", uv_strerror(status));
    return;
  }
  auto* tcp = new uv_tcp_t;
  uv_tcp_init(loop_, tcp);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_), reinterpret_cast<uv_stream_t*>(tcp)) !=
      0) {
    close_and_free(tcp);
    return;
  }
  if (conns_.size() >= options_.max_connections) {
    FERRY_LOG(warn, "net", "refusing a connection: max.connections (%zu) reached",
              options_.max_connections);
    close_and_free(tcp);
    return;
  }
  uv_tcp_nodelay(tcp, 1);
  const uint64_t id = next_id_++;
  auto conn = std::make_shared<Connection>(tcp, id, peer_name(tcp), options_.limits, on_request_,
                                           [this](Connection& c) { on_closed(c); });
  conns_.emplace(id, conn);
  FERRY_LOG(debug, "net", "connection %llu from %s", static_cast<unsigned long long>(id),
            conn->peer().c_str());
  conn->start();
}

void Server::on_closed(Connection& c) {
  conns_.erase(c.id());
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
  drained_ = nullptr;
  for (auto& [id, c] : conns) c->close("shutting down");
}

}  // namespace ferry::net
