// TlsTransport: the Transport of a TLS connection (SSL and SASL_SSL listeners, and the client's
// TLS connections) — a uv_tcp_t with a tls::Engine between the socket and the sink. It keeps
// transport.h's contract:
// - The handshake runs first, on the loop, as bytes arrive; no plaintext reaches the sink before
//   it completes. When the peer's certificate was verified, the sink hears its subject
//   (TransportSink::on_peer_certificate) before the first plaintext byte.
// - Reads: ciphertext lands in one buffer shared by the thread's connections and is fed to the
//   engine at once; decrypted bytes go into the sink's read_buffer(). Plaintext the engine holds
//   while reading is stopped is delivered after start_reading(), from a timer callback.
// - Writes: the ranges given to write() are encrypted (not copied first) in chunks of about
//   64 KiB of records as earlier chunks reach the socket, so a large fetch response is never
//   held twice in full; small pieces are gathered into records of up to 16 KiB. `done` runs when
//   the last record holding the write's bytes went to the socket.
// - shutdown() sends close_notify after the queued writes, then the TCP FIN.
// - A failed handshake (bad or untrusted certificate, a plaintext client) or a bad record ends
//   the stream with on_read_end(UV_EPROTO) after a warning naming the peer and the reason; the
//   alert mbedTLS produced is sent first when the socket takes it.
//
// Threading: the loop thread that owns the socket.
#pragma once

#include <uv.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "net/transport.h"
#include "tls/engine.h"

namespace ferry::net {

class TlsTransport final : public Transport {
 public:
  // Takes a connected (accepted) handle allocated with `new`, freed by its close callback, and
  // the engine for this connection (server or client side).
  TlsTransport(uv_tcp_t* tcp, std::unique_ptr<tls::Engine> engine);
  ~TlsTransport() override;  // close()
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  void set_sink(TransportSink* sink) noexcept override { sink_ = sink; }
  int start_reading() override;
  void stop_reading() override;
  int write(std::span<const std::span<const std::byte>> pieces, WriteDone done) override;
  int shutdown(ShutdownDone done) override;
  void close() override;
  const std::string& peer() const noexcept override { return peer_; }
  uv_loop_t* loop() const noexcept override { return loop_; }

  const tls::Engine& engine() const noexcept { return *engine_; }
  // Why the stream ended with an error ("TLS handshake failed: certificate verification
  // failed: ..."); "" while it has not.
  const std::string& failure() const noexcept { return failure_; }

 private:
  struct PendingWrite {
    std::vector<std::span<const std::byte>> pieces;
    size_t piece = 0;   // the next piece to encrypt
    size_t offset = 0;  // within it
    WriteDone done;
  };
  struct Aux;  // the delivery timer and what close() hands back asynchronously

  void on_socket_read(ssize_t nread, const uv_buf_t* buf);
  // Advances the handshake and delivers plaintext; false when this transport was closed or
  // freed by a sink call.
  bool process();
  // Sends what the engine produced (handshake messages, alerts); false on a write error.
  bool flush_engine_output(std::vector<WriteDone> dones);
  // Encrypts queued writes while less than the in-flight limit is on the way.
  void pump();
  void after_written(size_t bytes);
  void maybe_shutdown();
  // Ends the stream for the sink with `status` (logging `why` when it is an error).
  void fail(int status, const std::string& why);
  void schedule_delivery();

  uv_tcp_t* tcp_;
  uv_loop_t* loop_;
  Aux* aux_;
  std::unique_ptr<tls::Engine> engine_;
  TransportSink* sink_ = nullptr;
  std::string peer_;
  std::string failure_;
  std::shared_ptr<bool> alive_;  // false once closed; callbacks check it before touching this
  std::deque<PendingWrite> pending_;
  size_t in_flight_ = 0;  // ciphertext bytes handed to uv_write and not yet written
  ShutdownDone shutdown_done_;
  bool shutdown_requested_ = false;
  bool shutdown_started_ = false;
  bool reading_ = false;
  bool socket_reading_ = false;
  bool handshake_done_ = false;
  bool ended_ = false;          // the stream ended (peer EOF, close_notify, an error)
  bool end_delivered_ = false;  // the sink heard on_read_end
  int end_status_ = UV_EOF;
  bool closed_ = false;
};

}  // namespace ferry::net
