// The admin listener's HTTP/1.1 server on the broker's libuv loop: accepts connections on one
// TCP address, parses requests (http_request.h) and answers each synchronously with what the
// handler returns. Responses leave in request order (each is complete before the next request
// is parsed), so pipelined requests need nothing special.
//
// Limits. At most `max_connections` connections at once (one more is accepted and closed at
// once); a request's head is bounded (431); requests with a body are refused (413); methods
// other than GET and HEAD get 405; an error response is followed by closing the connection (after
// reading what the client still sends, until EOF or the idle timeout). A connection must send a
// whole request within `idle_ms` of its accept or of its previous response, else it is closed (idle
// keep-alive connections and slow senders alike). Reading pauses while more than
// `max_pending_write_bytes` of responses wait for the client to read them.
//
// Threading and lifetime: loop thread only. stop() closes the listener and every connection;
// `done` fires once their handles are closed. Destroy the server only after that.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "admin/http_request.h"
#include "common/result.h"

namespace ferry::admin {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra header fields
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9644;  // 0: an ephemeral port, see port()
  size_t max_connections = 32;
  uint64_t idle_ms = 30000;
  size_t max_pending_write_bytes = 4u << 20;
  HttpLimits limits;
};

// The reason phrase of a status the server sends.
const char* status_text(int status);
// The whole response as sent: status line, headers, and the body unless `head_only`.
std::string render_response(const HttpResponse& r, bool keep_alive, bool head_only);

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  HttpServer(uv_loop_t* loop, HttpServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status listen();
  uint16_t port() const noexcept { return port_; }
  bool listening() const noexcept { return listening_; }
  size_t connection_count() const noexcept { return conns_.size(); }
  uint64_t requests_served() const noexcept { return requests_; }
  void stop(std::function<void()> done);

 private:
  struct Conn;
  static void on_connection(uv_stream_t* server, int status);
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  void accept_one();
  void start_reading(Conn& c);
  void on_data(Conn& c);
  void send(Conn& c, std::string bytes, bool close_after);
  void close_conn(Conn& c);
  void maybe_finish_stop();

  uv_loop_t* loop_;
  HttpServerOptions options_;
  Handler handler_;
  uv_tcp_t* listener_ = nullptr;  // heap: freed by its close callback
  uint16_t port_ = 0;
  bool listening_ = false;
  std::set<Conn*> conns_;
  size_t closing_ = 0;  // handles whose close callback is pending
  uint64_t requests_ = 0;
  std::function<void()> stop_done_;
  bool stopping_ = false;
};

}  // namespace ferry::admin
