// DescribeUserScramCredentials (key 50) and AlterUserScramCredentials (key 51): SCRAM users in
// meta.db and in the broker's credential cache.
//
// Describe answers from the cache: every user for a null or empty list, else each named user
// (RESOURCE_NOT_FOUND when it has no credential; DUPLICATE_RESOURCE when named twice), with its
// mechanisms and iteration counts only.
// Alter checks each user's changes (UNSUPPORTED_SASL_MECHANISM for an unknown mechanism,
// UNACCEPTABLE_CREDENTIAL for an empty name, empty salt or password, or iterations outside
// 4096-16384, DUPLICATE_RESOURCE for a (user, mechanism) named twice, RESOURCE_NOT_FOUND for
// deleting what does not exist), turns each upsertion's SaltedPassword into StoredKey and
// ServerKey, and commits each user's changes as one submission; the cache changes once that
// commits, and the response goes out when every user's submission is done.
// Authorization (ALTER / DESCRIBE on the cluster in Kafka) is the request path's check, not
// this file's.
#include "protocol/messages/scram_credentials.h"

#include <map>
#include <memory>
#include <set>

#include "broker/api_table.h"
#include "broker/auth/credentials.h"
#include "broker/broker.h"
#include "common/log.h"

namespace ferry::broker {
namespace {

namespace sc = protocol::scram;
using protocol::AlterUserScramCredentialsRequest;
using protocol::AlterUserScramCredentialsResponse;
using protocol::DescribeUserScramCredentialsRequest;
using protocol::DescribeUserScramCredentialsResponse;

std::optional<auth::Mechanism> from_code(int8_t code) {
  if (code == protocol::kScramSha256) return auth::Mechanism::scram_sha_256;
  if (code == protocol::kScramSha512) return auth::Mechanism::scram_sha_512;
  return std::nullopt;
}

int8_t to_code(auth::Mechanism m) {
  return m == auth::Mechanism::scram_sha_512 ? protocol::kScramSha512 : protocol::kScramSha256;
}

std::string as_string(const protocol::Bytes& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

struct UserChange {
  std::vector<meta::Mutation> mutations;
  std::vector<meta::ScramCredentialRecord> puts;
  std::vector<auth::Mechanism> deletes;
  int16_t error = 0;
  std::string message;
  void fail(ErrorCode code, std::string why) {
    if (error != 0) return;
    error = wire(code);
    message = std::move(why);
  }
};

}  // namespace

void handle_describe_user_scram_credentials(Broker& b, Request&& r) {
  DescribeUserScramCredentialsRequest req;
  if (!decode_body(r, req)) return;
  DescribeUserScramCredentialsResponse resp;
  const auto users = b.authenticator().credentials().users();
  auto describe = [&](const std::string& name) {
    DescribeUserScramCredentialsResponse::Result res;
    res.user = name;
    auto it = users.find(name);
    if (it == users.end()) {
      res.error_code = wire(ErrorCode::resource_not_found);
      res.error_message = "no SCRAM credential for user " + name;
    } else {
      for (const auto& [m, iterations] : it->second)
        res.credential_infos.push_back({to_code(m), iterations});
    }
    resp.results.push_back(std::move(res));
  };
  if (!req.users || req.users->empty()) {
    for (const auto& [name, creds] : users) describe(name);
  } else {
    std::map<std::string, int> seen;
    for (const auto& u : *req.users) ++seen[u.name];
    for (const auto& [name, count] : seen) {
      if (count > 1) {
        DescribeUserScramCredentialsResponse::Result res;
        res.user = name;
        res.error_code = wire(ErrorCode::duplicate_resource);
        res.error_message = "user " + name + " named more than once";
        resp.results.push_back(std::move(res));
      } else {
        describe(name);
      }
    }
  }
  respond(r, resp);
}

void handle_alter_user_scram_credentials(Broker& b, Request&& r) {
  AlterUserScramCredentialsRequest req;
  if (!decode_body(r, req)) return;
  auto& cache = b.authenticator().credentials();
  std::map<std::string, UserChange> changes;
  std::set<std::pair<std::string, int8_t>> named;
  for (const auto& d : req.deletions) {
    UserChange& c = changes[d.name];
    if (!named.insert({d.name, d.mechanism}).second) {
      c.fail(ErrorCode::duplicate_resource, "a mechanism of user " + d.name + " altered twice");
    }
    const auto m = from_code(d.mechanism);
    if (!m) {
      c.fail(ErrorCode::unsupported_sasl_mechanism, "unknown SCRAM mechanism");
    } else if (d.name.empty()) {
      c.fail(ErrorCode::unacceptable_credential, "empty user name");
    } else if (cache.find(d.name, *m) == nullptr) {
      c.fail(ErrorCode::resource_not_found,
             "no " + std::string(auth::mechanism_name(*m)) + " credential for user " + d.name);
    } else {
      c.mutations.push_back(
          meta::Mutation::delete_scram_credential(d.name, std::string(auth::mechanism_name(*m))));
      c.deletes.push_back(*m);
    }
  }
  for (const auto& u : req.upsertions) {
    UserChange& c = changes[u.name];
    if (!named.insert({u.name, u.mechanism}).second) {
      c.fail(ErrorCode::duplicate_resource, "a mechanism of user " + u.name + " altered twice");
    }
    const auto m = from_code(u.mechanism);
    if (!m) {
      c.fail(ErrorCode::unsupported_sasl_mechanism, "unknown SCRAM mechanism");
      continue;
    }
    if (u.name.empty() || u.salt.empty() || u.salted_password.empty()) {
      c.fail(ErrorCode::unacceptable_credential, "empty user name, salt or salted password");
      continue;
    }
    if (u.iterations < auth::kMinIterations || u.iterations > auth::kMaxIterations) {
      c.fail(ErrorCode::unacceptable_credential,
             "iterations must be between " + std::to_string(auth::kMinIterations) + " and " +
                 std::to_string(auth::kMaxIterations));
      continue;
    }
    const sc::Hash h = auth::scram_hash(*m);
    std::string salted = as_string(u.salted_password);
    std::string client_key = sc::hmac(h, salted, "Client Key");
    meta::ScramCredentialRecord rec;
    rec.user = u.name;
    rec.mechanism = std::string(auth::mechanism_name(*m));
    rec.salt = as_string(u.salt);
    rec.iterations = u.iterations;
    rec.stored_key = sc::hash(h, client_key);
    rec.server_key = sc::hmac(h, salted, "Server Key");
    sc::wipe(client_key);
    sc::wipe(salted);
    c.mutations.push_back(meta::Mutation::put_scram_credential(rec));
    c.puts.push_back(std::move(rec));
  }

  struct Pending {
    Request request;
    AlterUserScramCredentialsResponse response;
    size_t outstanding = 0;
  };
  auto pending = std::make_shared<Pending>();
  pending->request = std::move(r);
  for (auto& [user, c] : changes) {
    pending->response.results.push_back({user, c.error, std::nullopt});
    if (c.error != 0) {
      pending->response.results.back().error_message = c.message;
      continue;
    }
    const size_t index = pending->response.results.size() - 1;
    ++pending->outstanding;
    b.meta().submit(std::move(c.mutations), [&b, pending, index, user = user, puts = c.puts,
                                             deletes = c.deletes](Status st) {
      auto& result = pending->response.results[index];
      if (st) {
        auto& creds = b.authenticator().credentials();
        for (auto m : deletes) creds.erase(user, m);
        for (const auto& p : puts) creds.put(p);
        FERRY_LOG(info, "broker", "SCRAM credentials of user %s changed (%zu set, %zu deleted)",
                  log::escape(user).c_str(), puts.size(), deletes.size());
      } else {
        result.error_code = wire(ErrorCode::unknown_server_error);
        result.error_message = st.error().message();
      }
      if (--pending->outstanding == 0) respond(pending->request, pending->response);
    });
  }
  if (pending->outstanding == 0) respond(pending->request, pending->response);
}

}  // namespace ferry::broker
