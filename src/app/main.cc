// The `ferry` executable: parses the command line and runs a subcommand.
//
// Exit codes: 0 ok, 1 failure, 2 usage error.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "admin/build_info.h"
#include "app/acls_cmd.h"
#include "app/cluster_cmd.h"
#include "app/config_cmd.h"
#include "app/consume_cmd.h"
#include "app/data_cmd.h"
#include "app/flash_check.h"
#include "app/groups_cmd.h"
#include "app/mirror_cmd.h"
#include "app/produce_cmd.h"
#include "app/serve.h"
#include "app/topics_cmd.h"
#include "app/users_cmd.h"
#include "common/log.h"
#include "common/log_format.h"
#include "meta/store.h"
#include "platform/crc32c.h"
#include "platform/file.h"
#include "protocol/record_batch.h"
#include "storage/log.h"

namespace ferry {
namespace {

int fail(const char* what, const Error& e) {
  std::fprintf(stderr, "selfcheck: %s: %s\n", what, e.to_string().c_str());
  return 1;
}

// Storage self-check: times small durable writes and reads the free space (flash_check.h;
// fails below `min_free` bytes), writes batches to a scratch partition log under `data_dir`,
// makes them durable, reopens the log (running recovery), reads everything back and compares
// bytes, then does the same round trip through the metadata store. Removes what it wrote.
int selfcheck(const std::string& data_dir, int batches, uint64_t min_free) {
  std::string dir = data_dir + "/selfcheck-" + std::to_string(::getpid());
  if (auto st = platform::create_dirs(dir); !st) return fail("create data dir", st.error());
  struct Cleanup {
    std::string dir;
    ~Cleanup() { (void)platform::remove_tree(dir); }
  } cleanup{dir};

  std::printf("crc32c implementation: %s\n", platform::crc32c_implementation());
  constexpr int kFlashRounds = 5;
  auto flash = app::check_flash(dir, kFlashRounds, 4096);
  if (!flash) return fail("flash check", flash.error());
  std::printf(
      "flash: %d x (4 KiB write + fdatasync) in %s: min %.2f ms, median %.2f ms, max %.2f ms\n",
      kFlashRounds, data_dir.c_str(), flash->min_ms, flash->median_ms, flash->max_ms);
  if (flash->median_ms < 0.05) {
    std::printf(
        "flash: note: under 0.05 ms per fdatasync is too fast for flash; the writes may "
        "stop in a volatile cache (tmpfs, a write-back cache without power-loss protection)\n");
  }
  std::printf("free space in %s: %.1f MiB of %.1f MiB\n", data_dir.c_str(),
              static_cast<double>(flash->available_bytes) / (1 << 20),
              static_cast<double>(flash->total_bytes) / (1 << 20));
  if (flash->available_bytes < min_free) {
    std::fprintf(stderr,
                 "selfcheck: %" PRIu64 " bytes free in %s, below log.dir.min.free.bytes (%" PRIu64
                 "): the broker would refuse produce requests\n",
                 flash->available_bytes, data_dir.c_str(), min_free);
    return 1;
  }

  std::vector<std::vector<std::byte>> sent;
  std::string value(200, 'v');
  for (int i = 0; i < batches; ++i) {
    std::string key = "sensor-" + std::to_string(i % 16);
    std::vector<protocol::RecordInput> records(10, {key, value, 1'700'000'000'000 + i, {}});
    protocol::BuildOptions options;
    options.compression = i % 2 ? protocol::Compression::lz4 : protocol::Compression::none;
    auto b = protocol::build_batch(records, options);
    if (!b) return fail("build batch", b.error());
    sent.push_back(std::move(b).value());
  }

  storage::LogConfig config;
  config.segment_bytes = 256 << 10;  // several segments, so rolls are exercised too
  std::string log_dir = dir + "/logs/selfcheck-0";
  {
    auto log = storage::Log::open(log_dir, config);
    if (!log) return fail("open log", log.error());
    for (auto& b : sent) {
      auto info = (*log)->append(b);
      if (!info) return fail("append", info.error());
      protocol::set_base_offset(b, info->base_offset);
    }
    auto start = std::chrono::steady_clock::now();
    (*log)->flush();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    if ((*log)->durable_offset() != (*log)->log_end_offset()) {
      std::fprintf(stderr, "selfcheck: flush did not make the log durable\n");
      return 1;
    }
    std::printf("fdatasync of %zu batches: %.2f ms\n", sent.size(), static_cast<double>(us) / 1e3);
  }
  auto log = storage::Log::open(log_dir, config);
  if (!log) return fail("reopen log", log.error());
  auto read = (*log)->read(Offset(0), size_t{64} << 20);
  if (!read) return fail("read", read.error());
  std::vector<std::byte> expect;
  for (const auto& b : sent) expect.insert(expect.end(), b.begin(), b.end());
  if (read->data != expect) {
    std::fprintf(stderr, "selfcheck: read-back differs from what was written\n");
    return 1;
  }
  std::printf("log: %d batches, %" PRId64 " records in %zu segments read back identical\n", batches,
              (*log)->log_end_offset().value(), (*log)->segment_count());

  auto store = meta::MetaStore::open(dir + "/meta.db", nullptr);
  if (!store) return fail("open meta.db", store.error());
  meta::TopicRecord topic;
  topic.name = "selfcheck";
  topic.partitions = 1;
  topic.configs = {{"retention.ms", "3600000"}};
  if (auto st = (*store)->submit_sync({meta::Mutation::create_topic(topic)}); !st) {
    return fail("write meta.db", st.error());
  }
  auto got = (*store)->get_topic("selfcheck");
  if (!got || !*got || (*got)->configs != topic.configs) {
    std::fprintf(stderr, "selfcheck: metadata round trip failed\n");
    return 1;
  }
  std::printf("meta.db: schema version %d, topic round trip ok\n", (*store)->schema_version());
  std::printf("selfcheck ok\n");
  return 0;
}

}  // namespace
}  // namespace ferry

