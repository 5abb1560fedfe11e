// TlsTransport: a uv_tcp_t with a tls::Engine between the socket and the sink. See
// tls_transport.h.
#include "net/tls_transport.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/log.h"

namespace ferry::net {
namespace {

constexpr size_t kRecordPlaintext = 16 * 1024;  // TLS's largest record payload
constexpr size_t kChunk = 64 * 1024;            // ciphertext handed to one uv_write
constexpr size_t kMaxInFlight = 256 * 1024;     // ciphertext on its way to the socket
constexpr size_t kCipherRead = 64 * 1024;

// Ciphertext is fed to the engine before the read callback returns, so one buffer serves every
// connection of the thread's loop.
std::byte* cipher_read_buffer() {
  thread_local std::vector<std::byte> buf(kCipherRead);
  return buf.data();
}

// Small pieces of a write are gathered here into full records.
std::byte* staging_buffer() {
  thread_local std::vector<std::byte> buf(kRecordPlaintext);
  return buf.data();
}

struct TlsWrite {
  uv_write_t req;
  std::vector<std::byte> bytes;
  std::vector<Transport::WriteDone> dones;
  std::shared_ptr<bool> alive;
  TlsTransport* self;
};

struct TlsShutdown {
  uv_shutdown_t req;
  Transport::ShutdownDone done;
};

}  // namespace

// The delivery timer, and the write and shutdown completions that must run later (a write that
// failed synchronously, writes cancelled by close()). Outlives the transport until its close
// callback.
struct TlsTransport::Aux {
  uv_timer_t timer;
  TlsTransport* self = nullptr;
  std::vector<std::pair<WriteDone, int>> completions;
  ShutdownDone shutdown_done;
};

TlsTransport::TlsTransport(uv_tcp_t* tcp, std::unique_ptr<tls::Engine> engine)
    : tcp_(tcp),
      loop_(tcp->loop),
      aux_(new Aux),
      engine_(std::move(engine)),
      peer_(tcp_peer_name(tcp)),
      alive_(std::make_shared<bool>(true)) {
  tcp_->data = this;
  uv_tcp_nodelay(tcp_, 1);
  uv_timer_init(loop_, &aux_->timer);
  aux_->timer.data = aux_;
  aux_->self = this;
}

TlsTransport::~TlsTransport() { close(); }

void TlsTransport::schedule_delivery() {
  if (closed_) return;
  uv_timer_start(
      &aux_->timer,
      [](uv_timer_t* t) {
        auto* aux = static_cast<Aux*>(t->data);
        TlsTransport* self = aux->self;
        if (self == nullptr) return;
        std::shared_ptr<bool> alive = self->alive_;
        auto completions = std::move(aux->completions);
        aux->completions.clear();
        for (auto& [done, status] : completions) {
          if (done) done(status);
        }
        if (!*alive) return;
        if (self->ended_) {
          if (self->reading_ && self->sink_ != nullptr && !self->end_delivered_) {
            self->end_delivered_ = true;
            self->stop_reading();
            self->sink_->on_read_end(self->end_status_);
          }
          return;
        }
        if (self->reading_) self->process();
      },
      0, 0);
}

int TlsTransport::start_reading() {
  if (closed_) return UV_EBADF;
  reading_ = true;
  if (!socket_reading_ && !ended_) {
    const int rc = uv_read_start(
        reinterpret_cast<uv_stream_t*>(tcp_),
        [](uv_handle_t*, size_t, uv_buf_t* buf) {
          *buf = uv_buf_init(reinterpret_cast<char*>(cipher_read_buffer()),
                             static_cast<unsigned int>(kCipherRead));
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
          auto* self = static_cast<TlsTransport*>(s->data);
          if (self != nullptr) self->on_socket_read(nread, buf);
        });
    if (rc != 0) return rc;
    socket_reading_ = true;
  }
  // A client's handshake starts with its ClientHello, sent from the timer callback.
  if (!handshake_done_ || engine_->plaintext_pending() || (ended_ && !end_delivered_)) {
    schedule_delivery();
  }
  return 0;
}

void TlsTransport::stop_reading() {
  reading_ = false;
  if (closed_ || !socket_reading_) return;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
  socket_reading_ = false;
}

void TlsTransport::on_socket_read(ssize_t nread, const uv_buf_t* buf) {
  if (nread == 0 || ended_) return;
  if (nread < 0) {
    if (!handshake_done_) {
      FERRY_LOG(debug, "net", "%s closed the connection during the TLS handshake: %s",
                peer_.c_str(), uv_strerror(static_cast<int>(nread)));
    }
    ended_ = true;
    end_delivered_ = true;
    TransportSink* sink = sink_;
    stop_reading();
    if (sink != nullptr) sink->on_read_end(static_cast<int>(nread));
    return;
  }
  engine_->feed(std::span<const std::byte>(reinterpret_cast<const std::byte*>(buf->base),
                                           static_cast<size_t>(nread)));
  process();
}

bool TlsTransport::process() {
  const std::shared_ptr<bool> alive = alive_;
  if (!handshake_done_) {
    auto r = engine_->handshake();
    if (!r) {
      flush_engine_output({});  // the alert, when there is one
      fail(UV_EPROTO, "TLS handshake failed: " + r.error().message());
      return false;
    }
    if (!flush_engine_output({})) return false;
    if (!*r) return true;
    handshake_done_ = true;
    FERRY_LOG(debug, "net", "TLS with %s: %s%s%s", peer_.c_str(), engine_->description().c_str(),
              engine_->peer_subject().empty() ? "" : ", peer ", engine_->peer_subject().c_str());
    if (!engine_->peer_subject().empty() && sink_ != nullptr) {
      sink_->on_peer_certificate(engine_->peer_subject());
      if (!*alive) return false;
    }
    pump();  // writes queued during the handshake
    if (!*alive || ended_) return false;
  }
  while (reading_ && sink_ != nullptr && !ended_) {
    const std::span<std::byte> buf = sink_->read_buffer();
    auto n = engine_->read(buf);
    if (!n) {
      if (n.error().code() == Errc::closed) {
        ended_ = true;
        end_status_ = UV_EOF;
        schedule_delivery();
      } else {
        fail(UV_EPROTO, "TLS record error: " + n.error().message());
      }
      return false;
    }
    if (*n == 0) break;
    TransportSink* sink = sink_;
    sink->on_read(buf.first(*n));
    if (!*alive) return false;
  }
  if (engine_->output_pending() > 0 && !flush_engine_output({})) return false;
  return *alive;
}

bool TlsTransport::flush_engine_output(std::vector<WriteDone> dones) {
  if (closed_) return false;
  std::vector<std::byte> bytes = engine_->take_output();
  if (bytes.empty()) {
    if (!dones.empty()) {
      for (auto& d : dones) aux_->completions.emplace_back(std::move(d), 0);
      schedule_delivery();
    }
    return true;
  }
  const size_t size = bytes.size();
  auto* w = new TlsWrite{{}, std::move(bytes), std::move(dones), alive_, this};
  w->req.data = w;
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(w->bytes.data()),
                           static_cast<unsigned int>(w->bytes.size()));
  in_flight_ += size;
  const int rc =
      uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp_), &b, 1, [](uv_write_t* req, int st) {
        auto* tw = static_cast<TlsWrite*>(req->data);
        const std::shared_ptr<bool> alive = std::move(tw->alive);
        const size_t n = tw->bytes.size();
        TlsTransport* self = tw->self;
        auto completed = std::move(tw->dones);
        delete tw;
        if (*alive) self->in_flight_ -= n;
        // A done callback may close and free the transport: `self` is used only while alive.
        for (auto& d : completed) {
          if (d) d(st);
        }
        if (!*alive) return;
        if (st == 0) {
          self->pump();
        } else {
          self->fail(st, std::string("writing to the socket failed: ") + uv_strerror(st));
        }
      });
  if (rc != 0) {
    in_flight_ -= size;
    for (auto& d : w->dones) aux_->completions.emplace_back(std::move(d), rc);
    delete w;
    fail(rc, std::string("TLS write to the socket failed: ") + uv_strerror(rc));
    return false;
  }
  return true;
}

