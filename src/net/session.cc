// Session: names of the security protocols and auth states. See session.h.
#include "net/session.h"

namespace ferry::net {

std::string_view security_protocol_name(SecurityProtocol p) noexcept {
  switch (p) {
    case SecurityProtocol::plaintext: return "PLAINTEXT";
    case SecurityProtocol::ssl: return "SSL";
    case SecurityProtocol::sasl_plaintext: return "SASL_PLAINTEXT";
    case SecurityProtocol::sasl_ssl: return "SASL_SSL";
  }
  return "?";
}

std::optional<SecurityProtocol> parse_security_protocol(std::string_view name) noexcept {
  for (SecurityProtocol p : {SecurityProtocol::plaintext, SecurityProtocol::ssl,
                             SecurityProtocol::sasl_plaintext, SecurityProtocol::sasl_ssl}) {
    if (security_protocol_name(p) == name) return p;
  }
  return std::nullopt;
}

std::string_view auth_state_name(AuthState s) noexcept {
  switch (s) {
    case AuthState::none: return "none";
    case AuthState::in_progress: return "in progress";
    case AuthState::authenticated: return "authenticated";
  }
  return "?";
}

std::string host_of(std::string_view peer) {
  const size_t colon = peer.rfind(':');
  return std::string(colon == std::string_view::npos ? peer : peer.substr(0, colon));
}

}  // namespace ferry::net
