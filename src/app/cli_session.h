// The connection side shared by the operator commands: parsing --bootstrap, the SASL options,
// and a private loop with a client used synchronously (one request at a time, as a command-line
// tool works).
#pragma once

#include <uv.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/client.h"
#include "client/sasl.h"
#include "client/sync.h"
#include "common/result.h"

namespace ferry::app {

// "HOST:PORT", with an IPv6 host in brackets ("[::1]:9092").
Result<client::BrokerAddress> parse_bootstrap(const std::string& s);

// The security options, the same on every client command: --sasl-mechanism, --sasl-username,
// --sasl-password, --sasl-password-file, and TLS's --security-protocol, --ssl-ca-location,
// --ssl-certificate-location, --ssl-key-location, --ssl-key-password,
// --ssl-endpoint-identification (librdkafka's property names as options).
struct SaslArgs {
  std::optional<std::string> mechanism;
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<std::string> password_file;
  std::optional<std::string> security_protocol;
  std::optional<std::string> ssl_ca_location;
  std::optional<std::string> ssl_certificate_location;
  std::optional<std::string> ssl_key_location;
  std::optional<std::string> ssl_key_password;
  std::optional<std::string> ssl_endpoint_identification;
};
void add_sasl_options(CLI::App* cmd, SaslArgs& a);

// What a connection needs besides the address: SASL and TLS.
struct Security {
  std::optional<client::SaslConfig> sasl;
  std::shared_ptr<const tls::Context> tls;
};

// The SASL configuration the options ask for: nullopt without any of them; an invalid_argument
// error (never quoting the password) when they are incomplete, contradict each other, name an
// unknown mechanism or the password file cannot be read. A password file holds the password
// alone; one trailing newline is not part of it.
Result<std::optional<client::SaslConfig>> sasl_config(const SaslArgs& a);

// sasl_config() plus the TLS context the options ask for. Without --security-protocol it is
// SASL_SSL when TLS options are given with a SASL mechanism, SSL with TLS options alone, else
// SASL_PLAINTEXT or PLAINTEXT (what the SASL options imply). An invalid_argument error when a
// certificate, key or CA file does not load or the options contradict the protocol.
Result<Security> security_config(const SaslArgs& a);

// A loop and a client, used synchronously from the main thread; closes both on destruction.
class Session {
 public:
  // `name` is the client id and ApiVersions software name ("ferry-groups"); with `security.tls`
  // every connection speaks TLS, with `security.sasl` it authenticates before its first
  // request.
  Session(const client::BrokerAddress& bootstrap, uint32_t timeout_ms, const std::string& name,
          Security security = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  uv_loop_t* loop() { return &loop_; }
  client::Client& client() { return *client_; }

  // Runs one asynchronous call to completion: `start(done)` issues it.
  template <typename T, typename Start>
  client::KafkaResult<T> run(Start&& start) {
    return client::run_until_done<T>(&loop_, std::forward<Start>(start));
  }

 private:
  uv_loop_t loop_;
  std::optional<client::Client> client_;
};

}  // namespace ferry::app
