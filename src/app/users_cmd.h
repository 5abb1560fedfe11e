// `ferry users`: SCRAM users, offline on a data directory or online through a broker.
//
//   ferry users add --user U --mechanism SCRAM-SHA-256 --password-file F [--iterations N]
//                   (--data-dir D | --bootstrap HOST:PORT [--sasl-...])
//   ferry users list (--data-dir D | --bootstrap HOST:PORT)
//   ferry users delete --user U [--mechanism M] (--data-dir D | --bootstrap HOST:PORT)
//
// Offline (--data-dir) the credential is written to D/meta.db directly (created if missing, so
// the first user exists before the broker first starts). SQLite's locking makes this safe next
// to a running broker, but that broker reads credentials only at start: change a running
// broker's users with --bootstrap (AlterUserScramCredentials), which takes effect at once.
// Only salted keys are stored, never the password; `list` shows users, mechanisms and
// iteration counts, never keys. Exit codes: 0 ok, 1 a Kafka, connection or store error, 2 usage.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "app/cli_session.h"

namespace ferry::app {

struct UsersArgs {
  std::optional<std::string> data_dir;
  std::optional<std::string> bootstrap;
  SaslArgs sasl;
  std::optional<std::string> user;
  std::optional<std::string> mechanism;
  std::optional<std::string> password_file;
  int32_t iterations = 4096;
  uint32_t timeout_ms = 10'000;
};

// Adds `users` with its add/list/delete subcommands; returns the `users` command.
CLI::App* add_users_command(CLI::App& app, UsersArgs& args);

// Runs whichever subcommand of `users_cmd` was parsed; returns the exit code.
int run_users(CLI::App* users_cmd, const UsersArgs& args);

}  // namespace ferry::app
