// `ferry acls`: add, remove and list ACLs on a running broker, after Kafka's kafka-acls.sh.
//
//   ferry acls [--bootstrap HOST:PORT] --add --allow-principal User:alice [--allow-host H]
//              --operation Read [--operation Describe ...] --topic orders [--group g ...]
//              [--cluster] [--resource-pattern-type literal|prefixed]
//   ferry acls --add --deny-principal User:mallory [--deny-host H] --operation Write --topic T
//   ferry acls --remove [principals, hosts, operations as for --add] --topic T
//              [--resource-pattern-type literal|prefixed|any|match]
//   ferry acls --list [--principal User:alice] [--topic T ...]
//              [--resource-pattern-type literal|prefixed|any|match]
//
// Every combination of resource, principal, host and operation given is one ACL (--operation
// defaults to ALL, hosts to *). --remove without a principal removes every ACL of the named
// resources; --list without a resource lists every ACL. Operations and pattern types are
// case-insensitive Kafka names (Read, DESCRIBE_CONFIGS, IdempotentWrite). It speaks
// CreateAcls, DescribeAcls and DeleteAcls through the client library's Admin (client/admin.h)
// and so works against any Kafka-compatible broker. Exit codes: 0 ok, 1 a Kafka or connection
// error, 2 usage.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/cli_session.h"

namespace ferry::app {

struct AclsArgs {
  std::string bootstrap = "127.0.0.1:9092";
  SaslArgs sasl;
  bool add = false;
  bool remove = false;
  bool list = false;
  std::vector<std::string> allow_principals;
  std::vector<std::string> deny_principals;
  std::vector<std::string> allow_hosts;
  std::vector<std::string> deny_hosts;
  std::vector<std::string> principals;  // --principal, a --list filter
  std::vector<std::string> operations;
  std::vector<std::string> topics;
  std::vector<std::string> groups;
  bool cluster = false;
  std::string pattern_type = "literal";
  uint32_t timeout_ms = 10'000;
};

// Adds the `acls` subcommand and its options to `app`, filling `args` when parsed.
CLI::App* add_acls_command(CLI::App& app, AclsArgs& args);

// Runs the parsed command; returns the process exit code.
int run_acls(const AclsArgs& args);

}  // namespace ferry::app
