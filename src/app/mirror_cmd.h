// `ferry mirror status`: what each [[mirror]] of a running broker is doing; `ferry mirror
// translate`: the target offset of a forwarded source offset.
//
//   ferry mirror status [--json] [--data-dir DIR | --config FILE]
//   ferry mirror translate --mirror NAME --topic T --partition P --offset N
//                          [--json] [--data-dir DIR | --config FILE]
//
// Reads DATA/mirror-status.tsv, which the broker rewrites every second (mirror/status.h), and
// prints per mirror its link and per partition source end, forwarded-up-to, records and seconds
// behind, and the target offset; --json prints the same as one JSON object. ferry has no admin
// HTTP listener yet, and the link's state lives only in the running broker, hence the file.
// --json adds each partition's offset map ("offset_map", read from DATA/meta.db; null when it
// has none). Exit codes: 0 ok, 1 no status file or one older than 10 s (broker stopped or
// stuck), 2 usage.
//
// `translate` reads DATA/meta.db read-only (the broker may run) and prints the target offset of
// source offset N (mirror/offset_map.h). Exit codes: 0 translated, 1 not translatable (not
// forwarded yet, below the oldest row, no map; the reason is printed), 2 usage.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace ferry::app {

struct MirrorArgs {
  std::string data_dir = "./ferry-data";
  std::string config_file;  // data.dir is taken from it when given
  bool json = false;
  // translate
  std::string mirror;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

struct MirrorCommands {
  CLI::App* status = nullptr;
  CLI::App* translate = nullptr;
};

// Adds `mirror` (with `status` and `translate`) to `app`.
MirrorCommands add_mirror_command(CLI::App& app, MirrorArgs& args);

// Run `mirror status` and `mirror translate`; return the process exit code.
int run_mirror_status(const MirrorArgs& args);
int run_mirror_translate(const MirrorArgs& args);

}  // namespace ferry::app
