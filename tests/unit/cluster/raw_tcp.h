// Raw TCP pieces for the cluster transport tests, on the test's loop over 127.0.0.1: a
// connection that records or forwards what it reads, a listener, and a forwarding proxy that
// can stop forwarding (a black-holed peer). Header-only; every handle is freed by its close
// callback, so the loop must run once more after these are destroyed.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace ferry::cluster::test {

class TcpConn {
 public:
  explicit TcpConn(uv_loop_t* loop) : tcp_(new uv_tcp_t) {
    uv_tcp_init(loop, tcp_);
    tcp_->data = this;
  }
  ~TcpConn() { close(); }
  TcpConn(const TcpConn&) = delete;
  TcpConn& operator=(const TcpConn&) = delete;

  uv_tcp_t* handle() { return tcp_; }

  void connect(uint16_t port, std::function<void(int)> done) {
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", port, &addr);
    auto* req = new uv_connect_t;
    on_connect_ = std::move(done);
    uv_tcp_connect(req, tcp_, reinterpret_cast<const sockaddr*>(&addr),
                   [](uv_connect_t* r, int status) {
                     auto* self = static_cast<TcpConn*>(r->handle->data);
                     delete r;
                     if (self == nullptr) return;
                     self->connected = status == 0;
                     if (self->on_connect_) self->on_connect_(status);
                   });
  }

  // Delivers reads to on_data (or appends them to `received`), the end to on_end.
  void start_reading() {
    if (closed_) return;
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(tcp_),
        [](uv_handle_t*, size_t, uv_buf_t* buf) {
          static thread_local char chunk[64 * 1024];
          *buf = uv_buf_init(chunk, sizeof chunk);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
          auto* self = static_cast<TcpConn*>(s->data);
          if (self == nullptr || n == 0) return;
          if (n < 0) {
            self->eof = true;
            uv_read_stop(s);
            if (self->on_end) self->on_end();
            return;
          }
          std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(buf->base),
                                           static_cast<size_t>(n));
          if (self->on_data) {
            self->on_data(bytes);
          } else {
            self->received.insert(self->received.end(), bytes.begin(), bytes.end());
          }
        });
  }
  void stop_reading() {
    if (!closed_) uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
  }

  void write(std::span<const std::byte> bytes) {
    if (closed_) return;
    struct Write {
      uv_write_t req;
      std::vector<std::byte> data;
    };
    auto* w = new Write{{}, std::vector<std::byte>(bytes.begin(), bytes.end())};
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(w->data.data()),
                               static_cast<unsigned int>(w->data.size()));
    w->req.data = w;
    if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp_), &buf, 1,
                 [](uv_write_t* r, int) { delete static_cast<Write*>(r->data); }) != 0) {
      delete w;
    }
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    tcp_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  }

  std::function<void(std::span<const std::byte>)> on_data;
  std::function<void()> on_end;
  std::vector<std::byte> received;
  bool connected = false;
  bool eof = false;

 private:
  uv_tcp_t* tcp_;
  std::function<void(int)> on_connect_;
  bool closed_ = false;
};

// Listens on 127.0.0.1 (an ephemeral port) and hands every accepted connection to `on_conn`.
class TcpListener {
 public:
  TcpListener(uv_loop_t* loop, std::function<void(std::unique_ptr<TcpConn>)> on_conn)
      : loop_(loop), tcp_(new uv_tcp_t), on_conn_(std::move(on_conn)) {
    uv_tcp_init(loop, tcp_);
    tcp_->data = this;
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(tcp_, reinterpret_cast<const sockaddr*>(&addr), 0);
    uv_listen(reinterpret_cast<uv_stream_t*>(tcp_), 16, [](uv_stream_t* s, int status) {
      auto* self = static_cast<TcpListener*>(s->data);
      if (self == nullptr || status != 0) return;
      auto conn = std::make_unique<TcpConn>(self->loop_);
      if (uv_accept(s, reinterpret_cast<uv_stream_t*>(conn->handle())) != 0) return;
      conn->connected = true;
      self->on_conn_(std::move(conn));
    });
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(tcp_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  ~TcpListener() {
    tcp_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  }
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  uint16_t port() const { return port_; }

 private:
  uv_loop_t* loop_;
  uv_tcp_t* tcp_;
  std::function<void(std::unique_ptr<TcpConn>)> on_conn_;
  uint16_t port_ = 0;
};

// Forwards each accepted connection to 127.0.0.1:`target`. stall() stops forwarding on the
// connections open at that moment (both directions, nothing closed): the far side looks alive
// and silent. Later connections forward normally.
class StallProxy {
 public:
  StallProxy(uv_loop_t* loop, uint16_t target)
      : loop_(loop),
        target_(target),
        listener_(loop, [this](std::unique_ptr<TcpConn> c) { on_conn(std::move(c)); }) {}
  uint16_t port() const { return listener_.port(); }
  size_t accepted() const { return accepted_; }

  void stall() {
    for (auto& p : pairs_) {
      p->stalled = true;
      p->down->stop_reading();
      p->up->stop_reading();
    }
  }

 private:
  struct Pair {
    std::unique_ptr<TcpConn> down;  // the dialler's side
    std::unique_ptr<TcpConn> up;    // towards the target
    bool stalled = false;
  };
  void on_conn(std::unique_ptr<TcpConn> c) {
    ++accepted_;
    auto pair = std::make_unique<Pair>();
    Pair* p = pair.get();
    p->down = std::move(c);
    p->up = std::make_unique<TcpConn>(loop_);
    p->up->connect(target_, [p](int status) {
      if (status != 0 || p->stalled) return;
      p->down->on_data = [p](std::span<const std::byte> b) {
        if (!p->stalled) p->up->write(b);
      };
      p->up->on_data = [p](std::span<const std::byte> b) {
        if (!p->stalled) p->down->write(b);
      };
      p->down->on_end = [p] { p->up->close(); };
      p->up->on_end = [p] { p->down->close(); };
      p->down->start_reading();
      p->up->start_reading();
    });
    pairs_.push_back(std::move(pair));
  }

  uv_loop_t* loop_;
  uint16_t target_;
  TcpListener listener_;
  std::vector<std::unique_ptr<Pair>> pairs_;
  size_t accepted_ = 0;
};

}  // namespace ferry::cluster::test
