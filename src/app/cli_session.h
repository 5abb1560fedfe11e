// The connection side shared by the operator commands: parsing --bootstrap, the SASL options,
// and a private loop with a client used synchronously (one request at a time, as a command-line
// tool works).
#pragma once

#include <uv.h>

#include <CLI/CLI.hpp>
#include <cstdint>
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

// --sasl-mechanism, --sasl-username, --sasl-password, --sasl-password-file: the same on every
// client command.
struct SaslArgs {
  std::optional<std::string> mechanism;
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<std::string> password_file;
};
void add_sasl_options(CLI::App* cmd, SaslArgs& a);

// The SASL configuration the options ask for: nullopt without any of them; an invalid_argument
// error (never quoting the password) when they are incomplete, contradict each other, name an
// unknown mechanism or the password file cannot be read. A password file holds the password
// alone; one trailing newline is not part of it.
Result<std::optional<client::SaslConfig>> sasl_config(const SaslArgs& a);

// A loop and a client, used synchronously from the main thread; closes both on destruction.
class Session {
 public:
  // `name` is the client id and ApiVersions software name ("ferry-groups"); with `sasl` every
  // connection authenticates before its first request.
  Session(const client::BrokerAddress& bootstrap, uint32_t timeout_ms, const std::string& name,
          std::optional<client::SaslConfig> sasl = std::nullopt);
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
