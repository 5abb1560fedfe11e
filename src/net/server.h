// The TCP listener: accepts connections and hands each one's requests to the broker.
//
// Connection limits, checked when a connection is accepted:
// - max_connections_per_ip (max.connections.per.ip, with per-address exceptions from
//   max.connections.per.ip.overrides): a connection from an address that already has that many
//   is refused.
// - max_connections (max.connections): at the limit, the connection idle the longest among
//   those with no request being handled or answered is closed to admit the newcomer (so idle
//   sockets cannot lock clients out); only when every connection is busy is the newcomer
//   refused. Evictions and refusals are logged, rate-limited.
// - max_listener_connections (listener.name.<name>.max.connections; 0: none): the same for this
//   listener's connections alone, checked first.
// Servers given one ConnectionTable (the broker's listeners) apply max_connections and
// max_connections_per_ip to all their connections together, and evict across listeners.
// The server also owns the connections' MemoryBudget (queued.max.request.bytes) and a sweep
// timer that enforces the idle and frame deadlines of each connection (connection.h).
//
// File descriptors: listen() raises the process's soft RLIMIT_NOFILE towards what
// max_connections needs (up to the hard limit) and warns when it cannot.
//
// Threading: everything runs on the loop thread that owns the Server.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/uv_timer.h"
#include "net/connection.h"
#include "net/connection_table.h"
#include "net/memory_budget.h"
#include "net/session.h"
#include "tls/context.h"

namespace ferry::net {

// A listen address: numeric IPv4/IPv6, else resolved with getaddrinfo (blocking; start-up only),
// the first address found. invalid_argument naming the host when it cannot be resolved.
Result<sockaddr_storage> resolve_address(const std::string& host, uint16_t port);

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9092;  // 0: an ephemeral port, see port()
  // The listener's name and security protocol, for each connection's Session.
  ListenerInfo listener;
  // Set for SSL and SASL_SSL listeners: each connection gets a TlsTransport whose engine uses
  // the context current when it is accepted (so a reload affects only later connections).
  // Null: a TcpTransport.
  std::shared_ptr<tls::ReloadableServerContext> tls;
  ConnectionLimits limits;
  size_t max_connections = 1024;
  size_t max_connections_per_ip = 256;
  size_t max_listener_connections = 0;
  // Shared by the servers of one broker (see above); when null the server has its own.
  std::shared_ptr<ConnectionTable> table;
  // Per-address exceptions to max_connections_per_ip: numeric address ("10.0.0.7", "::1").
  std::map<std::string, size_t> max_connections_per_ip_overrides;
  // queued.max.request.bytes: request and response bytes held for all connections together.
  uint64_t queued_max_request_bytes = 4u << 20;
  // A budget shared with other listeners (the broker's one bound for all of them); when null
  // the server makes its own of queued_max_request_bytes.
  std::shared_ptr<MemoryBudget> budget;
};

class Server {
 public:
  Server(uv_loop_t* loop, ServerOptions options, Connection::RequestFn on_request);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. The host must be a numeric IPv4/IPv6 address or a name that resolves
  // (resolution blocks; it happens once at start-up).
  Status listen();
  // The bound port (useful with port 0).
  uint16_t port() const noexcept { return port_; }

  // Stops accepting and stops reading on every connection; responses in progress still go out.
  void stop_accepting();
  // Closes each connection once its responses are written. `done` fires when all are closed.
  void drain(std::function<void()> done);
  // Closes every connection now.
  void close_all();

  size_t connection_count() const noexcept { return conns_.size(); }
  const MemoryBudget& budget() const noexcept { return *budget_; }

 private:
  void on_connection(int status);
  void on_closed(Connection& c);
  // Closes the longest-idle quiet connection (of this listener, or of every listener sharing
  // the table); false when every such connection is busy.
  bool evict_one(const std::string& newcomer, bool this_listener_only);
  void sweep();
  void raise_fd_limit();

  uv_loop_t* loop_;
  ServerOptions options_;
  Connection::RequestFn on_request_;
  uv_tcp_t* listener_ = nullptr;  // heap: freed by its close callback
  uint16_t port_ = 0;
  std::map<uint64_t, std::shared_ptr<Connection>> conns_;
  std::shared_ptr<MemoryBudget> budget_;
  std::shared_ptr<ConnectionTable> table_;  // every listener's connections, per-address counts
  std::unique_ptr<UvTimer> sweep_timer_;
  uint64_t sweep_interval_ms_ = 1000;
  std::function<void()> drained_;
};

}  // namespace ferry::net