void TlsTransport::pump() {
  if (!handshake_done_ || closed_ || ended_) return;
  std::byte* stage = staging_buffer();
  while (!pending_.empty() && in_flight_ < kMaxInFlight) {
    std::vector<WriteDone> dones;
    size_t staged = 0;
    Status st = ok_status();
    while (!pending_.empty() && engine_->output_pending() < kChunk && st) {
      PendingWrite& w = pending_.front();
      if (w.piece == w.pieces.size()) {
        dones.push_back(std::move(w.done));
        pending_.pop_front();
        continue;
      }
      const std::span<const std::byte> piece = w.pieces[w.piece].subspan(w.offset);
      size_t took = 0;
      if (staged == 0 && piece.size() >= kRecordPlaintext) {
        took = kRecordPlaintext;  // a whole record straight from the caller's bytes
        st = engine_->write(piece.first(took));
      } else {
        took = std::min(piece.size(), kRecordPlaintext - staged);
        std::memcpy(stage + staged, piece.data(), took);
        staged += took;
        if (staged == kRecordPlaintext) {
          st = engine_->write(std::span<const std::byte>(stage, staged));
          staged = 0;
        }
      }
      w.offset += took;
      if (w.offset == w.pieces[w.piece].size()) {
        ++w.piece;
        w.offset = 0;
      }
    }
    if (st && staged > 0) st = engine_->write(std::span<const std::byte>(stage, staged));
    // Writes whose last bytes are in this chunk complete with it.
    while (st && !pending_.empty() && pending_.front().piece == pending_.front().pieces.size()) {
      dones.push_back(std::move(pending_.front().done));
      pending_.pop_front();
    }
    if (!st) {
      for (auto& d : dones) aux_->completions.emplace_back(std::move(d), UV_EPROTO);
      fail(UV_EPROTO, st.error().message());
      return;
    }
    if (!flush_engine_output(std::move(dones))) return;
  }
  maybe_shutdown();
}

