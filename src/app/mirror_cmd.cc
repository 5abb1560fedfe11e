// `ferry mirror status`: reads the broker's mirror status file and prints it; `ferry mirror
// translate`: one source offset translated with the offset map in meta.db. See mirror_cmd.h.
#include "app/mirror_cmd.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "app/cli_output.h"
#include "common/clock.h"
#include "config/broker_config.h"
#include "mirror/offset_query.h"
#include "mirror/service.h"
#include "mirror/status.h"

namespace ferry::app {

namespace {

// The data directory named by --data-dir or --config; nullopt after printing why not.
std::optional<std::string> data_dir_of(const MirrorArgs& args, const char* command) {
  if (args.config_file.empty()) return args.data_dir;
  Result<config::BrokerConfig> c = config::load_config_file(args.config_file);
  if (!c) {
    std::fprintf(stderr, "ferry mirror %s: %s\n", command, c.error().message().c_str());
    return std::nullopt;
  }
  return c->data_dir;
}

}  // namespace

MirrorCommands add_mirror_command(CLI::App& app, MirrorArgs& args) {
  auto* mirror = app.add_subcommand("mirror", "The mirrors to central Kafka clusters");
  mirror->require_subcommand(1);
  auto* status = mirror->add_subcommand(
      "status", "Per mirror and partition: link, forwarded up to, records and seconds behind");
  status->add_option("--data-dir", args.data_dir, "Data directory (default ./ferry-data)");
  status->add_option("--config", args.config_file, "Take data.dir from this ferry.toml")
      ->check(CLI::ExistingFile);
  status->add_flag("--json", args.json, "Print JSON (with each partition's offset map)");
  auto* translate = mirror->add_subcommand(
      "translate", "The target offset of a forwarded source offset (the mirror's offset map)");
  translate->add_option("--mirror", args.mirror, "The [[mirror]] name")->required();
  translate->add_option("--topic", args.topic, "The source topic")->required();
  translate->add_option("--partition", args.partition, "The partition")
      ->required()
      ->check(CLI::NonNegativeNumber);
  translate->add_option("--offset", args.offset, "The source offset")
      ->required()
      ->check(CLI::NonNegativeNumber);
  translate->add_option("--data-dir", args.data_dir, "Data directory (default ./ferry-data)");
  translate->add_option("--config", args.config_file, "Take data.dir from this ferry.toml")
      ->check(CLI::ExistingFile);
  translate->add_flag("--json", args.json, "Print JSON");
  return {status, translate};
}

int run_mirror_status(const MirrorArgs& args) {
  const std::optional<std::string> dir = data_dir_of(args, "status");
  if (!dir) return 2;
  const std::string& data_dir = *dir;
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
  // The offset maps from meta.db, read once per mirror; null where there is none.
  std::map<std::string, std::optional<mirror::OffsetMaps>> maps;
  auto offset_map = [&](const mirror::StatusRow& r) -> std::string {
    auto it = maps.find(r.mirror);
    if (it == maps.end()) {
      Result<mirror::OffsetMaps> m = mirror::read_offset_maps(data_dir, r.mirror);
      it = maps.emplace(r.mirror, m ? std::optional(std::move(m).value()) : std::nullopt).first;
    }
    if (!it->second) return ",\"offset_map\":null";
    auto p = it->second->find({r.topic, r.partition});
    if (p == it->second->end()) return ",\"offset_map\":null";
    return ",\"offset_map\":" + mirror::offset_map_json(p->second);
  };
  std::fputs(args.json ? mirror::render_status_json(*s, offset_map).c_str()
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

int run_mirror_translate(const MirrorArgs& args) {
  const std::optional<std::string> dir = data_dir_of(args, "translate");
  if (!dir) return 2;
  Result<mirror::OffsetMaps> maps = mirror::read_offset_maps(*dir, args.mirror);
  if (!maps) {
    std::fprintf(stderr, "ferry mirror translate: %s\n", maps.error().message().c_str());
    return 1;
  }
  auto it = maps->find({args.topic, args.partition});
  if (it == maps->end()) {
    std::fprintf(stderr,
                 "ferry mirror translate: mirror '%s' has no checkpoint for %s/%d in %s/meta.db\n",
                 args.mirror.c_str(), args.topic.c_str(), args.partition, dir->c_str());
    return 1;
  }
  const mirror::PartitionOffsetMap& m = it->second;
  const mirror::Translation t = m.translate(Offset(args.offset));
  const bool exact = t.kind == mirror::TranslationKind::exact;
  if (args.json) {
    std::printf(
        "{\"mirror\":%s,\"topic\":%s,\"partition\":%d,\"offset\":%lld,\"target_offset\":%s,"
        "\"forwarded\":%lld,\"forwarded_target\":%lld,\"error\":%s}\n",
        json_string(args.mirror).c_str(), json_string(args.topic).c_str(), args.partition,
        static_cast<long long>(args.offset), exact ? std::to_string(t.target).c_str() : "null",
        static_cast<long long>(m.forwarded.value()), static_cast<long long>(m.forwarded_target),
        exact ? "null" : json_string(t.reason).c_str());
  } else if (exact) {
    std::printf("%lld\n", static_cast<long long>(t.target));
  }
  if (!exact) {
    std::fprintf(stderr, "ferry mirror translate: %s/%d: %s\n", args.topic.c_str(), args.partition,
                 t.reason.c_str());
    return 1;
  }
  return 0;
}

}  // namespace ferry::app
