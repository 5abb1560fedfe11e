// SASL mechanisms of the client: PLAIN and SCRAM-SHA-256/512 on mbedTLS primitives.
#include "client/sasl.h"

#include <cstddef>

#include "protocol/scram_crypto.h"

namespace ferry::client {

namespace {

// RFC 5802 §5.1: servers must be held to at least 4096 iterations (Kafka's minimum too); the
// ceiling keeps a hostile server from stalling the loop thread in PBKDF2.
constexpr uint32_t kMinIterations = 4096;
constexpr uint32_t kMaxIterations = 1'000'000;
constexpr size_t kNonceBytes = 24;

void wipe(std::string& s) { protocol::scram::wipe(s); }

protocol::scram::Hash hash_of(SaslMechanism m) {
  return m == SaslMechanism::scram_sha_512 ? protocol::scram::Hash::sha512
                                           : protocol::scram::Hash::sha256;
}

Result<std::string> random_nonce() {
  auto raw = protocol::scram::random_bytes(kNonceBytes);
  if (!raw) return std::move(raw).error();
  // Base64 of random bytes: printable and free of ','.
  return scram::base64_encode(*raw);
}

class PlainClient final : public SaslClient {
 public:
  explicit PlainClient(const SaslConfig& c) : user_(c.username), password_(c.password) {}
  ~PlainClient() override { wipe(password_); }

  // Empty authzid, NUL, authcid, NUL, password.
  Result<std::string> initial() override {
    std::string msg;
    msg.reserve(user_.size() + password_.size() + 2);
    msg.push_back('\0');
    msg += user_;
    msg.push_back('\0');
    msg += password_;
    return msg;
  }
  // The broker's verdict is its error code: a success ends the exchange.
  Result<std::optional<std::string>> on_challenge(std::string_view) override {
    return std::optional<std::string>();
  }

 private:
  std::string user_;
  std::string password_;
};

// RFC 5802 client: initial() -> client-first; on_challenge(server-first) -> client-final;
// on_challenge(server-final) -> complete once the server's signature checks out.
class ScramClient final : public SaslClient {
 public:
  ScramClient(const SaslConfig& c, std::optional<std::string> nonce)
      : mech_(c.mechanism), user_(c.username), password_(c.password), nonce_(std::move(nonce)) {}
  ~ScramClient() override {
    wipe(password_);
    wipe(server_key_);
  }

  Result<std::string> initial() override {
    if (state_ != State::start) return fail("SCRAM: exchange already started");
    if (!nonce_) {
      auto n = random_nonce();
      if (!n) return n.error();
      nonce_ = std::move(n).value();
    }
    client_first_bare_ = "n=" + scram::escape_username(user_) + ",r=" + *nonce_;
    state_ = State::sent_first;
    return "n,," + client_first_bare_;
  }

  Result<std::optional<std::string>> on_challenge(std::string_view challenge) override {
    switch (state_) {
      case State::sent_first: return on_server_first(challenge);
      case State::sent_final: return on_server_final(challenge);
      case State::start:
      case State::done:
      case State::failed: break;
    }
    return fail("SCRAM: unexpected server message");
  }

 private:
  enum class State { start, sent_first, sent_final, done, failed };

  Error fail(std::string message) {
    state_ = State::failed;
    return Error(Errc::invalid_argument, std::move(message));
  }

  // "r=<nonce>,s=<salt>,i=<iterations>[,ext...]"; a leading "m=" names a mandatory extension
  // this client does not know.
  Result<std::optional<std::string>> on_server_first(std::string_view msg) {
    std::optional<std::string_view> r, s, i;
    size_t pos = 0;
    bool first = true;
    while (pos <= msg.size()) {
      size_t comma = msg.find(',', pos);
      if (comma == std::string_view::npos) comma = msg.size();
      const std::string_view attr = msg.substr(pos, comma - pos);
      pos = comma + 1;
      if (attr.size() < 2 || attr[1] != '=') return fail("SCRAM: malformed server-first message");
      const std::string_view value = attr.substr(2);
      switch (attr[0]) {
        case 'e': return fail("SCRAM: server error: " + std::string(value));
        case 'm':
          if (first) return fail("SCRAM: server requires an unsupported extension");
          break;
        case 'r': r = value; break;
        case 's': s = value; break;
        case 'i': i = value; break;
        default: break;  // extensions: ignored
      }
      first = false;
      if (comma == msg.size()) break;
    }
    if (!r || !s || !i) return fail("SCRAM: server-first message lacks r=, s= or i=");
    if (r->size() <= nonce_->size() || r->substr(0, nonce_->size()) != *nonce_)
      return fail("SCRAM: server nonce does not extend the client nonce");
    if (r->find(',') != std::string_view::npos) return fail("SCRAM: malformed server nonce");
    uint64_t iterations = 0;
    if (i->empty() || i->size() > 10) return fail("SCRAM: bad iteration count");
    for (char ch : *i) {
      if (ch < '0' || ch > '9') return fail("SCRAM: bad iteration count");
      iterations = iterations * 10 + static_cast<uint64_t>(ch - '0');
    }
    if (iterations < kMinIterations) {
      return fail("SCRAM: server asks for " + std::to_string(iterations) +
                  " iterations, fewer than the minimum " + std::to_string(kMinIterations));
    }
    if (iterations > kMaxIterations) {
      return fail("SCRAM: server asks for " + std::to_string(iterations) +
                  " iterations, more than the maximum " + std::to_string(kMaxIterations));
    }
    auto salt = scram::base64_decode(*s);
    if (!salt || salt->empty()) return fail("SCRAM: bad salt");

    auto salted =
        scram::salted_password(mech_, password_, *salt, static_cast<uint32_t>(iterations));
    if (!salted) return fail("SCRAM: " + salted.error().message());
    std::string& sp = salted.value();
    std::string client_key = scram::hmac(mech_, sp, "Client Key");
    server_key_ = scram::hmac(mech_, sp, "Server Key");
    wipe(sp);
    const std::string stored_key = scram::hash(mech_, client_key);
    const std::string without_proof = "c=biws,r=" + std::string(*r);
    auth_message_ = client_first_bare_ + "," + std::string(msg) + "," + without_proof;
    const std::string signature = scram::hmac(mech_, stored_key, auth_message_);
    if (client_key.empty() || server_key_.empty() || signature.size() != client_key.size())
      return fail("SCRAM: hashing failed");
    std::string proof = client_key;
    for (size_t k = 0; k < proof.size(); ++k) proof[k] = static_cast<char>(proof[k] ^ signature[k]);
    wipe(client_key);
    state_ = State::sent_final;
    return std::optional<std::string>(without_proof + ",p=" + scram::base64_encode(proof));
  }

