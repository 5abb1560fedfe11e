// SCRAM's building blocks on mbedTLS primitives (see scram_crypto.h).
#include "protocol/scram_crypto.h"

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <sys/random.h>

#include <cerrno>
#include <cstddef>

namespace ferry::protocol::scram {
namespace {

const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

mbedtls_md_type_t md_type(Hash h) {
  return h == Hash::sha512 ? MBEDTLS_MD_SHA512 : MBEDTLS_MD_SHA256;
}

// An mbedTLS message-digest context set up for HMAC, freed on destruction.
class HmacContext {
 public:
  explicit HmacContext(Hash h) : info_(mbedtls_md_info_from_type(md_type(h))) {
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

}  // namespace

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

Result<std::string> unescape_username(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == ',') return Error(Errc::invalid_argument, "',' in a saslname");
    if (name[i] != '=') {
      out.push_back(name[i]);
      continue;
    }
    const std::string_view esc = name.substr(i + 1, 2);
    if (esc == "2C") {
      out.push_back(',');
    } else if (esc == "3D") {
      out.push_back('=');
    } else {
      return Error(Errc::invalid_argument, "bad '=' escape in a saslname");
    }
    i += 2;
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

std::string hmac(Hash h, std::string_view key, std::string_view data) {
  HmacContext ctx(h);
  if (!ctx.ok()) return {};
  std::string out(ctx.size(), '\0');
  auto* c = ctx.get();
  if (mbedtls_md_hmac_starts(c, u8(key), key.size()) != 0 ||
      mbedtls_md_hmac_update(c, u8(data), data.size()) != 0 ||
      mbedtls_md_hmac_finish(c, reinterpret_cast<unsigned char*>(out.data())) != 0)
    return {};
  return out;
}

std::string hash(Hash h, std::string_view data) {
  const mbedtls_md_info_t* info = mbedtls_md_info_from_type(md_type(h));
  if (info == nullptr) return {};
  std::string out(mbedtls_md_get_size(info), '\0');
  if (mbedtls_md(info, u8(data), data.size(), reinterpret_cast<unsigned char*>(out.data())) != 0)
    return {};
  return out;
}

Result<std::string> salted_password(Hash h, std::string_view password, std::string_view salt,
                                    uint32_t iterations) {
  HmacContext ctx(h);
  if (!ctx.ok()) return Error(Errc::unsupported, "hash not available in mbedTLS");
  std::string out(ctx.size(), '\0');
  if (mbedtls_pkcs5_pbkdf2_hmac(ctx.get(), u8(password), password.size(), u8(salt), salt.size(),
                                iterations, static_cast<uint32_t>(out.size()),
                                reinterpret_cast<unsigned char*>(out.data())) != 0)
    return Error(Errc::invalid_argument, "PBKDF2 failed");
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t k = 0; k < a.size(); ++k) diff |= static_cast<unsigned char>(a[k] ^ b[k]);
  return diff == 0;
}

Result<std::string> random_bytes(size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    const ssize_t r = getrandom(out.data() + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "getrandom");
    }
    got += static_cast<size_t>(r);
  }
  return out;
}

void wipe(std::string& s) noexcept {
  if (!s.empty()) mbedtls_platform_zeroize(s.data(), s.size());
  s.clear();
}

Result<ServerKeys> server_keys(Hash h, std::string_view password, std::string_view salt,
                               uint32_t iterations) {
  auto salted = salted_password(h, password, salt, iterations);
  if (!salted) return std::move(salted).error();
  std::string client_key = hmac(h, *salted, "Client Key");
  ServerKeys keys{hash(h, client_key), hmac(h, *salted, "Server Key")};
  wipe(client_key);
  wipe(salted.value());
  if (keys.stored_key.empty() || keys.server_key.empty())
    return Error(Errc::io, "SCRAM hashing failed");
  return keys;
}

}  // namespace ferry::protocol::scram
