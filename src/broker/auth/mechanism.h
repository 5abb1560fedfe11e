// The server side of one SASL exchange, as a small state machine over the client's tokens, and
// the names of the mechanisms the broker offers.
//
//   auto m = authenticator.start(Mechanism::scram_sha_256);   // authenticator.h
//   auto step = m->on_token(client_bytes);   // per client token: the challenge to send back
//   if (!step) ... fail (step.error().message() is for the log, never for the client)
//   if (step->done) ... authenticated as m->user()
//
// A failed step ends the exchange: every later token fails too. Error messages name what was
// wrong for the broker's log (malformed message, nonce mismatch, bad proof, unknown user) and
// never contain a password or key; the client is only ever told that authentication failed.
//
// Threading: an instance belongs to one connection, on the loop thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "net/session.h"
#include "protocol/scram_crypto.h"

namespace ferry::broker::auth {

enum class Mechanism : uint8_t { plain, scram_sha_256, scram_sha_512 };

// Kafka's names: "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512".
std::string_view mechanism_name(Mechanism m) noexcept;
// Exact (upper-case) names, as Kafka compares them.
std::optional<Mechanism> parse_mechanism(std::string_view name) noexcept;
// The SCRAM hash of a SCRAM mechanism (sha256 for PLAIN, which has none).
protocol::scram::Hash scram_hash(Mechanism m) noexcept;

struct Step {
  std::string challenge;  // bytes for the client (may be empty)
  bool done = false;      // authenticated; user() names who
};

// Held in the connection's Session (net::AuthExchange) between tokens.
class SaslServer : public net::AuthExchange {
 public:
  virtual Result<Step> on_token(std::string_view token) = 0;
  // The authenticated user once a step returned done; before that the name claimed so far.
  virtual const std::string& user() const noexcept = 0;
  virtual Mechanism mechanism() const noexcept = 0;
};

}  // namespace ferry::broker::auth
