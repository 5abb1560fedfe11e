// Bootstrap, SASL and TLS options, and the synchronous client session of the operator commands.
#include "app/cli_session.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "admin/build_info.h"
#include "client/security.h"

namespace ferry::app {

Result<client::BrokerAddress> parse_bootstrap(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
    return Error(Errc::invalid_argument, "--bootstrap '" + s + "': expected HOST:PORT");
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  uint32_t port = 0;
  for (char c : s.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535)
      return Error(Errc::invalid_argument, "--bootstrap '" + s + "': bad port");
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535)
    return Error(Errc::invalid_argument, "--bootstrap '" + s + "': bad port");
  return client::BrokerAddress{host, static_cast<uint16_t>(port)};
}

void add_sasl_options(CLI::App* cmd, SaslArgs& a) {
  cmd->add_option("--sasl-mechanism", a.mechanism,
                  "Authenticate with SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
  cmd->add_option("--sasl-username", a.username, "SASL user name");
  cmd->add_option("--sasl-password", a.password,
                  "SASL password (visible to other local users: prefer --sasl-password-file)");
  cmd->add_option("--sasl-password-file", a.password_file, "Read the SASL password from this file");
  cmd->add_option("--security-protocol", a.security_protocol,
                  "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (default: implied by the other "
                  "options)");
  cmd->add_option(
      "--ssl-ca-location", a.ssl_ca_location,
      "PEM file of the CAs that sign the brokers' certificates (default: the system's)");
  cmd->add_option("--ssl-certificate-location", a.ssl_certificate_location,
                  "PEM client certificate, for brokers that require one");
  cmd->add_option("--ssl-key-location", a.ssl_key_location, "PEM private key of the certificate");
  cmd->add_option("--ssl-key-password", a.ssl_key_password, "Password of an encrypted key");
  cmd->add_option("--ssl-endpoint-identification", a.ssl_endpoint_identification,
                  "https (default: the broker's certificate must name the host) or none");
}

Result<std::optional<client::SaslConfig>> sasl_config(const SaslArgs& a) {
  if (!a.mechanism) {
    if (a.username || a.password || a.password_file)
      return Error(Errc::invalid_argument,
                   "--sasl-username and --sasl-password* need --sasl-mechanism");
    return std::optional<client::SaslConfig>();
  }
  client::SaslConfig c;
  auto m = client::parse_sasl_mechanism(*a.mechanism);
  if (!m) {
    return Error(Errc::invalid_argument, "--sasl-mechanism '" + *a.mechanism +
                                             "': expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
  }
  c.mechanism = *m;
  if (!a.username || a.username->empty())
    return Error(Errc::invalid_argument, "--sasl-mechanism needs --sasl-username");
  c.username = *a.username;
  if (a.password && a.password_file)
    return Error(Errc::invalid_argument, "give --sasl-password or --sasl-password-file, not both");
  if (a.password) {
    c.password = *a.password;
  } else if (a.password_file) {
    std::FILE* f = std::fopen(a.password_file->c_str(), "rb");
    if (f == nullptr) {
      return Error(Errc::invalid_argument,
                   "--sasl-password-file " + *a.password_file + ": " + std::strerror(errno));
    }
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) c.password.append(buf, n);
    const bool bad = std::ferror(f) != 0;
    std::fclose(f);
    if (bad)
      return Error(Errc::invalid_argument,
                   "--sasl-password-file " + *a.password_file + ": read error");
    if (!c.password.empty() && c.password.back() == '\n') c.password.pop_back();
    if (!c.password.empty() && c.password.back() == '\r') c.password.pop_back();
  } else {
    return Error(Errc::invalid_argument,
                 "--sasl-mechanism needs --sasl-password or --sasl-password-file");
  }
  if (c.password.empty()) return Error(Errc::invalid_argument, "the SASL password is empty");
  return std::optional<client::SaslConfig>(std::move(c));
}

Result<Security> security_config(const SaslArgs& a) {
  auto sasl = sasl_config(a);
  if (!sasl) return std::move(sasl).error();
  client::SecurityProperties p;
  const bool any_tls = a.ssl_ca_location || a.ssl_certificate_location || a.ssl_key_location ||
                       a.ssl_key_password || a.ssl_endpoint_identification;
  std::string protocol =
      a.security_protocol.value_or(any_tls ? (sasl->has_value() ? "SASL_SSL" : "SSL")
                                           : (sasl->has_value() ? "SASL_PLAINTEXT" : "PLAINTEXT"));
  const std::pair<const char*, const std::optional<std::string>*> props[] = {
      {"ssl.ca.location", &a.ssl_ca_location},
      {"ssl.certificate.location", &a.ssl_certificate_location},
      {"ssl.key.location", &a.ssl_key_location},
      {"ssl.key.password", &a.ssl_key_password},
      {"ssl.endpoint.identification.algorithm", &a.ssl_endpoint_identification},
  };
  FERRY_TRY(client::set_security_property(p, "security.protocol", protocol));
  for (const auto& [key, value] : props) {
    if (*value) FERRY_TRY(client::set_security_property(p, key, **value));
  }
  client::ConnectionOptions o;
  FERRY_TRY(client::apply_security(p, std::move(sasl).value(), o));
  return Security{std::move(o.sasl), std::move(o.tls)};
}

Session::Session(const client::BrokerAddress& bootstrap, uint32_t timeout_ms,
                 const std::string& name, Security security) {
  uv_loop_init(&loop_);
  client::ConnectionOptions o;
  o.client_id = name;
  o.software_name = name;
  o.software_version = std::string(build::version());
  o.connect_timeout_ms = timeout_ms;
  o.request_timeout_ms = timeout_ms;
  o.sasl = std::move(security.sasl);
  o.tls = std::move(security.tls);
  client_.emplace(&loop_, bootstrap.host, bootstrap.port, o);
}

Session::~Session() {
  client_->close();
  client_.reset();
  uv_run(&loop_, UV_RUN_DEFAULT);  // let the closed handles finish
  (void)uv_loop_close(&loop_);
}

}  // namespace ferry::app
