// The broker's SASL service: which mechanisms are enabled (sasl.enabled.mechanisms), the
// credentials in memory, the per-address failure limit, and new exchanges for connections.
// The SaslHandshake/SaslAuthenticate handlers (handlers/sasl.cc) drive it.
//
// Threading: the broker's loop thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/auth/credentials.h"
#include "broker/auth/failure_limiter.h"
#include "broker/auth/mechanism.h"
#include "common/result.h"

namespace ferry::broker::auth {

struct AuthenticatorOptions {
  std::vector<Mechanism> enabled = {Mechanism::scram_sha_256, Mechanism::scram_sha_512};
  uint32_t max_failures_per_address = 5;
  uint64_t failure_window_ms = 60000;
};

// Parses sasl.enabled.mechanisms ("SCRAM-SHA-256,SCRAM-SHA-512", items trimmed).
Result<std::vector<Mechanism>> parse_mechanism_list(std::string_view text);

class Authenticator {
 public:
  explicit Authenticator(AuthenticatorOptions options);

  bool enabled(Mechanism m) const noexcept;
  // Kafka's names of the enabled mechanisms, in configured order.
  std::vector<std::string> enabled_names() const;
  // A fresh exchange for an enabled mechanism.
  std::unique_ptr<SaslServer> start(Mechanism m) const;

  CredentialCache& credentials() noexcept { return credentials_; }
  const CredentialCache& credentials() const noexcept { return credentials_; }
  FailureLimiter& failures() noexcept { return failures_; }

 private:
  AuthenticatorOptions options_;
  CredentialCache credentials_;
  FailureLimiter failures_;
  std::string fake_key_;  // random per process: seeds made-up credentials of unknown users
};

}  // namespace ferry::broker::auth
