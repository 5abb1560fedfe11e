// Server and client TLS contexts loaded from PEM files. See context.h.
#include "tls/context.h"

#include <sys/stat.h>

#include <array>
#include <cstdio>

#include "tls/dn.h"

namespace ferry::tls {
namespace {

constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

Error tls_error(const std::string& what, int code) {
  return Error(Errc::invalid_argument, what + ": " + error_text(code));
}

bool readable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status load_certs(mbedtls_x509_crt* crt, const std::string& path, const char* what) {
  if (!readable(path))
    return Error(Errc::not_found, std::string(what) + " '" + path + "' not found");
  const int rc = mbedtls_x509_crt_parse_file(crt, path.c_str());
  // A positive result counts certificates that failed to parse next to ones that did.
  if (rc < 0) return tls_error(std::string("cannot read ") + what + " '" + path + "'", rc);
  if (rc > 0) {
    return Error(Errc::invalid_argument, std::string(what) + " '" + path + "': " +
                                             std::to_string(rc) + " certificate(s) do not parse");
  }
  return ok_status();
}

Status load_key(mbedtls_pk_context* pk, const std::string& path, const std::string& password) {
  if (!readable(path)) return Error(Errc::not_found, "private key '" + path + "' not found");
  const int rc =
      mbedtls_pk_parse_keyfile(pk, path.c_str(), password.empty() ? nullptr : password.c_str());
  if (rc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED) {
    return Error(Errc::invalid_argument,
                 "private key '" + path + "' is encrypted: set ssl.key.password");
  }
  if (rc == MBEDTLS_ERR_PK_PASSWORD_MISMATCH) {
    return Error(Errc::invalid_argument, "private key '" + path + "': wrong ssl.key.password");
  }
  if (rc != 0) return tls_error("cannot read private key '" + path + "'", rc);
  return ok_status();
}

std::string describe(const mbedtls_x509_crt& crt) {
  std::array<char, 32> expiry{};
  std::snprintf(expiry.data(), expiry.size(), "%04d-%02d-%02d", crt.valid_to.year, crt.valid_to.mon,
                crt.valid_to.day);
  return rfc2253_name(&crt.subject) + " (expires " + expiry.data() + ")";
}

// The protocol floor and the cipher suites: mbedTLS's defaults (its preset already prefers
// ECDHE-ECDSA/RSA with AES-GCM, ChaCha20-Poly1305 and AES-CCM), TLS 1.2 at least.
void common_settings(mbedtls_ssl_config* conf) {
  mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
}

}  // namespace

std::string_view client_auth_name(ClientAuth a) noexcept {
  switch (a) {
    case ClientAuth::none: return "none";
    case ClientAuth::requested: return "requested";
    case ClientAuth::required: return "required";
  }
  return "none";
}

Result<ClientAuth> parse_client_auth(std::string_view s) {
  if (s == "none") return ClientAuth::none;
  if (s == "requested") return ClientAuth::requested;
  if (s == "required") return ClientAuth::required;
  return Error(Errc::invalid_argument,
               "'" + std::string(s) + "' is not one of none, requested, required");
}

Context::~Context() = default;

Status Context::init_rng() {
  static constexpr char kPersonalisation[] = "ferry-tls";
  const int rc = mbedtls_ctr_drbg_seed(drbg_.get(), mbedtls_entropy_func, entropy_.get(),
                                       reinterpret_cast<const unsigned char*>(kPersonalisation),
                                       sizeof kPersonalisation - 1);
  if (rc != 0) return tls_error("cannot seed the random generator", rc);
  mbedtls_ssl_conf_rng(conf_.get(), mbedtls_ctr_drbg_random, drbg_.get());
  return ok_status();
}

Result<std::shared_ptr<const Context>> Context::server(const ServerOptions& options) {
  std::shared_ptr<Context> ctx(new Context());
  ctx->server_ = true;
  ctx->client_auth_ = options.client_auth;
  if (options.certificate_file.empty()) {
    return Error(Errc::invalid_argument, "a TLS listener needs ssl.certificate.location");
  }
  if (options.key_file.empty()) {
    return Error(Errc::invalid_argument, "a TLS listener needs ssl.key.location");
  }
  FERRY_TRY(load_certs(ctx->own_cert_.get(), options.certificate_file, "certificate"));
  FERRY_TRY(load_key(ctx->own_key_.get(), options.key_file, options.key_password));
  if (options.client_auth != ClientAuth::none) {
    if (options.ca_file.empty()) {
      return Error(Errc::invalid_argument,
                   "ssl.client.auth=" + std::string(client_auth_name(options.client_auth)) +
                       " needs ssl.ca.location (the CA that signs client certificates)");
    }
    FERRY_TRY(load_certs(ctx->ca_.get(), options.ca_file, "CA file"));
  }
  mbedtls_ssl_config* conf = ctx->conf_.get();
  int rc = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                       MBEDTLS_SSL_PRESET_DEFAULT);
  if (rc != 0) return tls_error("cannot set up the TLS configuration", rc);
  common_settings(conf);
  FERRY_TRY(ctx->init_rng());
  rc = mbedtls_ssl_conf_own_cert(conf, ctx->own_cert_.get(), ctx->own_key_.get());
  if (rc != 0) return tls_error("certificate and key", rc);
  // mbedTLS checks at handshake time that the key matches; refuse a mismatch at load time.
  rc = mbedtls_pk_check_pair(&ctx->own_cert_.get()->pk, ctx->own_key_.get());
  if (rc != 0) {
    return Error(Errc::invalid_argument, "private key '" + options.key_file +
                                             "' does not match certificate '" +
                                             options.certificate_file + "'");
  }
  switch (options.client_auth) {
    case ClientAuth::none: mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE); break;
    case ClientAuth::requested:
      // The engine refuses a certificate that was sent but does not verify.
      mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
      mbedtls_ssl_conf_ca_chain(conf, ctx->ca_.get(), nullptr);
      break;
    case ClientAuth::required:
      mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
      mbedtls_ssl_conf_ca_chain(conf, ctx->ca_.get(), nullptr);
      break;
  }
  ctx->summary_ = describe(*ctx->own_cert_.get());
  return std::shared_ptr<const Context>(std::move(ctx));
}

