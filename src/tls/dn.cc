// RFC 2253 printing of an X.509 name. See dn.h.
#include "tls/dn.h"

#include <mbedtls/oid.h>

#include <array>
#include <cstdio>
#include <string_view>
#include <vector>

namespace ferry::tls {
namespace {

std::string_view keyword(std::string_view dotted) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kKeywords{{
      {"2.5.4.3", "CN"},
      {"2.5.4.6", "C"},
      {"2.5.4.7", "L"},
      {"2.5.4.8", "ST"},
      {"2.5.4.9", "STREET"},
      {"2.5.4.10", "O"},
      {"2.5.4.11", "OU"},
      {"0.9.2342.19200300.100.1.25", "DC"},
      {"0.9.2342.19200300.100.1.1", "UID"},
  }};
  for (const auto& [oid, kw] : kKeywords) {
    if (oid == dotted) return kw;
  }
  return {};
}

std::string escaped(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    const bool special = c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' ||
                         c == ';' || (i == 0 && (c == '#' || c == ' ')) ||
                         (i + 1 == v.size() && c == ' ');
    if (special) out += '\\';
    out += c;
  }
  return out;
}

// '#' and the hex of the value's DER encoding (tag, length, contents).
std::string hex_der(const mbedtls_asn1_buf& val) {
  std::vector<unsigned char> der;
  der.push_back(static_cast<unsigned char>(val.tag));
  if (val.len < 0x80) {
    der.push_back(static_cast<unsigned char>(val.len));
  } else {
    std::vector<unsigned char> len;
    for (size_t n = val.len; n > 0; n >>= 8) len.insert(len.begin(), static_cast<unsigned char>(n));
    der.push_back(static_cast<unsigned char>(0x80 | len.size()));
    der.insert(der.end(), len.begin(), len.end());
  }
  der.insert(der.end(), val.p, val.p + val.len);
  std::string out = "#";
  std::array<char, 3> h{};
  for (unsigned char b : der) {
    std::snprintf(h.data(), h.size(), "%02x", b);
    out += h.data();
  }
  return out;
}

std::string attribute(const mbedtls_x509_name& n) {
  std::array<char, 128> dotted{};
  const int len = mbedtls_oid_get_numeric_string(dotted.data(), dotted.size(), &n.oid);
  const std::string_view oid =
      len > 0 ? std::string_view(dotted.data(), static_cast<size_t>(len)) : std::string_view("0.0");
  const std::string_view kw = keyword(oid);
  if (kw.empty()) return std::string(oid) + "=" + hex_der(n.val);
  return std::string(kw) + "=" +
         escaped(std::string_view(reinterpret_cast<const char*>(n.val.p), n.val.len));
}

}  // namespace

std::string rfc2253_name(const mbedtls_x509_name* name) {
  // mbedTLS keeps the RDNs in certificate order (most general first); RFC 2253 prints them
  // in reverse.
  std::vector<std::string> rdns;
  std::string current;
  for (const mbedtls_x509_name* n = name; n != nullptr; n = n->next) {
    if (n->oid.p == nullptr) continue;
    if (!current.empty()) current += '+';
    current += attribute(*n);
    if (n->next_merged == 0) {
      rdns.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) rdns.push_back(std::move(current));
  std::string out;
  for (auto it = rdns.rbegin(); it != rdns.rend(); ++it) {
    if (!out.empty()) out += ',';
    out += *it;
  }
  return out;
}

}  // namespace ferry::tls
