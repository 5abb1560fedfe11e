// The I/O-free TLS engine over mbedTLS's BIO callbacks. See engine.h.
#include "tls/engine.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "tls/dn.h"

namespace ferry::tls {
namespace {

// What a TLS record starts with when it carries a handshake message (a ClientHello first).
constexpr std::byte kHandshakeRecord{0x16};

// mbedTLS 2.28 compares host names only with dNSName entries and the CN; an IP address is
// checked here against the certificate's iPAddress subjectAltName entries (tag [7]).
bool certificate_names_ip(const mbedtls_x509_crt& crt, const std::vector<unsigned char>& ip) {
  constexpr int kIpAddressTag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7;
  for (const mbedtls_x509_sequence* s = &crt.subject_alt_names; s != nullptr; s = s->next) {
    if (s->buf.p == nullptr || s->buf.tag != kIpAddressTag) continue;
    if (s->buf.len == ip.size() && std::memcmp(s->buf.p, ip.data(), ip.size()) == 0) return true;
  }
  return false;
}

std::vector<unsigned char> parse_ip(const std::string& host) {
  std::vector<unsigned char> out(16);
  if (inet_pton(AF_INET, host.c_str(), out.data()) == 1) {
    out.resize(4);
    return out;
  }
  if (inet_pton(AF_INET6, host.c_str(), out.data()) == 1) return out;
  return {};
}

}  // namespace

Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::server(std::shared_ptr<const Context> ctx) {
  if (!ctx || !ctx->is_server()) return Error(Errc::invalid_argument, "not a server context");
  std::unique_ptr<Engine> e(new Engine(std::move(ctx)));
  FERRY_TRY(e->setup());
  return e;
}

Result<std::unique_ptr<Engine>> Engine::client(std::shared_ptr<const Context> ctx,
                                               const std::string& host) {
  if (!ctx || ctx->is_server()) return Error(Errc::invalid_argument, "not a client context");
  std::unique_ptr<Engine> e(new Engine(std::move(ctx)));
  FERRY_TRY(e->setup());
  e->expected_host_ = host;
  e->expected_ip_ = parse_ip(host);
  // SNI carries names only (RFC 6066); an IP literal is verified after the handshake.
  if (e->expected_ip_.empty() && !host.empty()) {
    // Also the name mbedTLS checks the certificate against (unless the context relaxes it).
    const int rc = mbedtls_ssl_set_hostname(e->ssl_.get(), host.c_str());
    if (rc != 0)
      return Error(Errc::invalid_argument, "host name '" + host + "': " + error_text(rc));
  }
  return e;
}

Status Engine::setup() {
  const int rc = mbedtls_ssl_setup(ssl_.get(), ctx_->config());
  if (rc != 0) return Error(Errc::io, "cannot set up a TLS connection: " + error_text(rc));
  mbedtls_ssl_set_bio(ssl_.get(), this, &Engine::bio_send, &Engine::bio_recv, nullptr);
  return ok_status();
}

int Engine::bio_send(void* self, const unsigned char* buf, size_t len) {
  auto* e = static_cast<Engine*>(self);
  const auto* b = reinterpret_cast<const std::byte*>(buf);
  e->out_.insert(e->out_.end(), b, b + len);
  return static_cast<int>(len);
}

int Engine::bio_recv(void* self, unsigned char* buf, size_t len) {
  auto* e = static_cast<Engine*>(self);
  const size_t avail = e->in_.size() - e->in_pos_;
  if (avail == 0) return MBEDTLS_ERR_SSL_WANT_READ;
  const size_t n = std::min({avail, len, static_cast<size_t>(INT32_MAX)});
  std::memcpy(buf, e->in_.data() + e->in_pos_, n);
  e->in_pos_ += n;
  if (e->in_pos_ == e->in_.size()) {
    e->in_.clear();
    e->in_pos_ = 0;
    // Keep an idle connection small: a burst's buffer is not kept.
    if (e->in_.capacity() > 64 * 1024) e->in_.shrink_to_fit();
  }
  return static_cast<int>(n);
}

void Engine::feed(std::span<const std::byte> ciphertext) {
  if (ciphertext.empty()) return;
  if (!saw_first_byte_) {
    saw_first_byte_ = true;
    first_byte_is_handshake_ = ciphertext[0] == kHandshakeRecord;
  }
  in_.insert(in_.end(), ciphertext.begin(), ciphertext.end());
}

bool Engine::plaintext_pending() const {
  return mbedtls_ssl_get_bytes_avail(ssl_.get()) > 0 || input_pending() > 0;
}

Result<bool> Engine::handshake() {
  if (done_) return true;
  if (failed_) return Error(Errc::failed_state, "the TLS handshake failed earlier");
  if (ctx_->is_server() && saw_first_byte_ && !first_byte_is_handshake_) {
    failed_ = true;
    return Error(Errc::corrupt, "not a TLS ClientHello (a plaintext client on a TLS listener?)");
  }
  const int rc = mbedtls_ssl_handshake(ssl_.get());
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) return false;
  if (rc != 0) {
    failed_ = true;
    std::string why = error_text(rc);
    if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
      why = "certificate verification failed: " +
            verify_text(mbedtls_ssl_get_verify_result(ssl_.get()));
    } else if (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
      why = ctx_->is_server() ? "the client sent a fatal alert (did it reject the certificate?)"
                              : "the server sent a fatal alert (did it require a client "
                                "certificate, or reject ours?)";
    } else if (!ctx_->is_server() && saw_first_byte_ && !first_byte_is_handshake_) {
      why += " (the server did not answer with TLS: a plaintext listener?)";
    }
    return Error(rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED ? Errc::invalid_argument : Errc::corrupt,
                 why);
  }
  if (auto st = finish_handshake(); !st) {
    failed_ = true;
    // Tell the peer why rather than just closing.
    mbedtls_ssl_send_alert_message(ssl_.get(), MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                   MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
    return std::move(st).error();
  }
  done_ = true;
  return true;
}

