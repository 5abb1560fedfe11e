// TLS contexts: the certificate, key and trust settings of one side of ferry's TLS, loaded from
// PEM files into an immutable mbedTLS configuration that engines (engine.h) share.
//
// A Context is built once and never changed; each Engine holds a shared_ptr to the Context it
// started with, so replacing a listener's context (ReloadableServerContext, on SIGHUP) affects
// only handshakes that start afterwards while existing connections keep theirs.
//
// mbedTLS 2.28 (Debian 12) offers TLS 1.2 only here (its TLS 1.3 is an experimental build
// option Debian leaves off), so both sides use TLS 1.2 with mbedTLS's default cipher suite list
// (ECDHE with AES-GCM and ChaCha20-Poly1305 first); older protocol versions are refused.
//
// Threading: a Context's random generator is not locked; use a Context (and its engines) on one
// thread, the loop that owns the connections. Loading reads files and blocks briefly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "tls/mbed.h"

namespace ferry::tls {

// ssl.client.auth: whether a TLS listener asks clients for a certificate.
enum class ClientAuth : uint8_t {
  none,       // no certificate requested
  requested,  // requested; a client may send none (and stays anonymous) but one it sends must
              // verify
  required,   // a client without a certificate that verifies against the CA is refused
};

// "none" | "requested" | "required".
std::string_view client_auth_name(ClientAuth a) noexcept;
Result<ClientAuth> parse_client_auth(std::string_view s);

struct ServerOptions {
  std::string certificate_file;  // PEM: the server certificate, then any intermediates
  std::string key_file;          // PEM private key (RSA or EC), possibly encrypted
  std::string key_password;      // for an encrypted key; "" when the key is not encrypted
  std::string ca_file;           // PEM CAs trusted for client certificates; needed unless none
  ClientAuth client_auth = ClientAuth::none;
};

struct ClientOptions {
  // PEM CAs trusted for the server's certificate; "" means the system's bundle
  // (/etc/ssl/certs/ca-certificates.crt).
  std::string ca_file;
  std::string certificate_file;  // optional client certificate (mTLS), with key_file
  std::string key_file;
  std::string key_password;
  // Check that the server's certificate names the host connected to (a DNS name in its
  // subjectAltName or CN, or an IP address in its subjectAltName). librdkafka's
  // ssl.endpoint.identification.algorithm=https, on by default there too.
  bool verify_hostname = true;
};

class Context {
 public:
  static Result<std::shared_ptr<const Context>> server(const ServerOptions& options);
  static Result<std::shared_ptr<const Context>> client(const ClientOptions& options);

  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  bool is_server() const noexcept { return server_; }
  bool verify_hostname() const noexcept { return verify_hostname_; }
  ClientAuth client_auth() const noexcept { return client_auth_; }
  const mbedtls_ssl_config* config() const noexcept { return conf_.get(); }
  // "CN=broker1 (expires 2027-12-05)" of the own certificate; "" when there is none.
  const std::string& summary() const noexcept { return summary_; }

 private:
  Context() = default;
  Status init_rng();

  bool server_ = false;
  bool verify_hostname_ = true;
  ClientAuth client_auth_ = ClientAuth::none;
  std::string summary_;
  // Order matters: the config points at everything above it.
  Entropy entropy_;
  CtrDrbg drbg_;
  X509Crt own_cert_;
  PkContext own_key_;
  X509Crt ca_;
  SslConfig conf_;
};

// A listener's current server Context, replaceable at run time. reload() reads the files again;
// when that fails the current Context stays and the error says why.
//
// Threading: the loop thread that owns the listener.
class ReloadableServerContext {
 public:
  static Result<std::shared_ptr<ReloadableServerContext>> create(ServerOptions options);

  std::shared_ptr<const Context> current() const { return current_; }
  const ServerOptions& options() const noexcept { return options_; }
  Status reload();

 private:
  ReloadableServerContext(ServerOptions options, std::shared_ptr<const Context> ctx)
      : options_(std::move(options)), current_(std::move(ctx)) {}

  ServerOptions options_;
  std::shared_ptr<const Context> current_;
};

}  // namespace ferry::tls
