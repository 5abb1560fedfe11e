// `ferry data prune`: the only way partition data the broker set aside is deleted.
//
//   ferry data prune --data-dir DIR [--execute]
//
// Lists the directories under DIR/logs that the broker keeps but does not serve: quarantined
// partitions ("<topic>-<p>.<topic id>-stray", files of another incarnation of a topic) and
// tombstones of deleted topics not yet removed ("...-delete"). A dry run unless --execute is
// given. Works on the files directly; the broker may be running (it never reads these).
// Exit codes: 0 ok, 1 an I/O error, 2 usage.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace ferry::app {

struct DataArgs {
  std::string data_dir = "./ferry-data";
  bool execute = false;
};

// Adds the `data` subcommand (with `prune`) to `app`; returns the `prune` subcommand.
CLI::App* add_data_command(CLI::App& app, DataArgs& args);

// Runs `data prune`; returns the process exit code.
int run_data_prune(const DataArgs& args);

}  // namespace ferry::app
