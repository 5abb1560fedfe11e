// A certificate's subject as Kafka's default principal builder prints it: RFC 2253 form, most
// specific name first, e.g. "CN=sensor7,OU=line2,O=acme" (what javax X500Principal.getName()
// gives, which Kafka uses for the principal of a client certificate: "User:CN=sensor7,...").
#pragma once

#include <mbedtls/x509.h>

#include <string>

namespace ferry::tls {

// Attributes RFC 2253 has keywords for (CN, C, L, ST, O, OU, STREET, DC, UID) are printed by
// keyword; others by dotted OID with the value as '#' and the hex of its DER encoding. RDNs are
// joined by ',', the values of a multi-valued RDN by '+'; the characters , + " \ < > ; and a
// leading '#' or space and a trailing space are escaped with '\'.
std::string rfc2253_name(const mbedtls_x509_name* name);

}  // namespace ferry::tls
