// Kafka-style ids (see uuid.h).
#include "common/uuid.h"

#include <array>
#include <cstdint>
#include <random>

namespace ferry {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

std::string new_uuid() {
  std::random_device rd;
  std::array<uint8_t, 16> b{};
  for (auto& x : b) x = static_cast<uint8_t>(rd());
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t x : b) {
    acc = (acc << 8) | x;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);  // 128 = 21*6 + 2: 4 bits of padding
  return out;
}

bool valid_uuid(std::string_view id) {
  if (id.size() != 22) return false;
  for (char c : id) {
    if (!base64url_char(c)) return false;
  }
  return true;
}

}  // namespace ferry
