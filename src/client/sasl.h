// Client side of SASL authentication: the mechanisms as small state machines over text messages.
//
//   auto m = make_sasl_client(config);          // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
//   auto first = m->initial();                   // send in the first SaslAuthenticate
//   auto next = m->on_challenge(server_bytes);   // per answer: the next message, or nullopt
//                                                // once the exchange is complete
//
// The mechanism only produces and checks messages; the connection (connection.h) carries them in
// SaslHandshake v1 + SaslAuthenticate requests and reports failures. Errors are values: a
// malformed or untrustworthy server message (a nonce that does not extend ours, fewer than 4096
// iterations, a server signature that does not match, "e=...") ends the exchange with an Error
// whose message never contains the password.
//
// PLAIN (RFC 4616) sends the password as it is: without TLS, only on a trusted network.
// SCRAM (RFC 5802, RFC 7677) never sends it and proves that the server knows it too. The
// password is used as UTF-8 bytes without SASLprep, as Kafka does.
//
// Threading: none of its own; an instance belongs to one connection on the loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ferry::client {

enum class SaslMechanism { plain, scram_sha_256, scram_sha_512 };

// Kafka's names: "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512".
std::string_view sasl_mechanism_name(SaslMechanism m) noexcept;
// Parses a name (case-insensitive); nullopt for mechanisms this client does not speak.
std::optional<SaslMechanism> parse_sasl_mechanism(std::string_view name) noexcept;

struct SaslConfig {
  SaslMechanism mechanism = SaslMechanism::plain;
  std::string username;
  std::string password;  // never logged or put in an error message
};

class SaslClient {
 public:
  virtual ~SaslClient() = default;
  // The client's first message.
  virtual Result<std::string> initial() = 0;
  // Takes the server's answer to the last message: the next message to send, or nullopt when
  // the exchange is complete on the client's side.
  virtual Result<std::optional<std::string>> on_challenge(std::string_view challenge) = 0;
};

// A fresh exchange for `config`; SCRAM draws its nonce from the system's CSPRNG.
std::unique_ptr<SaslClient> make_sasl_client(const SaslConfig& config);

// SCRAM with a given client nonce (printable ASCII without ','): for tests against published
// vectors. make_sasl_client() uses a random one.
std::unique_ptr<SaslClient> make_scram_client(const SaslConfig& config, std::string nonce);

// The SCRAM building blocks, exposed for tests that play the server side.
namespace scram {
// "=2C" for ',' and "=3D" for '=' (RFC 5802 saslname).
std::string escape_username(std::string_view user);
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);
// HMAC and hash with SHA-256 (scram_sha_256) or SHA-512 (scram_sha_512).
std::string hmac(SaslMechanism m, std::string_view key, std::string_view data);
std::string hash(SaslMechanism m, std::string_view data);
// PBKDF2-HMAC (RFC 5802's Hi) with the hash's output length.
Result<std::string> salted_password(SaslMechanism m, std::string_view password,
                                    std::string_view salt, uint32_t iterations);
}  // namespace scram

}  // namespace ferry::client
