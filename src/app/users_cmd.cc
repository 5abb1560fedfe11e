// `ferry users add|list|delete` (see users_cmd.h).
#include "app/users_cmd.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

#include "app/cli_common.h"
#include "broker/auth/credentials.h"
#include "client/admin.h"
#include "meta/store.h"
#include "platform/file.h"
#include "protocol/scram_crypto.h"

namespace ferry::app {
namespace {

constexpr std::string_view kCommand = "users";

// The password file's content without one trailing newline (as --sasl-password-file).
Result<std::string> read_password(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return Error(Errc::invalid_argument, "--password-file " + path + ": " + std::strerror(errno));
  std::string out;
  char buf[512];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (bad) return Error(Errc::invalid_argument, "--password-file " + path + ": read error");
  if (!out.empty() && out.back() == '\n') out.pop_back();
  if (!out.empty() && out.back() == '\r') out.pop_back();
  if (out.empty()) return Error(Errc::invalid_argument, "--password-file " + path + " is empty");
  return out;
}

int store_failure(const Error& e) {
  std::fprintf(stderr, "ferry %.*s: %s\n", static_cast<int>(kCommand.size()), kCommand.data(),
               e.to_string().c_str());
  return kKafkaError;
}

Result<std::unique_ptr<meta::MetaStore>> open_store(const std::string& dir) {
  FERRY_TRY(platform::create_dirs(dir));
  return meta::MetaStore::open(dir + "/meta.db", nullptr);
}

void print_users(const std::map<std::string, std::vector<std::pair<std::string, int32_t>>>& users) {
  for (const auto& [user, mechs] : users) {
    std::printf("%s", user.c_str());
    for (const auto& [m, it] : mechs) std::printf(" %s(iterations=%d)", m.c_str(), it);
    std::printf("\n");
  }
  if (users.empty()) std::printf("no SCRAM users\n");
}

int offline(const std::string& action, const UsersArgs& a, std::optional<broker::auth::Mechanism> m,
            const std::string& password) {
  auto store = open_store(*a.data_dir);
  if (!store) return store_failure(store.error());
  int rc = kOk;
  if (action == "add") {
    auto cred = broker::auth::make_credential(*a.user, *m, password, a.iterations);
    if (!cred) return usage(kCommand, cred.error().message());
    if (auto st = (*store)->submit_sync({meta::Mutation::put_scram_credential(*cred)}); !st) {
      rc = store_failure(st.error());
    } else {
      std::printf("%s credential of user %s stored in %s/meta.db\n",
                  std::string(broker::auth::mechanism_name(*m)).c_str(), a.user->c_str(),
                  a.data_dir->c_str());
    }
  } else if (action == "delete") {
    const std::string mech = m ? std::string(broker::auth::mechanism_name(*m)) : std::string();
    if (auto st = (*store)->submit_sync({meta::Mutation::delete_scram_credential(*a.user, mech)});
        !st) {
      rc = store_failure(st.error());
    } else {
      std::printf("deleted %s credential(s) of user %s\n", mech.empty() ? "every" : mech.c_str(),
                  a.user->c_str());
    }
  } else {
    auto rows = (*store)->list_scram_credentials();
    if (!rows) {
      rc = store_failure(rows.error());
    } else {
      std::map<std::string, std::vector<std::pair<std::string, int32_t>>> users;
      for (const auto& r : *rows) users[r.user].emplace_back(r.mechanism, r.iterations);
      print_users(users);
    }
  }
  (*store)->close();
  return rc;
}

client::SaslMechanism client_mechanism(broker::auth::Mechanism m) {
  return m == broker::auth::Mechanism::scram_sha_512 ? client::SaslMechanism::scram_sha_512
                                                     : client::SaslMechanism::scram_sha_256;
}

int online(const std::string& action, const UsersArgs& a, std::optional<broker::auth::Mechanism> m,
           std::string password) {
  auto bootstrap = parse_bootstrap(*a.bootstrap);
  if (!bootstrap) return usage(kCommand, bootstrap.error().message());
  auto sasl = security_config(a.sasl);
  if (!sasl) return usage(kCommand, sasl.error().message());
  Session s(*bootstrap, a.timeout_ms, "ferry-users", std::move(sasl).value());
  client::Admin admin(s.client());
  if (action == "list") {
    auto r = s.run<std::vector<client::ScramUserDescription>>(
        [&](auto done) { admin.describe_user_scram_credentials(std::nullopt, std::move(done)); });
    if (!r) return kafka_failure(kCommand, r.error());
    std::map<std::string, std::vector<std::pair<std::string, int32_t>>> users;
    for (const auto& d : *r) {
      auto& list = users[d.user];
      for (const auto& [mech, it] : d.mechanisms)
        list.emplace_back(std::string(client::sasl_mechanism_name(mech)), it);
    }
    print_users(users);
    return kOk;
  }
  std::vector<client::ScramDeletion> deletions;
  std::vector<client::ScramUpsertion> upsertions;
  if (action == "add") {
    upsertions.push_back({*a.user, client_mechanism(*m), a.iterations, std::move(password), {}});
  } else if (m) {
    deletions.push_back({*a.user, client_mechanism(*m)});
  } else {
    // Every mechanism the user has.
    auto d = s.run<std::vector<client::ScramUserDescription>>([&](auto done) {
      admin.describe_user_scram_credentials(std::vector<std::string>{*a.user}, std::move(done));
    });
    if (!d) return kafka_failure(kCommand, d.error());
    for (const auto& u : *d) {
      if (u.error) return kafka_failure(kCommand, *u.error);
      for (const auto& [mech, it] : u.mechanisms) deletions.push_back({u.user, mech});
    }
  }
  auto r = s.run<std::vector<client::TopicOutcome>>([&](auto done) {
    admin.alter_user_scram_credentials(std::move(deletions), std::move(upsertions),
                                       std::move(done));
  });
  protocol::scram::wipe(password);
  if (!r) return kafka_failure(kCommand, r.error());
  for (const auto& o : *r) {
    if (o.error) return kafka_failure(kCommand, *o.error);
  }
  std::printf("%s user %s\n", action == "add" ? "stored" : "deleted", a.user->c_str());
  return kOk;
}

}  // namespace

CLI::App* add_users_command(CLI::App& app, UsersArgs& args) {
  auto* users = app.add_subcommand("users", "Manage SASL SCRAM users (offline or online)");
  users->require_subcommand(1);
  auto common = [&args](CLI::App* c) {
    c->add_option("--data-dir", args.data_dir, "Data directory to change offline");
    c->add_option("--bootstrap", args.bootstrap, "HOST:PORT of a running broker");
    c->add_option("--timeout-ms", args.timeout_ms, "Request timeout (online)");
    add_sasl_options(c, args.sasl);
  };
  auto* add = users->add_subcommand("add", "Create or replace a user's SCRAM credential");
  add->add_option("--user", args.user, "User name")->required();
  add->add_option("--mechanism", args.mechanism, "SCRAM-SHA-256 (default) or SCRAM-SHA-512");
  add->add_option("--password-file", args.password_file, "File holding the password")->required();
  add->add_option("--iterations", args.iterations, "PBKDF2 iterations (4096-16384)")
      ->check(CLI::Range(broker::auth::kMinIterations, broker::auth::kMaxIterations));
  common(add);
  auto* list = users->add_subcommand("list", "List users and their mechanisms");
  common(list);
  auto* del = users->add_subcommand("delete", "Delete a user's credentials");
  del->add_option("--user", args.user, "User name")->required();
  del->add_option("--mechanism", args.mechanism, "Only this mechanism (default: every one)");
  common(del);
  return users;
}

int run_users(CLI::App* users_cmd, const UsersArgs& args) {
  std::string action;
  for (const char* name : {"add", "list", "delete"}) {
    if (users_cmd->get_subcommand(name)->parsed()) action = name;
  }
  if (action.empty()) return usage(kCommand, "give add, list or delete");
  if (args.data_dir.has_value() == args.bootstrap.has_value())
    return usage(kCommand, "give exactly one of --data-dir (offline) and --bootstrap (online)");
  std::optional<broker::auth::Mechanism> m;
  if (args.mechanism) {
    m = broker::auth::parse_mechanism(*args.mechanism);
    if (!m || *m == broker::auth::Mechanism::plain)
      return usage(kCommand, "--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512");
  } else if (action == "add") {
    m = broker::auth::Mechanism::scram_sha_256;
  }
  std::string password;
  if (action == "add") {
    auto p = read_password(*args.password_file);
    if (!p) return usage(kCommand, p.error().message());
    password = std::move(p).value();
  }
  if (args.data_dir) {
    const int rc = offline(action, args, m, password);
    protocol::scram::wipe(password);
    return rc;
  }
  return online(action, args, m, std::move(password));
}

}  // namespace ferry::app