  // "v=<server signature>" or "e=<error>".
  Result<std::optional<std::string>> on_server_final(std::string_view msg) {
    if (msg.starts_with("e=")) return fail("SCRAM: server error: " + std::string(msg.substr(2)));
    if (!msg.starts_with("v=")) return fail("SCRAM: malformed server-final message");
    std::string_view v = msg.substr(2);
    if (const auto comma = v.find(','); comma != std::string_view::npos) v = v.substr(0, comma);
    auto got = scram::base64_decode(v);
    const std::string want = scram::hmac(mech_, server_key_, auth_message_);
    wipe(server_key_);
    if (!got || want.empty() || got->size() != want.size())
      return fail("SCRAM: bad server signature");
    unsigned char diff = 0;
    for (size_t k = 0; k < want.size(); ++k)
      diff |= static_cast<unsigned char>((*got)[k] ^ want[k]);
    if (diff != 0) return fail("SCRAM: the server's signature does not match: not the real server");
    state_ = State::done;
    return std::optional<std::string>();
  }

  SaslMechanism mech_;
  std::string user_;
  std::string password_;
  std::optional<std::string> nonce_;
  State state_ = State::start;
  std::string client_first_bare_;
  std::string auth_message_;
  std::string server_key_;
};

}  // namespace

std::string_view sasl_mechanism_name(SaslMechanism m) noexcept {
  switch (m) {
    case SaslMechanism::plain: return "PLAIN";
    case SaslMechanism::scram_sha_256: return "SCRAM-SHA-256";
    case SaslMechanism::scram_sha_512: return "SCRAM-SHA-512";
  }
  return "?";
}

std::optional<SaslMechanism> parse_sasl_mechanism(std::string_view name) noexcept {
  for (auto m :
       {SaslMechanism::plain, SaslMechanism::scram_sha_256, SaslMechanism::scram_sha_512}) {
    const auto want = sasl_mechanism_name(m);
    if (want.size() != name.size()) continue;
    bool same = true;
    for (size_t k = 0; k < want.size() && same; ++k) {
      char c = name[k];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      same = c == want[k];
    }
    if (same) return m;
  }
  return std::nullopt;
}

std::unique_ptr<SaslClient> make_sasl_client(const SaslConfig& config) {
  if (config.mechanism == SaslMechanism::plain) return std::make_unique<PlainClient>(config);
  return std::make_unique<ScramClient>(config, std::nullopt);
}

std::unique_ptr<SaslClient> make_scram_client(const SaslConfig& config, std::string nonce) {
  return std::make_unique<ScramClient>(config, std::move(nonce));
}

namespace scram {

std::string escape_username(std::string_view user) {
  return protocol::scram::escape_username(user);
}
std::string base64_encode(std::string_view bytes) { return protocol::scram::base64_encode(bytes); }
Result<std::string> base64_decode(std::string_view text) {
  return protocol::scram::base64_decode(text);
}
std::string hmac(SaslMechanism m, std::string_view key, std::string_view data) {
  return protocol::scram::hmac(hash_of(m), key, data);
}
std::string hash(SaslMechanism m, std::string_view data) {
  return protocol::scram::hash(hash_of(m), data);
}
Result<std::string> salted_password(SaslMechanism m, std::string_view password,
                                    std::string_view salt, uint32_t iterations) {
  return protocol::scram::salted_password(hash_of(m), password, salt, iterations);
}

}  // namespace scram

}  // namespace ferry::client
