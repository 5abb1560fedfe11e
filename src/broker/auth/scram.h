// SCRAM-SHA-256 and SCRAM-SHA-512 server (RFC 5802, RFC 7677) over the stored StoredKey and
// ServerKey: client-first -> server-first (the client's nonce extended with 24 random bytes,
// the user's salt and iterations); client-final -> server-final ("v=" ServerSignature) once the
// proof's ClientKey hashes to StoredKey (compared in constant time).
//
// What is refused (each a failed step): a channel-binding header ("p=") or an authzid other
// than the user, a mandatory extension ("m="), Kafka's delegation-token extension
// (tokenauth=true: ferry has no delegation tokens), a malformed message, a final message whose
// nonce does not end with this exchange's (a replayed final message; librdkafka repeats its own
// nonce in front, which Kafka accepts too) or whose channel binding differs, a bad proof, any
// token after the exchange ended. An unknown user goes through the same steps with a made-up
// credential and fails only at the proof, so the exchange does not tell whether the user exists.
//
// Threading: one connection's, on the loop thread.
#pragma once

#include <memory>
#include <string>

#include "broker/auth/credentials.h"
#include "broker/auth/mechanism.h"

namespace ferry::broker::auth {

// `credentials` must outlive the exchange. `nonce` replaces the random server nonce part
// (tests against published vectors); `fake_key` seeds made-up credentials of unknown users.
std::unique_ptr<SaslServer> make_scram_server(Mechanism m, const CredentialCache& credentials,
                                              std::string fake_key,
                                              std::optional<std::string> nonce = {});

}  // namespace ferry::broker::auth