Status Engine::finish_handshake() {
  const mbedtls_x509_crt* peer = mbedtls_ssl_get_peer_cert(ssl_.get());
  const uint32_t flags = mbedtls_ssl_get_verify_result(ssl_.get());
  if (ctx_->is_server()) {
    // ssl.client.auth=requested verifies optionally in mbedTLS: a certificate that was sent
    // must still verify.
    if (peer != nullptr && flags != 0) {
      return Error(Errc::invalid_argument,
                   "client certificate verification failed: " + verify_text(flags));
    }
    if (peer != nullptr && ctx_->client_auth() != ClientAuth::none) {
      peer_subject_ = rfc2253_name(&peer->subject);
    }
    return ok_status();
  }
  if (peer == nullptr) return Error(Errc::invalid_argument, "the server sent no certificate");
  if (!expected_ip_.empty() && ctx_->verify_hostname() &&
      !certificate_names_ip(*peer, expected_ip_)) {
    return Error(Errc::invalid_argument, "certificate verification failed: the certificate of " +
                                             rfc2253_name(&peer->subject) + " does not name " +
                                             expected_host_);
  }
  peer_subject_ = rfc2253_name(&peer->subject);
  return ok_status();
}

Result<size_t> Engine::read(std::span<std::byte> out) {
  if (!done_) return size_t{0};
  if (out.empty()) return size_t{0};
  const size_t want = std::min(out.size(), static_cast<size_t>(INT32_MAX));
  const int rc = mbedtls_ssl_read(ssl_.get(), reinterpret_cast<unsigned char*>(out.data()), want);
  if (rc > 0) return static_cast<size_t>(rc);
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) return size_t{0};
  if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
    return Error(Errc::closed, "the peer closed the TLS connection (close_notify)");
  }
  return Error(Errc::corrupt, error_text(rc));
}

Status Engine::write(std::span<const std::byte> plaintext) {
  if (!done_) return Error(Errc::failed_state, "TLS write before the handshake finished");
  size_t pos = 0;
  while (pos < plaintext.size()) {
    const size_t chunk = std::min(plaintext.size() - pos, static_cast<size_t>(INT32_MAX));
    const int rc = mbedtls_ssl_write(
        ssl_.get(), reinterpret_cast<const unsigned char*>(plaintext.data() + pos), chunk);
    if (rc < 0) return Error(Errc::io, "TLS write: " + error_text(rc));
    pos += static_cast<size_t>(rc);
  }
  return ok_status();
}

void Engine::close_notify() { mbedtls_ssl_close_notify(ssl_.get()); }

std::vector<std::byte> Engine::take_output() {
  std::vector<std::byte> out;
  out.swap(out_);
  return out;
}

std::string Engine::description() const {
  if (!done_) return "handshake not done";
  return std::string(mbedtls_ssl_get_version(ssl_.get())) + " " +
         mbedtls_ssl_get_ciphersuite(ssl_.get());
}

}  // namespace ferry::tls
