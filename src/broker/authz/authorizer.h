// The authorizer: the broker's ACLs held in memory, indexed by resource type and name, and
// Kafka's rules for deciding one check:
//   - `authorizer.enabled` false: everything is allowed and nothing is looked up;
//   - a super user (`super.users`) is allowed everything;
//   - ACLs apply when their principal is the session's or User:*, their host is the peer's
//     address or *, and their resource pattern matches (literal name, the literal name *, or a
//     prefix of the name);
//   - a matching DENY for the operation (or ALL) wins over any ALLOW;
//   - an ALLOW of the operation or ALL allows; so does an ALLOW of READ, WRITE, DELETE or ALTER
//     for DESCRIBE, and of ALTER_CONFIGS for DESCRIBE_CONFIGS;
//   - nothing allowing it: denied (deny by default).
// A check costs a few hash and map look-ups and no allocation, so the hot path (Produce and
// Fetch, once per topic) can afford it. The ACLs themselves are persisted by acl_store (meta)
// and loaded here at start-up; changes are applied here after they are committed.
//
// Threading: owned by the Broker; every method runs on the loop thread.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/authz/acl.h"
#include "net/session.h"

namespace ferry::broker::authz {

struct AuthorizerConfig {
  bool enabled = false;
  std::vector<std::string> super_users;  // "User:admin"
};

class Authorizer {
 public:
  explicit Authorizer(AuthorizerConfig config);

  bool enabled() const noexcept { return config_.enabled; }
  bool is_super_user(const net::Principal& p) const;

  // Whether `who`, connected from `host`, may perform `op` on the resource `type`/`name` (for
  // the cluster, any name). Always true when the authorizer is disabled.
  bool authorize(const net::Principal& who, std::string_view host, Operation op, ResourceType type,
                 std::string_view name) const;
  bool authorize(const net::Session& s, Operation op, ResourceType type,
                 std::string_view name) const {
    return authorize(s.principal, s.peer_host, op, type, name);
  }
  // Whether some ACL allows `op` on some resource of `type` and no DENY on every resource
  // of it (the literal name *) takes that back (InitProducerId's "WRITE on any topic").
  bool authorize_any(const net::Session& s, Operation op, ResourceType type) const;

  // Replaces every ACL (start-up load).
  void reset(std::vector<AclBinding> acls);
  // Adds one ACL; false when it was there already.
  bool add(const AclBinding& b);
  // Removes one ACL; false when it was not there.
  bool remove(const AclBinding& b);
  // The ACLs `f` matches, in a stable order.
  std::vector<AclBinding> list(const AclFilter& f) const;
  size_t size() const noexcept { return acls_.size(); }

 private:
  struct Entry {
    std::string principal;
    std::string host;
    Operation operation;
    Permission permission;
  };
  using Entries = std::vector<Entry>;
  // Lets the literal map be searched with a string_view (no allocation per check).
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct TypeIndex {
    // Includes the wildcard name "*".
    std::unordered_map<std::string, Entries, NameHash, std::equal_to<>> literal;
    std::map<std::string, Entries, std::less<>> prefixed;
  };
  enum class Verdict { none, allow, deny };

  void rebuild();
  const TypeIndex* index_of(ResourceType t) const;
  // Folds `entries` into `v` (deny sticks) for one check.
  static void apply(const Entries& entries, const net::Principal& who, std::string_view host,
                    Operation op, Verdict& v);

  AuthorizerConfig config_;
  std::set<AclBinding> acls_;
  std::map<ResourceType, TypeIndex> index_;
};

// Whether the ACL principal `acl_principal` ("User:alice", "User:*") names `who`.
bool principal_matches(std::string_view acl_principal, const net::Principal& who);

}  // namespace ferry::broker::authz