int main(int argc, char** argv) {
  CLI::App app{"ferry — a small Kafka-compatible message broker for the edge"};
  app.require_subcommand(0, 1);
  app.fallthrough();  // global options such as --log-level may follow the subcommand
  bool version = false;
  app.add_flag("--version", version, "Print the version and exit");
  std::string level = "info";
  app.add_option("--log-level", level, "trace, debug, info, warn, error or off");

  auto* check = app.add_subcommand(
      "selfcheck", "Check this machine's storage: write, fsync, recover and read back a log");
  std::string data_dir = "./ferry-data";
  int batches = 2000;
  check->add_option("--data-dir", data_dir, "Data directory to test (default ./ferry-data)");
  check->add_option("--batches", batches, "Record batches to write")->check(CLI::Range(1, 1000000));
  std::string check_config_file;
  check->add_option("--config", check_config_file,
                    "Also validate this configuration file and test its data.dir");
  ferry::app::ConfigArgs config_args;
  auto* config_check = ferry::app::add_config_command(app, config_args);

  auto* serve = app.add_subcommand(
      "serve", "Run the broker (defaults: data in ./ferry-data, listener 127.0.0.1:9092)");
  ferry::app::ServeArgs serve_args;
  serve->add_option("--config", serve_args.config_file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  serve->add_option("--data-dir", serve_args.data_dir, "Data directory (overrides the file)");
  serve->add_option("--listen", serve_args.listen, "HOST:PORT to listen on");
  serve->add_option("--advertised", serve_args.advertised, "HOST:PORT given to clients");
  serve->add_option("--node-id", serve_args.node_id, "This broker's node id");

  ferry::app::GroupsArgs groups_args;
  auto* groups = ferry::app::add_groups_command(app, groups_args);
  ferry::app::TopicsArgs topics_args;
  auto* topics = ferry::app::add_topics_command(app, topics_args);
  ferry::app::ProduceArgs produce_args;
  auto* produce = ferry::app::add_produce_command(app, produce_args);
  ferry::app::ConsumeArgs consume_args;
  auto* consume = ferry::app::add_consume_command(app, consume_args);
  ferry::app::DataArgs data_args;
  auto* prune = ferry::app::add_data_command(app, data_args);
  ferry::app::AclsArgs acls_args;
  auto* acls = ferry::app::add_acls_command(app, acls_args);
  ferry::app::UsersArgs users_args;
  auto* users = ferry::app::add_users_command(app, users_args);
  ferry::app::MirrorArgs mirror_args;
  const auto mirror_cmds = ferry::app::add_mirror_command(app, mirror_args);
  ferry::app::ClusterArgs cluster_args;
  auto* cluster_status = ferry::app::add_cluster_command(app, cluster_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  ferry::log::Level lvl;
  if (!ferry::log::parse_level(level, &lvl)) {
    std::fprintf(stderr, "ferry: unknown log level '%s'\n", level.c_str());
    return 2;
  }
  ferry::log::set_level(lvl);
  ferry::log::set_format(ferry::log::detect_format());

  if (version) {
    const std::string_view v = ferry::build::version();
    const std::string_view c = ferry::build::commit();
    const std::string_view t = ferry::build::build_type();
    std::printf("ferry %.*s (commit %.*s, %.*s build, crc32c: %s)\n", static_cast<int>(v.size()),
                v.data(), static_cast<int>(c.size()), c.data(), static_cast<int>(t.size()),
                t.data(), ferry::platform::crc32c_implementation());
    return 0;
  }
  if (config_check->parsed()) return ferry::app::run_config_check(config_args);
  if (check->parsed()) {
    auto min_free = static_cast<uint64_t>(ferry::config::BrokerConfig{}.log_dir_min_free_bytes);
    if (!check_config_file.empty()) {
      const ferry::app::ConfigCheck cc = ferry::app::check_config(check_config_file);
      for (const auto& p : cc.problems) std::fprintf(stderr, "selfcheck: config: %s\n", p.c_str());
      if (!cc.ok()) return 1;
      std::printf("config: %s\n",
                  ferry::app::config_ok_line(check_config_file, *cc.config).c_str());
      if (check->count("--data-dir") == 0) data_dir = cc.config->data_dir;
      min_free = static_cast<uint64_t>(cc.config->log_dir_min_free_bytes);
    }
    return ferry::selfcheck(data_dir, batches, min_free);
  }
  if (groups->parsed()) return ferry::app::run_groups(groups_args);
  if (users->parsed()) return ferry::app::run_users(users, users_args);
  if (topics->parsed()) return ferry::app::run_topics(topics_args);
  if (produce->parsed()) return ferry::app::run_produce(produce_args);
  if (consume->parsed()) return ferry::app::run_consume(consume_args);
  if (prune->parsed()) return ferry::app::run_data_prune(data_args);
  if (acls->parsed()) return ferry::app::run_acls(acls_args);
  if (mirror_cmds.status->parsed()) return ferry::app::run_mirror_status(mirror_args);
  if (mirror_cmds.translate->parsed()) return ferry::app::run_mirror_translate(mirror_args);
  if (cluster_status->parsed()) return ferry::app::run_cluster_status(cluster_args);
  if (serve->parsed()) {
    if (app.count("--log-level") > 0) serve_args.log_level = level;
    return ferry::app::serve(serve_args);
  }
  std::fputs(app.help().c_str(), stdout);
  return 0;
}
