// One TLS connection's state machine with no I/O of its own: the caller feeds it the
// ciphertext it read, takes the plaintext out, hands it plaintext to encrypt and takes the
// ciphertext to send. mbedTLS's BIO callbacks read from and write to the engine's two buffers,
// so nothing blocks and the engine can live on an event loop (net::TlsTransport, the client).
//
// Use: feed() what arrived, then handshake() until it reports done; then read() until it
// reports 0 (more input needed), write() what is to be sent; after each call send what
// take_output() returns (handshake messages, records, alerts, close_notify).
//
// Memory: mbedTLS allocates its record buffers at creation, about 16.6 KiB each way (its
// MBEDTLS_SSL_IN/OUT_CONTENT_LEN of 16384 plus record overhead), and frees the handshake state
// once the handshake is done. The engine's own buffers hold only unconsumed ciphertext.
//
// Threading: one thread (the engine and its Context's random generator are not locked).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "tls/context.h"

namespace ferry::tls {

class Engine {
 public:
  // A server engine, for one accepted connection.
  static Result<std::unique_ptr<Engine>> server(std::shared_ptr<const Context> ctx);
  // A client engine connecting to `host` (a DNS name or IP address literal): sends it as SNI
  // when it is a name, and checks the server's certificate names it when the context verifies
  // host names.
  static Result<std::unique_ptr<Engine>> client(std::shared_ptr<const Context> ctx,
                                                const std::string& host);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Appends ciphertext read from the peer.
  void feed(std::span<const std::byte> ciphertext);
  // Unconsumed ciphertext held by the engine, and whether decrypted bytes wait to be read().
  size_t input_pending() const noexcept { return in_.size() - in_pos_; }
  bool plaintext_pending() const;

  // Drives the handshake: true once it is complete (also on later calls), false while it needs
  // more input; an error (with the reason, e.g. the certificate verification failure) when it
  // failed, after which the engine is unusable (take_output() may still hold an alert).
  Result<bool> handshake();
  bool handshake_done() const noexcept { return done_; }

  // Decrypts into `out`: the number of bytes (> 0), or 0 when more input is needed. Errc::closed
  // when the peer sent close_notify; another error when a record is bad.
  Result<size_t> read(std::span<std::byte> out);
  // Encrypts all of `plaintext` into records (at most 16 KiB each) appended to the output.
  Status write(std::span<const std::byte> plaintext);
  // Appends close_notify to the output.
  void close_notify();

  // Ciphertext to send, in order; the engine keeps none of it.
  std::vector<std::byte> take_output();
  size_t output_pending() const noexcept { return out_.size(); }

  // After the handshake: the verified peer certificate's subject in RFC 2253 form (dn.h), or ""
  // when the peer sent no certificate.
  const std::string& peer_subject() const noexcept { return peer_subject_; }
  // "TLSv1.2 TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256" once the handshake is done.
  std::string description() const;

 private:
  explicit Engine(std::shared_ptr<const Context> ctx) : ctx_(std::move(ctx)) {}
  Status setup();
  Status finish_handshake();
  static int bio_send(void* self, const unsigned char* buf, size_t len);
  static int bio_recv(void* self, unsigned char* buf, size_t len);

  std::shared_ptr<const Context> ctx_;  // kept for the engine's lifetime (its config)
  SslContext ssl_;
  std::vector<std::byte> in_;
  size_t in_pos_ = 0;
  std::vector<std::byte> out_;
  std::string peer_subject_;
  std::vector<unsigned char> expected_ip_;  // a client's IP-literal host, to verify by hand
  std::string expected_host_;
  bool done_ = false;
  bool failed_ = false;
  bool saw_first_byte_ = false;
  bool first_byte_is_handshake_ = true;
};

}  // namespace ferry::tls
