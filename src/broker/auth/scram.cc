// The SCRAM server state machine (see scram.h).
#include "broker/auth/scram.h"

#include <vector>

namespace ferry::broker::auth {
namespace {

namespace sc = protocol::scram;

constexpr size_t kServerNonceBytes = 24;
// Bounds on what a client may send: names and nonces of sensible length.
constexpr size_t kMaxTokenBytes = 4096;

// Splits "a=1,b=2" on ','.
std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  for (;;) {
    const size_t comma = s.find(',', pos);
    if (comma == std::string_view::npos) {
      out.push_back(s.substr(pos));
      return out;
    }
    out.push_back(s.substr(pos, comma - pos));
    pos = comma + 1;
  }
}

// A printable nonce without ',' (RFC 5802's "printable").
bool printable(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

class ScramServer final : public SaslServer {
 public:
  ScramServer(Mechanism m, const CredentialCache& creds, std::string fake_key,
              std::optional<std::string> nonce)
      : mech_(m), creds_(creds), fake_key_(std::move(fake_key)), fixed_nonce_(std::move(nonce)) {}
  ~ScramServer() override { sc::wipe(server_key_); }

  Result<Step> on_token(std::string_view token) override {
    if (token.size() > kMaxTokenBytes) return fail("SCRAM message too long");
    switch (state_) {
      case State::start: return on_client_first(token);
      case State::sent_first: return on_client_final(token);
      case State::done: return fail("a token after the exchange completed");
      case State::failed: break;
    }
    return fail("a token after the exchange failed");
  }
  const std::string& user() const noexcept override { return user_; }
  Mechanism mechanism() const noexcept override { return mech_; }

 private:
  enum class State { start, sent_first, done, failed };

  Error fail(std::string why) {
    state_ = State::failed;
    return Error(Errc::invalid_argument, std::move(why));
  }

  // gs2-header client-first-bare: "n,[a=<authzid>],n=<user>,r=<nonce>[,ext...]".
  Result<Step> on_client_first(std::string_view msg) {
    if (msg.size() < 3) return fail("malformed client-first message");
    if (msg[0] == 'p') return fail("channel binding requested; not supported");
    if ((msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',')
      return fail("malformed gs2 header in client-first message");
    const size_t second = msg.find(',', 2);
    if (second == std::string_view::npos) return fail("malformed gs2 header");
    const std::string_view authzid_attr = msg.substr(2, second - 2);
    gs2_header_ = std::string(msg.substr(0, second + 1));
    client_first_bare_ = std::string(msg.substr(second + 1));
    const auto attrs = split(client_first_bare_);
    if (attrs.size() < 2 || !attrs[0].starts_with("n=") || !attrs[1].starts_with("r="))
      return fail("client-first message lacks n= or r=");
    auto name = sc::unescape_username(attrs[0].substr(2));
    if (!name || name->empty()) return fail("bad user name in client-first message");
    user_ = std::move(name).value();
    if (!authzid_attr.empty()) {
      auto authzid = authzid_attr.starts_with("a=") ? sc::unescape_username(authzid_attr.substr(2))
                                                    : Result<std::string>(Error(Errc::corrupt, ""));
      if (!authzid || *authzid != user_) return fail("authorization id differs from the user");
    }
    const std::string_view client_nonce = attrs[1].substr(2);
    if (!printable(client_nonce)) return fail("bad client nonce");
    for (size_t i = 2; i < attrs.size(); ++i) {
      if (attrs[i].starts_with("m=")) return fail("mandatory extension not supported");
      if (attrs[i].starts_with("tokenauth=")) return fail("delegation tokens are not supported");
    }
    const ScramCredential* c = creds_.find(user_, mech_);
    if (c != nullptr) {
      salt_ = c->salt;
      iterations_ = c->iterations;
      stored_key_ = c->stored_key;
      server_key_ = c->server_key;
    } else {
      // Made up but stable per user, so two attempts look alike; no key can match it.
      known_ = false;
      const sc::Hash h = scram_hash(mech_);
      salt_ = sc::hmac(h, fake_key_, "salt:" + user_);
      iterations_ = kDefaultIterations;
      stored_key_ = sc::hmac(h, fake_key_, "stored:" + user_);
      server_key_ = sc::hmac(h, fake_key_, "server:" + user_);
    }
    std::string server_part;
    if (fixed_nonce_) {
      server_part = *fixed_nonce_;
    } else {
      auto raw = sc::random_bytes(kServerNonceBytes);
      if (!raw) return fail("no random bytes: " + raw.error().message());
      server_part = sc::base64_encode(*raw);
    }
    nonce_ = std::string(client_nonce) + server_part;
    server_first_ =
        "r=" + nonce_ + ",s=" + sc::base64_encode(salt_) + ",i=" + std::to_string(iterations_);
    state_ = State::sent_first;
    return Step{server_first_, false};
  }

  // "c=<base64 gs2 header>,r=<nonce>[,ext...],p=<base64 proof>".
  Result<Step> on_client_final(std::string_view msg) {
    const size_t p = msg.rfind(",p=");
    if (p == std::string_view::npos) return fail("client-final message lacks p=");
    const std::string_view without_proof = msg.substr(0, p);
    const auto attrs = split(without_proof);
    if (attrs.size() < 2 || !attrs[0].starts_with("c=") || !attrs[1].starts_with("r="))
      return fail("client-final message lacks c= or r=");
    if (attrs[0].substr(2) != sc::base64_encode(gs2_header_))
      return fail("channel binding differs from the client-first message");
    // librdkafka sends its own nonce again in front of the combined one; like Kafka, accept a
    // nonce that ends with this exchange's (whose server part is fresh, so a replay still fails).
    if (!attrs[1].substr(2).ends_with(nonce_))
      return fail("nonce mismatch (a replayed final message?)");
    auto proof = sc::base64_decode(msg.substr(p + 3));
    if (!proof) return fail("bad proof encoding");
    const sc::Hash h = scram_hash(mech_);
    const std::string auth_message =
        client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
    const std::string signature = sc::hmac(h, stored_key_, auth_message);
    if (signature.empty() || proof->size() != signature.size()) return fail("bad proof length");
    std::string client_key = *proof;
    for (size_t k = 0; k < client_key.size(); ++k)
      client_key[k] = static_cast<char>(client_key[k] ^ signature[k]);
    const bool match = sc::equal_constant_time(sc::hash(h, client_key), stored_key_);
    sc::wipe(client_key);
    if (!known_) return fail("unknown user");
    if (!match) return fail("wrong password (the proof does not match)");
    std::string server_final = "v=" + sc::base64_encode(sc::hmac(h, server_key_, auth_message));
    sc::wipe(server_key_);
    state_ = State::done;
    return Step{std::move(server_final), true};
  }

  Mechanism mech_;
  const CredentialCache& creds_;
  std::string fake_key_;
  std::optional<std::string> fixed_nonce_;
  State state_ = State::start;
  bool known_ = true;
  std::string user_;
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;
  std::string salt_;
  int32_t iterations_ = 0;
  std::string stored_key_;
  std::string server_key_;
};

}  // namespace

std::unique_ptr<SaslServer> make_scram_server(Mechanism m, const CredentialCache& credentials,
                                              std::string fake_key,
                                              std::optional<std::string> nonce) {
  return std::make_unique<ScramServer>(m, credentials, std::move(fake_key), std::move(nonce));
}

}  // namespace ferry::broker::auth
