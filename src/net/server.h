// The TCP listener: accepts connections and hands each one's requests to the broker.
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
#include "net/connection.h"

namespace ferry::net {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9092;  // 0: an ephemeral port, see port()
  ConnectionLimits limits;
  size_t max_connections = 1024;
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

 private:
  void on_connection(int status);
  void on_closed(Connection& c);

  uv_loop_t* loop_;
  ServerOptions options_;
  Connection::RequestFn on_request_;
  uv_tcp_t* listener_ = nullptr;  // heap: freed by its close callback
  uint16_t port_ = 0;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::shared_ptr<Connection>> conns_;
  std::function<void()> drained_;
};

}  // namespace ferry::net
