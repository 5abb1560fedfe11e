// TcpTransport: the Transport of a plain uv_tcp_t. See transport.h.
#include "net/transport.h"

#include <array>
#include <vector>

namespace ferry::net {

std::string tcp_peer_name(uv_tcp_t* tcp) {
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
  } else {
    return "?";
  }
  return std::string(host) + ":" + std::to_string(port);
}

namespace {

// Where libuv may still read after the transport was closed in the same loop iteration; what
// lands here is discarded.
uv_buf_t scratch_buffer() {
  thread_local std::array<char, 4096> scratch;
  return uv_buf_init(scratch.data(), static_cast<unsigned int>(scratch.size()));
}

struct TcpWrite {
  uv_write_t req;
  Transport::WriteDone done;
};

struct TcpShutdown {
  uv_shutdown_t req;
  Transport::ShutdownDone done;
};

// Most responses are one range, or a few around spliced record sets; libuv copies the array.
constexpr size_t kInlineBufs = 16;

}  // namespace

TcpTransport::TcpTransport(uv_tcp_t* tcp) : tcp_(tcp), loop_(tcp->loop), peer_(tcp_peer_name(tcp)) {
  tcp_->data = this;
  uv_tcp_nodelay(tcp_, 1);
}

TcpTransport::~TcpTransport() { close(); }

int TcpTransport::start_reading() {
  if (closed_) return UV_EBADF;
  if (reading_) return 0;
  const int rc = uv_read_start(
      reinterpret_cast<uv_stream_t*>(tcp_),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* self = static_cast<TcpTransport*>(h->data);
        if (self == nullptr || self->sink_ == nullptr) {
          *buf = scratch_buffer();
          return;
        }
        const std::span<std::byte> b = self->sink_->read_buffer();
        *buf = uv_buf_init(reinterpret_cast<char*>(b.data()), static_cast<unsigned int>(b.size()));
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        auto* self = static_cast<TcpTransport*>(s->data);
        if (self == nullptr || self->sink_ == nullptr || nread == 0) return;
        // The sink may close (and free) this transport from either call: `self` is not
        // touched after it.
        TransportSink* sink = self->sink_;
        if (nread < 0) {
          self->stop_reading();
          sink->on_read_end(static_cast<int>(nread));
          return;
        }
        sink->on_read(std::span<const std::byte>(reinterpret_cast<const std::byte*>(buf->base),
                                                 static_cast<size_t>(nread)));
      });
  if (rc == 0) reading_ = true;
  return rc;
}

void TcpTransport::stop_reading() {
  if (closed_ || !reading_) return;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
  reading_ = false;
}

int TcpTransport::write(std::span<const std::span<const std::byte>> pieces, WriteDone done) {
  if (closed_) return UV_EBADF;
  std::array<uv_buf_t, kInlineBufs> inline_bufs;
  std::vector<uv_buf_t> heap_bufs;
  uv_buf_t* bufs = inline_bufs.data();
  if (pieces.size() > kInlineBufs) {
    heap_bufs.resize(pieces.size());
    bufs = heap_bufs.data();
  }
  unsigned int n = 0;
  for (const auto& p : pieces) {
    if (p.empty()) continue;
    bufs[n++] = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(p.data())),
                            static_cast<unsigned int>(p.size()));
  }
  auto* w = new TcpWrite{{}, std::move(done)};
  w->req.data = w;
  const int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp_), bufs, n,
                          [](uv_write_t* req, int status) {
                            auto* tw = static_cast<TcpWrite*>(req->data);
                            auto cb = std::move(tw->done);
                            delete tw;
                            if (cb) cb(status);
                          });
  if (rc != 0) delete w;
  return rc;
}

int TcpTransport::shutdown(ShutdownDone done) {
  if (closed_) return UV_EBADF;
  auto* s = new TcpShutdown{{}, std::move(done)};
  s->req.data = s;
  const int rc = uv_shutdown(&s->req, reinterpret_cast<uv_stream_t*>(tcp_),
                             [](uv_shutdown_t* req, int status) {
                               auto* ts = static_cast<TcpShutdown*>(req->data);
                               auto cb = std::move(ts->done);
                               delete ts;
                               if (cb) cb(status);
                             });
  if (rc != 0) delete s;
  return rc;
}

void TcpTransport::close() {
  if (closed_) return;
  closed_ = true;
  reading_ = false;
  sink_ = nullptr;
  tcp_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
}

}  // namespace ferry::net
