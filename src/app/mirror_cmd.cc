// `ferry mirror status`: reads the broker's mirror status file and prints it. See mirror_cmd.h.
#include "app/mirror_cmd.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/clock.h"
#include "config/broker_config.h"
#include "mirror/service.h"
#include "mirror/status.h"

namespace ferry::app {

CLI::App* add_mirror_command(CLI::App& app, MirrorArgs& args) {
  auto* mirror = app.add_subcommand("mirror", "The mirrors to central Kafka clusters");
  mirror->require_subcommand(1);
  auto* status = mirror->add_subcommand(
      "status", "Per mirror and partition: link, forwarded up to, records and seconds behind");
  status->add_option("--data-dir", args.data_dir, "Data directory (default ./ferry-data)");
  status->add_option("--config", args.config_file, "Take data.dir from this ferry.toml")
      ->check(CLI::ExistingFile);
  status->add_flag("--json", args.json, "Print JSON");
  return status;
}

int run_mirror_status(const MirrorArgs& args) {
  std::string data_dir = args.data_dir;
  if (!args.config_file.empty()) {
    Result<config::BrokerConfig> c = config::load_config_file(args.config_file);
    if (!c) {
      std::fprintf(stderr, "ferry mirror status: %s\n", c.error().message().c_str());
      return 2;
    }
    data_dir = c->data_dir;
  }
  const std::string path = mirror::status_file_path(data_dir);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr,
                 "ferry mirror status: %s not found (is the broker running with a [[mirror]] "
                 "section?)\n",
                 path.c_str());
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  Result<mirror::StatusSnapshot> s = mirror::parse_status_file(text.str());
  if (!s) {
    std::fprintf(stderr, "ferry mirror status: %s: %s\n", path.c_str(),
                 s.error().message().c_str());
    return 1;
  }
  const int64_t now = Clock::system().now_ms();
  std::fputs(args.json ? mirror::render_status_json(*s).c_str()
                       : mirror::render_status_text(*s, now).c_str(),
             stdout);
  if (now - s->written_ms > 10'000) {
    std::fprintf(stderr,
                 "ferry mirror status: written %lld s ago: the broker is stopped or stuck\n",
                 static_cast<long long>((now - s->written_ms) / 1000));
    return 1;
  }
  return 0;
}

}  // namespace ferry::app
