// The PLAIN server (see plain.h).
#include "broker/auth/plain.h"

namespace ferry::broker::auth {
namespace {

namespace sc = protocol::scram;

constexpr size_t kMaxTokenBytes = 4096;

class PlainServer final : public SaslServer {
 public:
  PlainServer(const CredentialCache& creds, std::string fake_key)
      : creds_(creds), fake_key_(std::move(fake_key)) {}

  Result<Step> on_token(std::string_view token) override {
    if (used_) return fail("a token after the exchange ended");
    used_ = true;
    if (token.size() > kMaxTokenBytes) return fail("PLAIN message too long");
    const size_t nul1 = token.find('\0');
    const size_t nul2 =
        nul1 == std::string_view::npos ? std::string_view::npos : token.find('\0', nul1 + 1);
    if (nul2 == std::string_view::npos || token.find('\0', nul2 + 1) != std::string_view::npos)
      return fail("malformed PLAIN message");
    const std::string_view authzid = token.substr(0, nul1);
    user_ = std::string(token.substr(nul1 + 1, nul2 - nul1 - 1));
    const std::string_view password = token.substr(nul2 + 1);
    if (user_.empty() || password.empty()) return fail("empty user or password");
    if (!authzid.empty() && authzid != user_) return fail("authorization id differs from the user");
    Mechanism m = Mechanism::scram_sha_256;
    const ScramCredential* c = creds_.find(user_, m);
    if (c == nullptr) {
      m = Mechanism::scram_sha_512;
      c = creds_.find(user_, m);
    }
    ScramCredential fake;
    if (c == nullptr) {
      m = Mechanism::scram_sha_256;
      fake.salt = sc::hmac(sc::Hash::sha256, fake_key_, "salt:" + user_);
      fake.iterations = kDefaultIterations;
      fake.stored_key = sc::hmac(sc::Hash::sha256, fake_key_, "stored:" + user_);
    }
    const ScramCredential& use = c != nullptr ? *c : fake;
    auto keys =
        sc::server_keys(scram_hash(m), password, use.salt, static_cast<uint32_t>(use.iterations));
    if (!keys) return fail("hashing failed: " + keys.error().message());
    const bool match = sc::equal_constant_time(keys->stored_key, use.stored_key);
    sc::wipe(keys->server_key);
    if (c == nullptr) return fail("unknown user");
    if (!match) return fail("wrong password");
    return Step{{}, true};
  }
  const std::string& user() const noexcept override { return user_; }
  Mechanism mechanism() const noexcept override { return Mechanism::plain; }

 private:
  Error fail(std::string why) { return Error(Errc::invalid_argument, std::move(why)); }

  const CredentialCache& creds_;
  std::string fake_key_;
  bool used_ = false;
  std::string user_;
};

}  // namespace

std::unique_ptr<SaslServer> make_plain_server(const CredentialCache& credentials,
                                              std::string fake_key) {
  return std::make_unique<PlainServer>(credentials, std::move(fake_key));
}

}  // namespace ferry::broker::auth
