// mbedTLS error codes and verification flags as text. See mbed.h.
#include "tls/mbed.h"

#include <mbedtls/error.h>

#include <array>
#include <cstdio>

namespace ferry::tls {

std::string error_text(int code) {
  std::array<char, 200> buf{};
  mbedtls_strerror(code, buf.data(), buf.size());
  std::array<char, 16> hex{};
  std::snprintf(hex.data(), hex.size(), "-0x%04x", static_cast<unsigned>(-code));
  return std::string(buf.data()) + " (" + hex.data() + ")";
}

std::string verify_text(uint32_t flags) {
  std::array<char, 512> buf{};
  const int n = mbedtls_x509_crt_verify_info(buf.data(), buf.size(), "", flags);
  std::string out;
  if (n <= 0) return "unknown verification failure";
  for (char c : std::string(buf.data(), static_cast<size_t>(n))) {
    if (c == '\n') {
      out += "; ";
    } else {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

}  // namespace ferry::tls
