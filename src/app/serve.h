// `ferry serve`: runs the broker until SIGINT or SIGTERM.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "config/broker_config.h"

namespace ferry::app {

struct ServeArgs {
  std::optional<std::string> config_file;
  std::optional<std::string> data_dir;
  std::optional<std::string> listen;
  std::optional<std::string> advertised;
  std::optional<int> node_id;
  std::optional<std::string> log_level;
};

// The configuration `ferry serve` runs with: the file (when given), then the flags over it.
// Errors are Errc::invalid_argument with the message to print. Also what SIGHUP reloads.
Result<config::BrokerConfig> serve_config(const ServeArgs& args);

// Exit codes: 0 after a clean shutdown, 1 on a runtime failure, 2 on a configuration error.
int serve(const ServeArgs& args);

}  // namespace ferry::app
