// RAII owners for the mbedTLS objects ferry uses, and mbedTLS error codes as text.
//
// Each owner calls the object's _init on construction and its _free on destruction; none is
// copyable or movable (mbedTLS objects point into each other, e.g. an ssl context at its
// config), so they live inside heap-allocated holders (Context, Engine) whose address is fixed.
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <string>

namespace ferry::tls {

template <typename T, void (*Init)(T*), void (*Free)(T*)>
class Owned {
 public:
  Owned() { Init(&value_); }
  ~Owned() { Free(&value_); }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;

  T* get() noexcept { return &value_; }
  const T* get() const noexcept { return &value_; }

 private:
  T value_;
};

using X509Crt = Owned<mbedtls_x509_crt, mbedtls_x509_crt_init, mbedtls_x509_crt_free>;
using PkContext = Owned<mbedtls_pk_context, mbedtls_pk_init, mbedtls_pk_free>;
using SslConfig = Owned<mbedtls_ssl_config, mbedtls_ssl_config_init, mbedtls_ssl_config_free>;
using SslContext = Owned<mbedtls_ssl_context, mbedtls_ssl_init, mbedtls_ssl_free>;
using Entropy = Owned<mbedtls_entropy_context, mbedtls_entropy_init, mbedtls_entropy_free>;
using CtrDrbg = Owned<mbedtls_ctr_drbg_context, mbedtls_ctr_drbg_init, mbedtls_ctr_drbg_free>;

// "SSL - The connection indicated an EOF (-0x7280)"-style text of an mbedTLS error code.
std::string error_text(int code);

// The reasons in a certificate verification result (mbedtls_x509_crt_verify_info), joined by
// "; " on one line, e.g. "The certificate validity has expired".
std::string verify_text(uint32_t flags);

}  // namespace ferry::tls
