// librdkafka-style security properties to ConnectionOptions. See security.h.
#include "client/security.h"

#include <algorithm>
#include <cctype>

#include "tls/context.h"

namespace ferry::client {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

Result<bool> set_security_property(SecurityProperties& p, std::string_view key,
                                   std::string_view value) {
  if (key == "security.protocol") {
    const std::string v = upper(value);
    if (v != "PLAINTEXT" && v != "SSL" && v != "SASL_PLAINTEXT" && v != "SASL_SSL") {
      return Error(Errc::invalid_argument,
                   "security.protocol '" + std::string(value) +
                       "' is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");
    }
    p.protocol = v;
  } else if (key == "ssl.ca.location") {
    p.ca_location = value;
  } else if (key == "ssl.certificate.location") {
    p.certificate_location = value;
  } else if (key == "ssl.key.location") {
    p.key_location = value;
  } else if (key == "ssl.key.password") {
    p.key_password = value;
  } else if (key == "ssl.endpoint.identification.algorithm") {
    if (value != "https" && value != "none") {
      return Error(Errc::invalid_argument, "ssl.endpoint.identification.algorithm '" +
                                               std::string(value) + "' is not https or none");
    }
    p.endpoint_identification = value;
  } else {
    return false;
  }
  return true;
}

Status apply_security(const SecurityProperties& p, std::optional<SaslConfig> sasl,
                      ConnectionOptions& options) {
  const bool tls = p.protocol == "SSL" || p.protocol == "SASL_SSL";
  const bool wants_sasl = p.protocol == "SASL_PLAINTEXT" || p.protocol == "SASL_SSL";
  if (wants_sasl && !sasl) {
    return Error(Errc::invalid_argument,
                 "security.protocol " + p.protocol + " needs a SASL mechanism and credentials");
  }
  if (!wants_sasl && sasl && p.protocol != "PLAINTEXT") {
    return Error(Errc::invalid_argument,
                 "SASL needs security.protocol SASL_SSL (or "
                 "SASL_PLAINTEXT), not " +
                     p.protocol);
  }
  const bool any_ssl = !p.ca_location.empty() || !p.certificate_location.empty() ||
                       !p.key_location.empty() || !p.key_password.empty();
  if (!tls && any_ssl) {
    return Error(
        Errc::invalid_argument,
        "ssl.* settings need security.protocol SSL or SASL_SSL (it is " + p.protocol + ")");
  }
  options.sasl = std::move(sasl);
  options.tls = nullptr;
  if (!tls) return ok_status();
  tls::ClientOptions o;
  o.ca_file = p.ca_location;
  o.certificate_file = p.certificate_location;
  o.key_file = p.key_location;
  o.key_password = p.key_password;
  o.verify_hostname = p.endpoint_identification != "none";
  auto ctx = tls::Context::client(o);
  if (!ctx) return std::move(ctx).error();
  options.tls = std::move(*ctx);
  return ok_status();
}

}  // namespace ferry::client
