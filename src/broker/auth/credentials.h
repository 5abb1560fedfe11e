// The broker's SCRAM credentials in memory: loaded from meta.db at start, changed after each
// AlterUserScramCredentials commit, looked up by every authentication (no SQLite query per
// authentication). Also makes new credentials from a password (salt from the CSPRNG).
//
// Threading: the broker's loop thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/auth/mechanism.h"
#include "common/result.h"
#include "meta/credential_store.h"

namespace ferry::broker::auth {

// Kafka's bounds for SCRAM iterations (AlterUserScramCredentials refuses others); 4096 is
// also Kafka's default for new credentials.
constexpr int32_t kMinIterations = 4096;
constexpr int32_t kMaxIterations = 16384;
constexpr int32_t kDefaultIterations = 4096;
// Salt length of new credentials, in bytes.
constexpr size_t kSaltBytes = 32;

struct ScramCredential {
  std::string salt;
  int32_t iterations = 0;
  std::string stored_key;
  std::string server_key;
};

// A credential for `password` with a fresh random salt (or `salt` when given, for tests).
// invalid_argument for PLAIN or iterations outside [kMinIterations, kMaxIterations].
Result<meta::ScramCredentialRecord> make_credential(const std::string& user, Mechanism m,
                                                    std::string_view password, int32_t iterations,
                                                    std::optional<std::string> salt = {});

class CredentialCache {
 public:
  void load(const std::vector<meta::ScramCredentialRecord>& rows);
  void put(const meta::ScramCredentialRecord& row);
  // Removes (user, m), or every mechanism of `user` when m is nullopt.
  void erase(const std::string& user, std::optional<Mechanism> m);

  const ScramCredential* find(const std::string& user, Mechanism m) const;
  // Users in name order, each with the mechanisms and iteration counts it has.
  std::map<std::string, std::vector<std::pair<Mechanism, int32_t>>> users() const;
  size_t size() const noexcept { return creds_.size(); }

 private:
  std::map<std::pair<std::string, Mechanism>, ScramCredential> creds_;
};

}  // namespace ferry::broker::auth
