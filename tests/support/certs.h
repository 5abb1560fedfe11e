// Test certificates made with the openssl command line (tests/support/make_certs.sh) once per
// test process, for the TLS, SASL and ACL tests: a CA, a server certificate for
// localhost/127.0.0.1, a client certificate, expired ones, one for the wrong host and one from
// an untrusted CA. See make_certs.sh for the names and subjects.
#pragma once

#include <string>

namespace ferry::test {

// The directory holding the certificates (made on first use; removed at exit). Fails the
// calling test (and returns "") when openssl is missing or the script fails.
const std::string& test_certs_dir();

// test_certs_dir() + "/" + name, e.g. cert("server.pem").
std::string cert(const std::string& name);

// Runs make_certs.sh into `dir` with KEY_TYPE=`key_type` ("ec" or "rsa"); true on success.
bool make_certs(const std::string& dir, const std::string& key_type = "ec");

// The certificate's client principal name as the broker prints it.
inline constexpr const char* kClientSubject = "CN=sensor7,OU=line2,O=acme";

}  // namespace ferry::test
