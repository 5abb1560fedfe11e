// SaslHandshake (key 17) and SaslAuthenticate (key 36): SASL authentication inside Kafka
// framing. SaslHandshake is never flexible; SaslAuthenticate is from v2 on (compact strings and
// bytes, tag buffers), with the same fields as v1.
//
// SaslHandshake: the client names a mechanism; the broker answers with an error code and the
// mechanisms it has enabled (UNSUPPORTED_SASL_MECHANISM when the named one is not among them).
// v0 means the tokens that follow travel as raw length-prefixed frames; v1 means they travel in
// SaslAuthenticate requests.
// SaslAuthenticate: one round of the mechanism; the broker's challenge comes back in
// auth_bytes, a failure as SASL_AUTHENTICATION_FAILED with a message. v1 adds how long the
// authenticated session lasts (0: no limit).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/schema.h"

namespace ferry::protocol {

struct SaslHandshakeRequest {
  std::string mechanism;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.mechanism, all);
  }
  bool operator==(const SaslHandshakeRequest&) const = default;
};

struct SaslHandshakeResponse {
  int16_t error_code = 0;
  std::vector<std::string> mechanisms;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.error_code, all);
    v(m.mechanisms, all);
  }
  bool operator==(const SaslHandshakeResponse&) const = default;
};

struct SaslAuthenticateRequest {
  Bytes auth_bytes;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.auth_bytes, all);
  }
  bool operator==(const SaslAuthenticateRequest&) const = default;
};

struct SaslAuthenticateResponse {
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  Bytes auth_bytes;
  int64_t session_lifetime_ms = 0;  // v1+

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.error_code, all);
    v(m.error_message, all);
    v(m.auth_bytes, all);
    v(m.session_lifetime_ms, since(1));
  }
  bool operator==(const SaslAuthenticateResponse&) const = default;
};

}  // namespace ferry::protocol
