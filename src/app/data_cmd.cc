// `ferry data prune`: lists and (with --execute) deletes set-aside partition directories.
#include "app/data_cmd.h"

#include <cinttypes>
#include <cstdio>

#include "platform/file.h"
#include "storage/partition_identity.h"

namespace ferry::app {
namespace {

// Bytes in the regular files directly inside `dir` (partition directories are flat).
uint64_t dir_bytes(const std::string& dir) {
  uint64_t total = 0;
  auto names = platform::list_dir(dir);
  if (!names) return 0;
  for (const auto& n : *names) {
    auto size = platform::file_size(dir + "/" + n);
    if (size) total += *size;
  }
  return total;
}

}  // namespace

CLI::App* add_data_command(CLI::App& app, DataArgs& args) {
  auto* data = app.add_subcommand("data", "Operate on a data directory's files");
  data->require_subcommand(1);
  auto* prune = data->add_subcommand(
      "prune", "Delete quarantined partitions and leftover tombstones (dry run by default)");
  prune->add_option("--data-dir", args.data_dir, "Data directory (default ./ferry-data)");
  prune->add_flag("--execute", args.execute, "Delete what is listed (default: only list it)");
  return prune;
}

int run_data_prune(const DataArgs& args) {
  const std::string logs = args.data_dir + "/logs";
  if (!platform::exists(logs)) {
    std::fprintf(stderr, "ferry data prune: %s does not exist\n", logs.c_str());
    return 1;
  }
  auto names = platform::list_dir(logs);
  if (!names) {
    std::fprintf(stderr, "ferry data prune: %s\n", names.error().to_string().c_str());
    return 1;
  }
  int found = 0;
  int failed = 0;
  uint64_t bytes = 0;
  for (const auto& name : *names) {
    auto kind = storage::parse_set_aside_dir_name(name);
    if (!kind) continue;
    const std::string path = logs + "/" + name;
    const uint64_t size = dir_bytes(path);
    ++found;
    bytes += size;
    std::printf("%s %s (%s, %" PRIu64 " bytes)\n", args.execute ? "deleting" : "would delete",
                path.c_str(), *kind == storage::SetAside::stray ? "quarantined" : "deleted topic",
                size);
    if (!args.execute) continue;
    Status st = platform::remove_tree(path);
    if (st) st = platform::sync_dir(logs);
    if (!st) {
      std::fprintf(stderr, "ferry data prune: %s\n", st.error().to_string().c_str());
      ++failed;
    }
  }
  if (found == 0) {
    std::printf("nothing to prune in %s\n", logs.c_str());
  } else if (!args.execute) {
    std::printf("%d directories, %" PRIu64 " bytes; run again with --execute to delete them\n",
                found, bytes);
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace ferry::app
