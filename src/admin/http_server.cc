// The admin listener's HTTP/1.1 server. See http_server.h.
#include "admin/http_server.h"

#include <cstring>

#include "common/log.h"

namespace ferry::admin {

struct HttpServer::Conn {
  HttpServer* owner = nullptr;
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  std::string in;
  bool closing = false;
  bool reading = false;
  bool draining = false;  // an error was answered: discard what comes until EOF or timeout
  int handles_open = 0;   // tcp and timer; the Conn is freed when both closed
};

namespace {

struct WriteReq {
  uv_write_t req{};
  void* conn = nullptr;
  std::string bytes;
  bool close_after = false;
};

}  // namespace

const char* status_text(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string render_response(const HttpResponse& r, bool keep_alive, bool head_only) {
  std::string out;
  out.reserve(r.body.size() + 256);
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += status_text(r.status);
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  out += "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  for (const auto& [name, value] : r.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
  if (!head_only) out += r.body;
  return out;
}

HttpServer::HttpServer(uv_loop_t* loop, HttpServerOptions options, Handler handler)
    : loop_(loop), options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::listen() {
  sockaddr_storage addr{};
  int rc = uv_ip4_addr(options_.host.c_str(), options_.port, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) {
    rc = uv_ip6_addr(options_.host.c_str(), options_.port, reinterpret_cast<sockaddr_in6*>(&addr));
  }
  if (rc != 0) {
    return Error(Errc::invalid_argument, "admin listener: not an IP address: " + options_.host);
  }
  listener_ = new uv_tcp_t;
  uv_tcp_init(loop_, listener_);
  listener_->data = this;
  rc = uv_tcp_bind(listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 64, on_connection);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(listener_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    listener_ = nullptr;
    return Error(Errc::io, "admin listener on " + options_.host + ":" +
                               std::to_string(options_.port) + ": " + uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  listening_ = true;
  return ok_status();
}

void HttpServer::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<HttpServer*>(server->data);
  if (status != 0 || self->stopping_) return;
  self->accept_one();
}

void HttpServer::accept_one() {
  auto* c = new Conn;
  c->owner = this;
  uv_tcp_init(loop_, &c->tcp);
  uv_timer_init(loop_, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  c->handles_open = 2;
  conns_.insert(c);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_),
                reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    close_conn(*c);
    return;
  }
  if (conns_.size() > options_.max_connections) {
    FERRY_LOG_RATELIMITED(warn, "admin", "admin connections",
                          "admin listener: %zu connections open, closing a new one",
                          conns_.size() - 1);
    close_conn(*c);
    return;
  }
  uv_timer_start(
      &c->timer,
      [](uv_timer_t* t) {
        auto* conn = static_cast<Conn*>(t->data);
        conn->owner->close_conn(*conn);
      },
      options_.idle_ms, 0);
  start_reading(*c);
}

void HttpServer::on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  auto* conn = static_cast<Conn*>(h->data);
  const size_t old = conn->in.size();
  const size_t want = std::min<size_t>(suggested, 16384);
  conn->in.resize(old + want);
  *buf = uv_buf_init(conn->in.data() + old, static_cast<unsigned>(want));
}

void HttpServer::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* conn = static_cast<Conn*>(s->data);
  const size_t used = static_cast<size_t>(buf->base - conn->in.data());
  if (n < 0) {
    conn->in.resize(used);
    conn->owner->close_conn(*conn);
    return;
  }
  conn->in.resize(used + static_cast<size_t>(n));
  if (n > 0) conn->owner->on_data(*conn);
}

void HttpServer::start_reading(Conn& c) {
  c.reading = true;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c.tcp), on_alloc, on_read);
}

