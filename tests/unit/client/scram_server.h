// A test-side SCRAM server (RFC 5802) for the client's tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "client/sasl.h"

namespace ferry::client::test {

// A SCRAM server built from the same primitives but along the server's path: it keeps only
// StoredKey and ServerKey, recovers ClientKey from the proof and checks it against StoredKey.
class ScramServer {
 public:
  ScramServer(SaslMechanism m, const std::string& password, std::string salt, uint32_t iterations)
      : m_(m), salt_(std::move(salt)), iterations_(iterations) {
    auto salted = scram::salted_password(m, password, salt_, iterations);
    EXPECT_TRUE(salted.ok());
    stored_key_ = scram::hash(m, scram::hmac(m, *salted, "Client Key"));
    server_key_ = scram::hmac(m, *salted, "Server Key");
  }

  // client-first -> server-first
  std::string first(const std::string& client_first) {
    EXPECT_EQ(client_first.substr(0, 3), "n,,");
    client_first_bare_ = client_first.substr(3);
    const auto r = client_first_bare_.find(",r=");
    EXPECT_NE(r, std::string::npos);
    user_ = client_first_bare_.substr(2, r - 2);
    nonce_ = client_first_bare_.substr(r + 3) + "srvNonce42";
    server_first_ =
        "r=" + nonce_ + ",s=" + scram::base64_encode(salt_) + ",i=" + std::to_string(iterations_);
    return server_first_;
  }

  // client-final -> server-final ("v=..." or "e=invalid-proof")
  std::string final_(const std::string& client_final) {
    const auto p = client_final.find(",p=");
    EXPECT_NE(p, std::string::npos);
    const std::string without_proof = client_final.substr(0, p);
    EXPECT_EQ(without_proof, "c=biws,r=" + nonce_);
    auto proof = scram::base64_decode(client_final.substr(p + 3));
    EXPECT_TRUE(proof.ok());
    const std::string auth = client_first_bare_ + "," + server_first_ + "," + without_proof;
    const std::string sig = scram::hmac(m_, stored_key_, auth);
    std::string client_key = *proof;
    if (client_key.size() != sig.size()) return "e=invalid-proof";
    for (size_t i = 0; i < sig.size(); ++i)
      client_key[i] = static_cast<char>(client_key[i] ^ sig[i]);
    if (scram::hash(m_, client_key) != stored_key_) return "e=invalid-proof";
    return "v=" + scram::base64_encode(scram::hmac(m_, server_key_, auth));
  }

  std::string user_;

 private:
  SaslMechanism m_;
  std::string salt_;
  uint32_t iterations_;
  std::string stored_key_, server_key_;
  std::string client_first_bare_, server_first_, nonce_;
};

}  // namespace ferry::client::test
