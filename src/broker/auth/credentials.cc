// CredentialCache and new credentials (see credentials.h).
#include "broker/auth/credentials.h"

#include "common/log.h"

namespace ferry::broker::auth {

std::string_view mechanism_name(Mechanism m) noexcept {
  switch (m) {
    case Mechanism::plain: return "PLAIN";
    case Mechanism::scram_sha_256: return "SCRAM-SHA-256";
    case Mechanism::scram_sha_512: return "SCRAM-SHA-512";
  }
  return "?";
}

std::optional<Mechanism> parse_mechanism(std::string_view name) noexcept {
  for (Mechanism m : {Mechanism::plain, Mechanism::scram_sha_256, Mechanism::scram_sha_512}) {
    if (mechanism_name(m) == name) return m;
  }
  return std::nullopt;
}

protocol::scram::Hash scram_hash(Mechanism m) noexcept {
  return m == Mechanism::scram_sha_512 ? protocol::scram::Hash::sha512
                                       : protocol::scram::Hash::sha256;
}

Result<meta::ScramCredentialRecord> make_credential(const std::string& user, Mechanism m,
                                                    std::string_view password, int32_t iterations,
                                                    std::optional<std::string> salt) {
  if (m == Mechanism::plain)
    return Error(Errc::invalid_argument, "credentials are stored for SCRAM mechanisms only");
  if (user.empty()) return Error(Errc::invalid_argument, "the user name is empty");
  if (iterations < kMinIterations || iterations > kMaxIterations) {
    return Error(Errc::invalid_argument, "iterations must be between " +
                                             std::to_string(kMinIterations) + " and " +
                                             std::to_string(kMaxIterations));
  }
  if (!salt) {
    auto s = protocol::scram::random_bytes(kSaltBytes);
    if (!s) return std::move(s).error();
    salt = std::move(s).value();
  }
  auto keys = protocol::scram::server_keys(scram_hash(m), password, *salt,
                                           static_cast<uint32_t>(iterations));
  if (!keys) return std::move(keys).error();
  meta::ScramCredentialRecord r;
  r.user = user;
  r.mechanism = std::string(mechanism_name(m));
  r.salt = std::move(*salt);
  r.iterations = iterations;
  r.stored_key = std::move(keys->stored_key);
  r.server_key = std::move(keys->server_key);
  return r;
}

void CredentialCache::load(const std::vector<meta::ScramCredentialRecord>& rows) {
  creds_.clear();
  for (const auto& r : rows) put(r);
}

void CredentialCache::put(const meta::ScramCredentialRecord& row) {
  const auto m = parse_mechanism(row.mechanism);
  if (!m || *m == Mechanism::plain) {
    FERRY_LOG(warn, "auth", "ignoring a stored credential of user %s with unknown mechanism %s",
              log::escape(row.user).c_str(), log::escape(row.mechanism).c_str());
    return;
  }
  creds_[{row.user, *m}] =
      ScramCredential{row.salt, row.iterations, row.stored_key, row.server_key};
}

void CredentialCache::erase(const std::string& user, std::optional<Mechanism> m) {
  if (m) {
    creds_.erase({user, *m});
    return;
  }
  for (auto it = creds_.lower_bound({user, Mechanism::plain});
       it != creds_.end() && it->first.first == user;) {
    it = creds_.erase(it);
  }
}

const ScramCredential* CredentialCache::find(const std::string& user, Mechanism m) const {
  auto it = creds_.find({user, m});
  return it == creds_.end() ? nullptr : &it->second;
}

std::map<std::string, std::vector<std::pair<Mechanism, int32_t>>> CredentialCache::users() const {
  std::map<std::string, std::vector<std::pair<Mechanism, int32_t>>> out;
  for (const auto& [key, c] : creds_) out[key.first].emplace_back(key.second, c.iterations);
  return out;
}

}  // namespace ferry::broker::auth