void HttpServer::on_data(Conn& c) {
  if (c.draining) {
    c.in.clear();
    return;
  }
  while (!c.closing && c.reading) {
    ParseOutcome p = parse_http_request(c.in, options_.limits);
    if (p.state == ParseState::incomplete) return;
    if (p.state == ParseState::error) {
      HttpResponse r;
      r.status = p.status;
      r.body = p.reason + "\n";
      if (p.status == 405) r.headers.emplace_back("Allow", "GET, HEAD");
      // Lingering close: send the answer, shut down our side and discard what the client
      // still sends (closing with unread bytes would reset the connection and could destroy
      // the answer before the client read it). EOF or the idle timer closes it.
      c.in.clear();
      c.draining = true;
      send(c, render_response(r, false, false), false);
      auto* req = new uv_shutdown_t;
      if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&c.tcp),
                      [](uv_shutdown_t* sd, int) { delete sd; }) != 0) {
        delete req;
      }
      return;
    }
    c.in.erase(0, p.consumed);
    ++requests_;
    HttpResponse r = handler_(p.request);
    const bool keep = p.request.keep_alive && !stopping_;
    send(c, render_response(r, keep, p.request.method == "HEAD"), !keep);
    if (!keep) {
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&c.tcp));
      c.reading = false;
      return;
    }
    uv_timer_start(
        &c.timer,
        [](uv_timer_t* t) {
          auto* conn = static_cast<Conn*>(t->data);
          conn->owner->close_conn(*conn);
        },
        options_.idle_ms, 0);
  }
}

void HttpServer::send(Conn& c, std::string bytes, bool close_after) {
  auto* w = new WriteReq;
  w->bytes = std::move(bytes);
  w->close_after = close_after;
  w->conn = &c;
  w->req.data = w;
  uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  const int rc = uv_write(
      &w->req, reinterpret_cast<uv_stream_t*>(&c.tcp), &buf, 1, [](uv_write_t* req, int status) {
        std::unique_ptr<WriteReq> done(static_cast<WriteReq*>(req->data));
        auto* conn = static_cast<Conn*>(done->conn);
        if (conn->closing) return;
        HttpServer* self = conn->owner;
        if (status != 0 || done->close_after) {
          self->close_conn(*conn);
          return;
        }
        const size_t queued =
            uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&conn->tcp));
        if (!conn->reading && queued <= self->options_.max_pending_write_bytes) {
          self->start_reading(*conn);
          self->on_data(*conn);
        }
      });
  if (rc != 0) {
    delete w;
    close_conn(c);
    return;
  }
  if (!close_after && c.reading &&
      uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&c.tcp)) >
          options_.max_pending_write_bytes) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c.tcp));
    c.reading = false;
  }
}

void HttpServer::close_conn(Conn& c) {
  if (c.closing) return;
  c.closing = true;
  conns_.erase(&c);
  closing_ += 1;
  auto on_closed = [](uv_handle_t* h) {
    auto* conn = static_cast<Conn*>(h->data);
    if (--conn->handles_open > 0) return;
    HttpServer* self = conn->owner;
    delete conn;
    self->closing_ -= 1;
    self->maybe_finish_stop();
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&c.timer), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c.tcp), on_closed);
}

void HttpServer::stop(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  stop_done_ = std::move(done);
  if (listener_) {
    closing_ += 1;
    listener_->data = this;
    uv_close(reinterpret_cast<uv_handle_t*>(listener_), [](uv_handle_t* h) {
      auto* self = static_cast<HttpServer*>(h->data);
      delete reinterpret_cast<uv_tcp_t*>(h);
      self->closing_ -= 1;
      self->maybe_finish_stop();
    });
    listener_ = nullptr;
    listening_ = false;
  }
  std::vector<Conn*> open(conns_.begin(), conns_.end());
  for (Conn* c : open) close_conn(*c);
  maybe_finish_stop();
}

void HttpServer::maybe_finish_stop() {
  if (!stopping_ || closing_ > 0 || !conns_.empty() || !stop_done_) return;
  auto done = std::move(stop_done_);
  stop_done_ = nullptr;
  done();
}

}  // namespace ferry::admin
