// `ferry mirror status`: what each [[mirror]] of a running broker is doing.
//
//   ferry mirror status [--json] [--data-dir DIR | --config FILE]
//
// Reads DATA/mirror-status.tsv, which the broker rewrites every second (mirror/status.h), and
// prints per mirror its link and per partition source end, forwarded-up-to, records and seconds
// behind, and the target offset; --json prints the same as one JSON object. ferry has no admin
// HTTP listener yet, and the link's state lives only in the running broker, hence the file.
// Exit codes: 0 ok, 1 no status file or one older than 10 s (broker stopped or stuck), 2 usage.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace ferry::app {

struct MirrorArgs {
  std::string data_dir = "./ferry-data";
  std::string config_file;  // data.dir is taken from it when given
  bool json = false;
};

// Adds `mirror` (with `status`) to `app`; returns the `status` subcommand.
CLI::App* add_mirror_command(CLI::App& app, MirrorArgs& args);

// Runs `mirror status`; returns the process exit code.
int run_mirror_status(const MirrorArgs& args);

}  // namespace ferry::app
