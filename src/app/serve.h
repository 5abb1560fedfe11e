// `ferry serve`: runs the broker until SIGINT or SIGTERM.
#pragma once

#include <optional>
#include <string>

namespace ferry::app {

struct ServeArgs {
  std::optional<std::string> config_file;
  std::optional<std::string> data_dir;
  std::optional<std::string> listen;
  std::optional<std::string> advertised;
  std::optional<int> node_id;
  std::optional<std::string> log_level;
};

// Exit codes: 0 after a clean shutdown, 1 on a runtime failure, 2 on a configuration error.
int serve(const ServeArgs& args);

}  // namespace ferry::app
