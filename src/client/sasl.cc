// SASL mechanisms of the client: PLAIN and SCRAM-SHA-256/512 on mbedTLS primitives.
#include "client/sasl.h"

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <sys/random.h>

#include <cerrno>
#include <cstddef>
#include <vector>

namespace ferry::client {

namespace {

// RFC 5802 §5.1: servers must be held to at least 4096 iterations (Kafka's minimum too); the
// ceiling keeps a hostile server from stalling the loop thread in PBKDF2.
constexpr uint32_t kMinIterations = 4096;
constexpr uint32_t kMaxIterations = 1'000'000;
constexpr size_t kNonceBytes = 24;

const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Overwrites a string that held secret material before it is released.
void wipe(std::string& s) {
  if (!s.empty()) mbedtls_platform_zeroize(s.data(), s.size());
  s.clear();
}

mbedtls_md_type_t md_type(SaslMechanism m) {
  return m == SaslMechanism::scram_sha_512 ? MBEDTLS_MD_SHA512 : MBEDTLS_MD_SHA256;
}

// An mbedTLS message-digest context set up for HMAC, freed on destruction.
class HmacContext {
 public:
  explicit HmacContext(SaslMechanism m) : info_(mbedtls_md_info_from_type(md_type(m))) {
    mbedtls_md_init(&ctx_);
    ok_ = info_ != nullptr && mbedtls_md_setup(&ctx_, info_, 1) == 0;
  }
  ~HmacContext() { mbedtls_md_free(&ctx_); }
  HmacContext(const HmacContext&) = delete;
  HmacContext& operator=(const HmacContext&) = delete;

  bool ok() const noexcept { return ok_; }
  mbedtls_md_context_t* get() { return &ctx_; }
  size_t size() const { return info_ != nullptr ? mbedtls_md_get_size(info_) : 0; }

 private:
  const mbedtls_md_info_t* info_;
  mbedtls_md_context_t ctx_;
  bool ok_ = false;
};

Result<std::string> random_nonce() {
  unsigned char raw[kNonceBytes];
  size_t got = 0;
  while (got < sizeof raw) {
    const ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "getrandom");
    }
    got += static_cast<size_t>(n);
  }
  // Base64 of random bytes: printable and free of ','.
  return scram::base64_encode({reinterpret_cast<const char*>(raw), sizeof raw});
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
  std::string out;
  out.reserve(user.size());
  for (char c : user) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  size_t n = 0;
  if (mbedtls_base64_encode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &n, u8(bytes),
                            bytes.size()) != 0)
    return {};
  out.resize(n);
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t n = 0;
  if (mbedtls_base64_decode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &n, u8(text),
                            text.size()) != 0)
    return Error(Errc::corrupt, "bad base64");
  out.resize(n);
  return out;
}

std::string hmac(SaslMechanism m, std::string_view key, std::string_view data) {
  HmacContext ctx(m);
  if (!ctx.ok()) return {};
  std::string out(ctx.size(), '\0');
  auto* c = ctx.get();
  if (mbedtls_md_hmac_starts(c, u8(key), key.size()) != 0 ||
      mbedtls_md_hmac_update(c, u8(data), data.size()) != 0 ||
      mbedtls_md_hmac_finish(c, reinterpret_cast<unsigned char*>(out.data())) != 0)
    return {};
  return out;
}

std::string hash(SaslMechanism m, std::string_view data) {
  const mbedtls_md_info_t* info = mbedtls_md_info_from_type(md_type(m));
  if (info == nullptr) return {};
  std::string out(mbedtls_md_get_size(info), '\0');
  if (mbedtls_md(info, u8(data), data.size(), reinterpret_cast<unsigned char*>(out.data())) != 0)
    return {};
  return out;
}

Result<std::string> salted_password(SaslMechanism m, std::string_view password,
                                    std::string_view salt, uint32_t iterations) {
  HmacContext ctx(m);
  if (!ctx.ok()) return Error(Errc::unsupported, "hash not available in mbedTLS");
  std::string out(ctx.size(), '\0');
  if (mbedtls_pkcs5_pbkdf2_hmac(ctx.get(), u8(password), password.size(), u8(salt), salt.size(),
                                iterations, static_cast<uint32_t>(out.size()),
                                reinterpret_cast<unsigned char*>(out.data())) != 0)
    return Error(Errc::invalid_argument, "PBKDF2 failed");
  return out;
}

}  // namespace scram

}  // namespace ferry::client
