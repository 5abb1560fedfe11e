// `ferry cluster status`: what a ferry cluster looks like, merged from the admin listeners of
// one or more of its nodes (their /v1/status "cluster" member, cluster/cluster_status.h).
//
//   ferry cluster status [--json] [--admin HOST:PORT[,HOST:PORT...]] [--config FILE]
//                        [--timeout-ms N]
//
// Prints the nodes (address, whether their admin listener answered, which nodes have their
// link to them up or down, the controller), per partition its leader, leader epoch, replicas,
// ISR and offline replicas with the node the figures came from, the followers' lag as each
// partition's leader sees it, and the under-replicated partitions. A node knows follower lag
// only for the partitions it leads: ask every node's admin listener for the whole picture.
// Without --admin, the admin.listen of --config (default ./ferry.toml when it exists, else
// 127.0.0.1:9644); with admin.basic.auth.user in that file, its credentials are sent.
// Exit codes: 0 at least one node answered, 1 none did, 2 usage.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace ferry::app {

struct ClusterArgs {
  std::vector<std::string> admin;  // host:port
  std::string config_file;
  bool json = false;
  int64_t timeout_ms = 3000;
};

// Adds `cluster` (with `status`) to `app`; returns the `status` subcommand.
CLI::App* add_cluster_command(CLI::App& app, ClusterArgs& args);

int run_cluster_status(const ClusterArgs& args);

}  // namespace ferry::app
