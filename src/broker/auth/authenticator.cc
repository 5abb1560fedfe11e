// Authenticator (see authenticator.h).
#include "broker/auth/authenticator.h"

#include <algorithm>

#include "broker/auth/plain.h"
#include "broker/auth/scram.h"

namespace ferry::broker::auth {

Result<std::vector<Mechanism>> parse_mechanism_list(std::string_view text) {
  std::vector<Mechanism> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '"')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '"')) item.remove_suffix(1);
    pos = comma + 1;
    if (item.empty()) continue;
    const auto m = parse_mechanism(item);
    if (!m) {
      return Error(Errc::invalid_argument, "unknown SASL mechanism '" + std::string(item) +
                                               "' (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)");
    }
    if (std::find(out.begin(), out.end(), *m) == out.end()) out.push_back(*m);
  }
  return out;
}

Authenticator::Authenticator(AuthenticatorOptions options)
    : options_(std::move(options)),
      failures_(options_.max_failures_per_address, options_.failure_window_ms) {
  auto key = protocol::scram::random_bytes(32);
  fake_key_ = key ? std::move(key).value() : std::string(32, 'f');
}

bool Authenticator::enabled(Mechanism m) const noexcept {
  return std::find(options_.enabled.begin(), options_.enabled.end(), m) != options_.enabled.end();
}

std::vector<std::string> Authenticator::enabled_names() const {
  std::vector<std::string> out;
  for (Mechanism m : options_.enabled) out.emplace_back(mechanism_name(m));
  return out;
}

std::unique_ptr<SaslServer> Authenticator::start(Mechanism m) const {
  if (m == Mechanism::plain) return make_plain_server(credentials_, fake_key_);
  return make_scram_server(m, credentials_, fake_key_);
}

}  // namespace ferry::broker::auth
