// The byte stream under a Connection: owns the socket and moves bytes in and out. Connection
// (connection.h) does framing, response ordering, the memory budget and the limits on top of
// any Transport; a Transport knows nothing of Kafka.
//
// TcpTransport (below) is a plain uv_tcp_t. TlsTransport (tls_transport.h) wraps the same
// socket and keeps this contract: it handshakes before delivering the first plaintext byte,
// decrypts into the buffers the sink hands out, encrypts what write() is given (possibly buffering
// it), and completes a write only when its ciphertext went to the socket.
//
// Reading. Between start_reading() and stop_reading() the transport delivers bytes to its
// TransportSink in stream order: it asks read_buffer() where to put them (the sink may hand out
// the inside of the request being received, so that large requests are read without a copy),
// fills a prefix of that buffer and calls on_read() with it; the end of the stream or an error
// is on_read_end(). No sink call happens after stop_reading() or close() returns, and
// start_reading() never calls the sink before it returns (bytes a transport holds back, e.g.
// decrypted while reading was stopped, are delivered from a later loop callback).
//
// Writing. write() queues a list of byte ranges to go out in order after everything queued
// before; they are read, not copied, by the plain transport, so their owner keeps them alive
// until `done` runs (Connection keeps the OutFrame, including the spliced record sets a fetch
// response views in place). `done` runs exactly once on the loop thread: status 0 when the
// bytes went to the socket, a libuv error code when they did not, UV_ECANCELED when the
// transport was closed first. It never runs inside write().
//
// shutdown() ends the outgoing stream once queued writes are out (TCP FIN; TLS also sends
// close_notify first); close() ends the connection now, cancelling queued writes. After
// close() the Transport may be destroyed at once; handles it owns are freed by the loop later.
//
// Threading: every call and every callback on the loop thread that owns the socket.
#pragma once

#include <uv.h>

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace ferry::net {

// Where a Transport delivers what it read. Implemented by Connection.
class TransportSink {
 public:
  virtual ~TransportSink() = default;
  // The buffer the next bytes go to; it must stay valid until the on_read() or on_read_end()
  // that follows.
  virtual std::span<std::byte> read_buffer() = 0;
  // `bytes` is a non-empty prefix of the buffer read_buffer() returned last.
  virtual void on_read(std::span<const std::byte> bytes) = 0;
  // The stream ended: UV_EOF when the peer closed it, else a libuv error code. Nothing is
  // delivered after this.
  virtual void on_read_end(int status) = 0;
  // A TLS handshake verified the peer's certificate: its subject in RFC 2253 form
  // ("CN=sensor7,OU=line2,O=acme"). Called at most once, before the first on_read().
  virtual void on_peer_certificate(std::string_view subject) { (void)subject; }
};

class Transport {
 public:
  using WriteDone = std::function<void(int status)>;
  using ShutdownDone = std::function<void(int status)>;

  virtual ~Transport() = default;

  // The sink receives everything read from now on; set once, before start_reading().
  virtual void set_sink(TransportSink* sink) noexcept = 0;
  // Start or resume delivering to the sink; 0 or a libuv error code (the connection is then
  // unusable). Idempotent.
  virtual int start_reading() = 0;
  // No sink call after this returns, until start_reading(). Idempotent.
  virtual void stop_reading() = 0;
  // Queues `pieces` (empty ranges allowed) to be sent in order. 0 when queued, else a libuv
  // error code and `done` is not called.
  virtual int write(std::span<const std::span<const std::byte>> pieces, WriteDone done) = 0;
  // Ends the outgoing direction once queued writes are sent. 0 when started, and `done` then
  // runs once (like write's); else a libuv error code and `done` is not called.
  virtual int shutdown(ShutdownDone done) = 0;
  // Closes now: queued writes are cancelled, no sink call follows. Idempotent.
  virtual void close() = 0;

  // "host:port" of the peer (IPv6 addresses unbracketed), fixed at accept; "?" if unknown.
  virtual const std::string& peer() const noexcept = 0;
  virtual uv_loop_t* loop() const noexcept = 0;
};

// "host:port" of a connected handle's peer (IPv6 addresses unbracketed); "?" if unknown.
std::string tcp_peer_name(uv_tcp_t* tcp);

// A plain TCP connection: today's only transport (PLAINTEXT listeners). Reads go straight into
// the sink's buffers and writes hand the caller's ranges to writev, so the plaintext path copies
// nothing a bare uv_tcp_t would not.
class TcpTransport final : public Transport {
 public:
  // Takes an accepted, initialised handle allocated with `new`; its close callback frees it.
  // Turns Nagle's algorithm off (responses are whole frames, written at once).
  explicit TcpTransport(uv_tcp_t* tcp);
  ~TcpTransport() override;  // close()
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  void set_sink(TransportSink* sink) noexcept override { sink_ = sink; }
  int start_reading() override;
  void stop_reading() override;
  int write(std::span<const std::span<const std::byte>> pieces, WriteDone done) override;
  int shutdown(ShutdownDone done) override;
  void close() override;
  const std::string& peer() const noexcept override { return peer_; }
  uv_loop_t* loop() const noexcept override { return loop_; }

 private:
  uv_tcp_t* tcp_;  // owned until close(); freed by its close callback
  uv_loop_t* loop_;
  TransportSink* sink_ = nullptr;
  std::string peer_;
  bool reading_ = false;
  bool closed_ = false;
};

}  // namespace ferry::net
