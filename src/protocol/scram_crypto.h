// The cryptographic building blocks of SASL SCRAM (RFC 5802, RFC 7677), shared by the client's
// and the broker's mechanisms: base64, HMAC, hashing and PBKDF2 (RFC 5802's Hi) with SHA-256 or
// SHA-512 from mbedTLS, the saslname escaping, constant-time comparison and the keys a server
// stores (StoredKey, ServerKey) instead of the password.
//
// Threading: pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ferry::protocol::scram {

enum class Hash : uint8_t { sha256, sha512 };

// "=2C" for ',' and "=3D" for '=' (RFC 5802 saslname), and back; unescape fails on any other
// '=' sequence.
std::string escape_username(std::string_view user);
Result<std::string> unescape_username(std::string_view name);
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);
// HMAC and hash with the given function; empty on an mbedTLS failure.
std::string hmac(Hash h, std::string_view key, std::string_view data);
std::string hash(Hash h, std::string_view data);
// PBKDF2-HMAC (RFC 5802's Hi) with the hash's output length.
Result<std::string> salted_password(Hash h, std::string_view password, std::string_view salt,
                                    uint32_t iterations);
// True when `a` and `b` are equal; the time taken depends only on their lengths.
bool equal_constant_time(std::string_view a, std::string_view b) noexcept;
// `n` bytes from the system's CSPRNG.
Result<std::string> random_bytes(size_t n);
// Overwrites a string that held secret material, then empties it.
void wipe(std::string& s) noexcept;

// What a server keeps of a password (RFC 5802 §3): StoredKey = H(HMAC(SaltedPassword,
// "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key").
struct ServerKeys {
  std::string stored_key;
  std::string server_key;
};
Result<ServerKeys> server_keys(Hash h, std::string_view password, std::string_view salt,
                               uint32_t iterations);

}  // namespace ferry::protocol::scram