Result<std::shared_ptr<const Context>> Context::client(const ClientOptions& options) {
  std::shared_ptr<Context> ctx(new Context());
  ctx->verify_hostname_ = options.verify_hostname;
  std::string ca = options.ca_file;
  if (ca.empty()) {
    if (!readable(kSystemCaBundle)) {
      return Error(Errc::invalid_argument,
                   std::string("ssl.ca.location is not set and there is no system CA bundle (") +
                       kSystemCaBundle + ")");
    }
    ca = kSystemCaBundle;
  }
  FERRY_TRY(load_certs(ctx->ca_.get(), ca, "CA file"));
  const bool has_cert = !options.certificate_file.empty();
  if (has_cert != !options.key_file.empty()) {
    return Error(Errc::invalid_argument,
                 "a client certificate needs both ssl.certificate.location and ssl.key.location");
  }
  mbedtls_ssl_config* conf = ctx->conf_.get();
  int rc = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                       MBEDTLS_SSL_PRESET_DEFAULT);
  if (rc != 0) return tls_error("cannot set up the TLS configuration", rc);
  common_settings(conf);
  FERRY_TRY(ctx->init_rng());
  mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_ca_chain(conf, ctx->ca_.get(), nullptr);
  if (!options.verify_hostname) {
    // The chain is still verified; only the host name comparison is dropped.
    mbedtls_ssl_conf_verify(
        conf,
        [](void*, mbedtls_x509_crt*, int depth, uint32_t* flags) {
          if (depth == 0) *flags &= ~static_cast<uint32_t>(MBEDTLS_X509_BADCERT_CN_MISMATCH);
          return 0;
        },
        nullptr);
  }
  if (has_cert) {
    FERRY_TRY(load_certs(ctx->own_cert_.get(), options.certificate_file, "certificate"));
    FERRY_TRY(load_key(ctx->own_key_.get(), options.key_file, options.key_password));
    rc = mbedtls_pk_check_pair(&ctx->own_cert_.get()->pk, ctx->own_key_.get());
    if (rc != 0) {
      return Error(Errc::invalid_argument, "private key '" + options.key_file +
                                               "' does not match certificate '" +
                                               options.certificate_file + "'");
    }
    rc = mbedtls_ssl_conf_own_cert(conf, ctx->own_cert_.get(), ctx->own_key_.get());
    if (rc != 0) return tls_error("client certificate and key", rc);
    ctx->summary_ = describe(*ctx->own_cert_.get());
  }
  return std::shared_ptr<const Context>(std::move(ctx));
}

Result<std::shared_ptr<ReloadableServerContext>> ReloadableServerContext::create(
    ServerOptions options) {
  auto ctx = Context::server(options);
  if (!ctx) return std::move(ctx).error();
  return std::shared_ptr<ReloadableServerContext>(
      new ReloadableServerContext(std::move(options), std::move(*ctx)));
}

Status ReloadableServerContext::reload() {
  auto ctx = Context::server(options_);
  if (!ctx) return std::move(ctx).error();
  current_ = std::move(*ctx);
  return ok_status();
}

}  // namespace ferry::tls
