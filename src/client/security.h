// The client's security settings under librdkafka's property names (security.protocol,
// ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password,
// ssl.endpoint.identification.algorithm), turned into ConnectionOptions: the TLS context for SSL
// and SASL_SSL, and a check that SASL is configured exactly for the SASL_* protocols. Used by
// the command line and by whatever reads client properties from a file (the mirror).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "client/connection.h"
#include "client/sasl.h"
#include "common/result.h"

namespace ferry::client {

struct SecurityProperties {
  std::string protocol = "PLAINTEXT";  // PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
  std::string ca_location;             // "" : the system CA bundle
  std::string certificate_location;    // client certificate for mTLS (with key_location)
  std::string key_location;
  std::string key_password;
  std::string endpoint_identification = "https";  // https (check the host name) | none
};

// Sets the property named `key` (librdkafka's name; the protocol's value in any letter case):
// true when `key` is a security property, false when it is not one; an error for a bad value.
Result<bool> set_security_property(SecurityProperties& p, std::string_view key,
                                   std::string_view value);

// Applies `p` to `options`: loads the TLS context for SSL/SASL_SSL (an error names the file
// that does not load) and checks that `sasl` is set exactly when the protocol is SASL_*. Any
// ssl.* property with a PLAINTEXT or SASL_PLAINTEXT protocol is an error too (it would be
// silently ignored otherwise).
Status apply_security(const SecurityProperties& p, std::optional<SaslConfig> sasl,
                      ConnectionOptions& options);

}  // namespace ferry::client
