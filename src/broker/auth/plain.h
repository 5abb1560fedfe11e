// PLAIN server (RFC 4616): one token "[authzid] NUL authcid NUL passwd", checked against the
// user's stored SCRAM credential (SCRAM-SHA-256 if the user has one, else SCRAM-SHA-512): the
// password is hashed with the stored salt and iterations and the StoredKey compared in constant
// time, so no plaintext password is ever stored. An authzid other than the user is refused
// (as Kafka does). An unknown user costs the same hashing, against a made-up credential.
//
// Threading: one connection's, on the loop thread (the hashing runs there: one PBKDF2 of the
// stored iteration count per attempt).
#pragma once

#include <memory>
#include <string>

#include "broker/auth/credentials.h"
#include "broker/auth/mechanism.h"

namespace ferry::broker::auth {

// `credentials` must outlive the exchange.
std::unique_ptr<SaslServer> make_plain_server(const CredentialCache& credentials,
                                              std::string fake_key);

}  // namespace ferry::broker::auth
