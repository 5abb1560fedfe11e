// `ferry acls`: kafka-acls.sh's --add, --remove and --list over the Admin ACL calls.
#include "app/acls_cmd.h"

#include <cctype>
#include <cstdio>
#include <map>
#include <tuple>
#include <utility>

#include "app/cli_common.h"
#include "broker/authz/acl.h"
#include "client/admin.h"

namespace ferry::app {
namespace {

constexpr std::string_view kCommand = "acls";

namespace authz = broker::authz;
using client::AclEntry;

struct Resource {
  authz::ResourceType type;
  std::string name;
};

template <typename E>
int8_t code(E e) {
  return static_cast<int8_t>(e);
}

template <typename E>
std::string_view name_or_code(std::optional<E> e, int8_t c, std::string& scratch) {
  if (e) return authz::name_of(*e);
  scratch = std::to_string(c);
  return scratch;
}

std::string pattern_text(const AclEntry& a) {
  std::string s1, s2, s3;
  std::string out = "ResourcePattern(resourceType=";
  out += name_or_code(authz::resource_type_from_code(a.resource_type), a.resource_type, s1);
  out += ", name=" + a.resource_name + ", patternType=";
  out += name_or_code(authz::pattern_type_from_code(a.pattern_type), a.pattern_type, s2);
  out += ")";
  (void)s3;
  return out;
}

std::string entry_text(const AclEntry& a) {
  std::string s1, s2;
  std::string out = "(principal=" + a.principal + ", host=" + a.host + ", operation=";
  out += name_or_code(authz::operation_from_code(a.operation), a.operation, s1);
  out += ", permissionType=";
  out += name_or_code(authz::permission_from_code(a.permission), a.permission, s2);
  out += ")";
  return out;
}

// Prints ACLs grouped by resource pattern, as kafka-acls.sh does.
void print_acls(const char* heading, const std::vector<AclEntry>& acls) {
  std::map<std::tuple<int8_t, std::string, int8_t>, std::vector<const AclEntry*>> by_resource;
  for (const auto& a : acls) {
    by_resource[{a.resource_type, a.resource_name, a.pattern_type}].push_back(&a);
  }
  for (const auto& [key, entries] : by_resource) {
    std::printf("%s `%s`:\n", heading, pattern_text(*entries.front()).c_str());
    for (const AclEntry* a : entries) std::printf(" \t%s \n", entry_text(*a).c_str());
    std::printf("\n");
  }
}

template <typename T, typename Start>
client::KafkaResult<T> run(Session& s, Start&& start) {
  return s.run<T>(std::forward<Start>(start));
}

}  // namespace

CLI::App* add_acls_command(CLI::App& app, AclsArgs& a) {
  auto* c = app.add_subcommand("acls", "Add, remove and list ACLs (like kafka-acls.sh)");
  c->add_option("--bootstrap", a.bootstrap, "HOST:PORT of a broker (default 127.0.0.1:9092)");
  add_sasl_options(c, a.sasl);
  c->add_flag("--add", a.add, "Add ACLs");
  c->add_flag("--remove", a.remove, "Remove ACLs");
  c->add_flag("--list", a.list, "List ACLs");
  c->add_option("--allow-principal", a.allow_principals,
                "Principal the ACLs allow, e.g. User:alice or User:* (repeatable)");
  c->add_option("--deny-principal", a.deny_principals, "Principal the ACLs deny (repeatable)");
  c->add_option("--allow-host", a.allow_hosts, "Host of --allow-principal (default *)");
  c->add_option("--deny-host", a.deny_hosts, "Host of --deny-principal (default *)");
  c->add_option("--principal", a.principals, "--list: only ACLs of this principal");
  c->add_option("--operation", a.operations,
                "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, "
                "AlterConfigs, IdempotentWrite or All (repeatable; default All)");
  c->add_option("--topic", a.topics, "Topic resource (repeatable; * for every topic)");
  c->add_option("--group", a.groups, "Consumer group resource (repeatable; * for every group)");
  c->add_flag("--cluster", a.cluster, "The cluster resource");
  c->add_option("--resource-pattern-type", a.pattern_type,
                "literal or prefixed; for --list and --remove also any or match (default literal)");
  c->add_option("--timeout", a.timeout_ms, "Connect and request timeout in ms (default 10000)")
      ->check(CLI::Range(1u, 3'600'000u));
  return c;
}

int run_acls(const AclsArgs& args) {
  if (int{args.add} + int{args.remove} + int{args.list} != 1) {
    return usage(kCommand, "give exactly one of --add, --remove, --list");
  }
  auto pattern = authz::parse_pattern_type(args.pattern_type);
  if (!pattern || *pattern == authz::PatternType::unknown) {
    return usage(kCommand, "--resource-pattern-type must be literal, prefixed, any or match");
  }
  if (args.add && *pattern != authz::PatternType::literal &&
      *pattern != authz::PatternType::prefixed) {
    return usage(kCommand, "--add takes --resource-pattern-type literal or prefixed");
  }
  std::vector<Resource> resources;
  for (const auto& t : args.topics) resources.push_back({authz::ResourceType::topic, t});
  for (const auto& g : args.groups) resources.push_back({authz::ResourceType::group, g});
  if (args.cluster) {
    resources.push_back({authz::ResourceType::cluster, std::string(authz::kClusterName)});
  }
  std::vector<authz::Operation> ops;
  for (const auto& o : args.operations) {
    std::string name = o;
    // kafka-acls.sh's CamelCase names (IdempotentWrite) as well as Kafka's enum names.
    std::string snake;
    for (size_t i = 0; i < name.size(); ++i) {
      if (i > 0 && std::isupper(static_cast<unsigned char>(name[i])) &&
          std::islower(static_cast<unsigned char>(name[i - 1]))) {
        snake += '_';
      }
      snake += name[i];
    }
    auto op = authz::parse_operation(snake);
    if (!op || *op == authz::Operation::any) {
      return usage(kCommand, "--operation '" + o + "' is not an ACL operation");
    }
    ops.push_back(*op);
  }
  if (ops.empty() && args.add) ops.push_back(authz::Operation::all);
  const bool has_principals = !args.allow_principals.empty() || !args.deny_principals.empty();
  if (args.add && (resources.empty() || !has_principals)) {
    return usage(kCommand,
                 "--add needs a resource (--topic, --group, --cluster) and --allow-principal or "
                 "--deny-principal");
  }
  if (args.list && has_principals) {
    return usage(kCommand, "--list filters with --principal, not --allow/--deny-principal");
  }
  if (!args.list && !args.principals.empty())
    return usage(kCommand, "--principal goes with --list");
  if (args.remove && resources.empty()) {
    return usage(kCommand, "--remove needs a resource (--topic, --group, --cluster)");
  }

  // (principal, host, permission) triples from the allow and deny options.
  struct Who {
    std::string principal;
    std::string host;
    authz::Permission permission;
  };
  std::vector<Who> who;
  auto add_who = [&](const std::vector<std::string>& principals,
                     const std::vector<std::string>& hosts, authz::Permission p) {
    std::vector<std::string> hs = hosts.empty() ? std::vector<std::string>{"*"} : hosts;
    for (const auto& pr : principals) {
      for (const auto& h : hs) who.push_back({pr, h, p});
    }
  };
  add_who(args.allow_principals, args.allow_hosts, authz::Permission::allow);
  add_who(args.deny_principals, args.deny_hosts, authz::Permission::deny);

  auto bootstrap = parse_bootstrap(args.bootstrap);
  if (!bootstrap) return usage(kCommand, bootstrap.error().message());
  auto sasl = security_config(args.sasl);
  if (!sasl) return usage(kCommand, sasl.error().message());
  Session s(*bootstrap, args.timeout_ms, "ferry-acls", std::move(sasl).value());
  client::Admin admin(s.client());

  if (args.add) {
    std::vector<AclEntry> acls;
    for (const auto& r : resources) {
      for (const auto& w : who) {
        for (auto op : ops) {
          AclEntry a{code(r.type), r.name,   code(*pattern),    w.principal,
                     w.host,       code(op), code(w.permission)};
          authz::AclBinding b{r.type, r.name, *pattern, w.principal, w.host, op, w.permission};
          if (auto why = authz::invalid_reason(b); !why.empty()) {
            return usage(kCommand, "ACL " + b.to_string() + ": " + why);
          }
          acls.push_back(std::move(a));
        }
      }
    }
    auto res = run<std::vector<std::optional<client::KafkaError>>>(
        s, [&](auto done) { admin.create_acls(acls, std::move(done)); });
    if (!res) return kafka_failure(kCommand, res.error());
    int rc = kOk;
    for (size_t i = 0; i < res->size() && i < acls.size(); ++i) {
      if ((*res)[i]) rc = kafka_failure(kCommand, *(*res)[i]);
    }
    if (rc == kOk) print_acls("Adding ACLs for resource", acls);
    return rc;
  }

  // --list and --remove: filters.
  std::vector<protocol::AclFilter> filters;
  auto base = [&](const Resource* r) {
    protocol::AclFilter f;
    f.pattern_type = code(*pattern);
    if (r != nullptr) {
      f.resource_type = code(r->type);
      f.resource_name = r->name;
    }
    return f;
  };
  std::vector<const Resource*> targets;
  for (const auto& r : resources) targets.push_back(&r);
  if (targets.empty()) targets.push_back(nullptr);
  if (args.list && resources.empty() && *pattern == authz::PatternType::literal) {
    // kafka-acls.sh --list with no resource lists everything.
    targets = {nullptr};
  }
  for (const Resource* r : targets) {
    if (args.list) {
      if (args.principals.empty()) {
        auto f = base(r);
        if (r == nullptr) f.pattern_type = code(authz::PatternType::any);
        filters.push_back(f);
      }
      for (const auto& p : args.principals) {
        auto f = base(r);
        if (r == nullptr) f.pattern_type = code(authz::PatternType::any);
        f.principal = p;
        filters.push_back(f);
      }
      continue;
    }
    if (who.empty()) {
      auto f = base(r);
      for (auto op : ops) {
        f.operation = code(op);
        filters.push_back(f);
      }
      if (ops.empty()) filters.push_back(f);
      continue;
    }
    for (const auto& w : who) {
      auto f = base(r);
      f.principal = w.principal;
      f.host = w.host;
      f.permission_type = code(w.permission);
      if (ops.empty()) filters.push_back(f);
      for (auto op : ops) {
        f.operation = code(op);
        filters.push_back(f);
      }
    }
  }
  if (args.list) {
    std::vector<AclEntry> all;
    for (auto& f : filters) {
      auto res = run<std::vector<AclEntry>>(
          s, [&](auto done) { admin.describe_acls(f, std::move(done)); });
      if (!res) return kafka_failure(kCommand, res.error());
      for (auto& a : *res) all.push_back(std::move(a));
    }
    print_acls("Current ACLs for resource", all);
    return kOk;
  }
  auto res = run<std::vector<AclEntry>>(
      s, [&](auto done) { admin.delete_acls(filters, std::move(done)); });
  if (!res) return kafka_failure(kCommand, res.error());
  print_acls("Removed ACLs for resource", *res);
  return kOk;
}

}  // namespace ferry::app