int TlsTransport::write(std::span<const std::span<const std::byte>> pieces, WriteDone done) {
  if (closed_ || ended_) return UV_EBADF;
  if (shutdown_requested_) return UV_EPIPE;
  PendingWrite w;
  for (const auto& p : pieces) {
    if (!p.empty()) w.pieces.push_back(p);
  }
  w.done = std::move(done);
  pending_.push_back(std::move(w));
  pump();
  return 0;
}

int TlsTransport::shutdown(ShutdownDone done) {
  if (closed_) return UV_EBADF;
  if (shutdown_requested_) return UV_EALREADY;
  shutdown_requested_ = true;
  shutdown_done_ = std::move(done);
  maybe_shutdown();
  return 0;
}

void TlsTransport::maybe_shutdown() {
  if (!shutdown_requested_ || shutdown_started_ || !pending_.empty() || closed_) return;
  shutdown_started_ = true;
  if (handshake_done_) {
    engine_->close_notify();
    if (!flush_engine_output({})) return;
  }
  auto* s = new TlsShutdown{{}, std::move(shutdown_done_)};
  shutdown_done_ = nullptr;
  s->req.data = s;
  const int rc = uv_shutdown(&s->req, reinterpret_cast<uv_stream_t*>(tcp_),
                             [](uv_shutdown_t* req, int status) {
                               auto* ts = static_cast<TlsShutdown*>(req->data);
                               auto cb = std::move(ts->done);
                               delete ts;
                               if (cb) cb(status);
                             });
  if (rc != 0) {
    aux_->completions.emplace_back(
        [cb = std::move(s->done)](int st) mutable {
          if (cb) cb(st);
        },
        rc);
    delete s;
    schedule_delivery();
  }
}

void TlsTransport::fail(int status, const std::string& why) {
  // Writes not yet encrypted will not be: they complete with the error.
  for (auto& w : pending_) aux_->completions.emplace_back(std::move(w.done), status);
  pending_.clear();
  if (ended_) {
    schedule_delivery();
    return;
  }
  failure_ = why;
  if (status == UV_EPROTO) {
    FERRY_LOG_RATELIMITED(warn, "net", "tls failure", "TLS connection with %s closed: %s",
                          peer_.c_str(), why.c_str());
  } else {
    FERRY_LOG(debug, "net", "TLS connection with %s: %s", peer_.c_str(), why.c_str());
  }
  ended_ = true;
  end_status_ = status;
  if (socket_reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
    socket_reading_ = false;
  }
  schedule_delivery();
}

void TlsTransport::close() {
  if (closed_) return;
  closed_ = true;
  *alive_ = false;
  reading_ = false;
  socket_reading_ = false;
  sink_ = nullptr;
  tcp_->data = nullptr;
  for (auto& w : pending_) aux_->completions.emplace_back(std::move(w.done), UV_ECANCELED);
  pending_.clear();
  if (shutdown_done_) aux_->shutdown_done = std::move(shutdown_done_);
  aux_->self = nullptr;
  uv_timer_stop(&aux_->timer);
  // Closed before the socket: libuv runs close callbacks last-closed first, so writes already
  // on the socket are cancelled before the ones that never reached it.
  uv_close(reinterpret_cast<uv_handle_t*>(&aux_->timer), [](uv_handle_t* h) {
    auto* aux = static_cast<Aux*>(h->data);
    for (auto& [done, status] : aux->completions) {
      if (done) done(status == 0 ? 0 : status);
    }
    if (aux->shutdown_done) aux->shutdown_done(UV_ECANCELED);
    delete aux;
  });
  uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
}

}  // namespace ferry::net
