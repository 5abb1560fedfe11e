// `ferry config check FILE`: validates a configuration file without starting anything.
//
//   ferry config check /etc/ferry/ferry.toml
//
// Parses the file with the broker's loader (every key against the key table, values, listener
// and mirror rules) and then checks what the loader cannot see from the text: the files it
// names (admin.basic.auth.password.file, the TLS certificate, key and CA) are readable.
// Valid: exit 0 and one line "FILE: OK (...)" on stdout. Invalid: exit 1 and one line per
// problem, "FILE:LINE: KEY: message", on stderr. A file that cannot be read: exit 1.
//
// check_config() is shared with `ferry selfcheck --config`. Any thread; reads files.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/broker_config.h"

namespace ferry::app {

struct ConfigArgs {
  std::string file;
};

// Adds `config` with its `check` subcommand to `app`; returns `check`.
CLI::App* add_config_command(CLI::App& app, ConfigArgs& args);
// Runs `config check`; returns the exit code.
int run_config_check(const ConfigArgs& args);

struct ConfigCheck {
  std::vector<std::string> problems;           // "FILE:LINE: KEY: message", in line order
  std::optional<config::BrokerConfig> config;  // set when the file parsed
  bool ok() const noexcept { return config.has_value() && problems.empty(); }
};
// Loads `file` and runs the checks above.
ConfigCheck check_config(const std::string& file);
// The line "FILE: OK (...)" printed for a valid file.
std::string config_ok_line(const std::string& file, const config::BrokerConfig& c);

}  // namespace ferry::app
