// The in-memory ACL index and Kafka's decision rules. See authorizer.h.
#include "broker/authz/authorizer.h"

#include <utility>

namespace ferry::broker::authz {
namespace {

// Whether an ALLOW of `granted` allows `wanted` (ALL and the implied operations).
bool allow_covers(Operation granted, Operation wanted) {
  if (granted == wanted || granted == Operation::all) return true;
  switch (wanted) {
    case Operation::describe:
      return granted == Operation::read || granted == Operation::write ||
             granted == Operation::del || granted == Operation::alter;
    case Operation::describe_configs: return granted == Operation::alter_configs;
    default: return false;
  }
}

// A DENY takes away only the operation it names (or ALL), never what it would imply.
bool deny_covers(Operation denied, Operation wanted) {
  return denied == wanted || denied == Operation::all;
}

}  // namespace

bool principal_matches(std::string_view acl_principal, const net::Principal& who) {
  const size_t colon = acl_principal.find(':');
  if (colon == std::string_view::npos) return false;
  if (acl_principal.substr(0, colon) != who.type) return false;
  const std::string_view name = acl_principal.substr(colon + 1);
  return name == kWildcard || name == who.name;
}

Authorizer::Authorizer(AuthorizerConfig config) : config_(std::move(config)) {}

bool Authorizer::is_super_user(const net::Principal& p) const {
  for (const auto& s : config_.super_users) {
    const size_t colon = s.find(':');
    if (colon == std::string::npos) continue;
    if (std::string_view(s).substr(0, colon) == p.type &&
        std::string_view(s).substr(colon + 1) == p.name) {
      return true;
    }
  }
  return false;
}

void Authorizer::apply(const Entries& entries, const net::Principal& who, std::string_view host,
                       Operation op, Verdict& v) {
  for (const Entry& e : entries) {
    if (v == Verdict::deny) return;
    if (e.host != kWildcard && e.host != host) continue;
    if (!principal_matches(e.principal, who)) continue;
    if (e.permission == Permission::deny) {
      if (deny_covers(e.operation, op)) v = Verdict::deny;
    } else if (allow_covers(e.operation, op)) {
      v = Verdict::allow;
    }
  }
}

const Authorizer::TypeIndex* Authorizer::index_of(ResourceType t) const {
  auto it = index_.find(t);
  return it == index_.end() ? nullptr : &it->second;
}

bool Authorizer::authorize(const net::Principal& who, std::string_view host, Operation op,
                           ResourceType type, std::string_view name) const {
  if (!config_.enabled) return true;
  if (is_super_user(who)) return true;
  const TypeIndex* ix = index_of(type);
  if (ix == nullptr) return false;
  if (type == ResourceType::cluster) name = kClusterName;
  Verdict v = Verdict::none;
  if (auto it = ix->literal.find(name); it != ix->literal.end()) {
    apply(it->second, who, host, op, v);
  }
  if (auto it = ix->literal.find(kWildcard); it != ix->literal.end()) {
    apply(it->second, who, host, op, v);
  }
  if (!ix->prefixed.empty()) {
    for (size_t len = 1; len <= name.size() && v != Verdict::deny; ++len) {
      auto it = ix->prefixed.find(name.substr(0, len));
      if (it != ix->prefixed.end()) apply(it->second, who, host, op, v);
    }
  }
  return v == Verdict::allow;
}

bool Authorizer::authorize_any(const net::Session& s, Operation op, ResourceType type) const {
  if (!config_.enabled) return true;
  if (is_super_user(s.principal)) return true;
  const TypeIndex* ix = index_of(type);
  if (ix == nullptr) return false;
  if (auto it = ix->literal.find(kWildcard); it != ix->literal.end()) {
    Verdict v = Verdict::none;
    apply(it->second, s.principal, s.peer_host, op, v);
    if (v == Verdict::deny) return false;
  }
  auto allows = [&](const Entries& entries) {
    for (const Entry& e : entries) {
      if (e.permission != Permission::allow || !allow_covers(e.operation, op)) continue;
      if (e.host != kWildcard && e.host != s.peer_host) continue;
      if (principal_matches(e.principal, s.principal)) return true;
    }
    return false;
  };
  for (const auto& [name, entries] : ix->literal) {
    if (allows(entries)) return true;
  }
  for (const auto& [name, entries] : ix->prefixed) {
    if (allows(entries)) return true;
  }
  return false;
}

void Authorizer::reset(std::vector<AclBinding> acls) {
  acls_.clear();
  for (auto& b : acls) acls_.insert(std::move(b));
  rebuild();
}

bool Authorizer::add(const AclBinding& b) {
  if (!acls_.insert(b).second) return false;
  rebuild();
  return true;
}

bool Authorizer::remove(const AclBinding& b) {
  if (acls_.erase(b) == 0) return false;
  rebuild();
  return true;
}

std::vector<AclBinding> Authorizer::list(const AclFilter& f) const {
  std::vector<AclBinding> out;
  for (const auto& b : acls_) {
    if (f.matches(b)) out.push_back(b);
  }
  return out;
}

// ACL changes are rare (an administrator's command); rebuilding the whole index keeps add and
// remove trivially consistent with the set.
void Authorizer::rebuild() {
  index_.clear();
  for (const auto& b : acls_) {
    TypeIndex& ix = index_[b.resource_type];
    Entry e{b.principal, b.host, b.operation, b.permission};
    if (b.pattern_type == PatternType::prefixed) {
      ix.prefixed[b.resource_name].push_back(std::move(e));
    } else {
      ix.literal[b.resource_name].push_back(std::move(e));
    }
  }
}

}  // namespace ferry::broker::authz
