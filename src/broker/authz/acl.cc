// Names, codes and filters of Kafka's ACL model. See acl.h.
#include "broker/authz/acl.h"

#include <array>
#include <cctype>
#include <utility>

namespace ferry::broker::authz {
namespace {

template <typename E, size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

constexpr Names<ResourceType, 6> kResourceTypes{{
    {ResourceType::unknown, "UNKNOWN"},
    {ResourceType::any, "ANY"},
    {ResourceType::topic, "TOPIC"},
    {ResourceType::group, "GROUP"},
    {ResourceType::cluster, "CLUSTER"},
    {ResourceType::transactional_id, "TRANSACTIONAL_ID"},
}};
constexpr Names<PatternType, 5> kPatternTypes{{
    {PatternType::unknown, "UNKNOWN"},
    {PatternType::any, "ANY"},
    {PatternType::match, "MATCH"},
    {PatternType::literal, "LITERAL"},
    {PatternType::prefixed, "PREFIXED"},
}};
constexpr Names<Operation, 13> kOperations{{
    {Operation::unknown, "UNKNOWN"},
    {Operation::any, "ANY"},
    {Operation::all, "ALL"},
    {Operation::read, "READ"},
    {Operation::write, "WRITE"},
    {Operation::create, "CREATE"},
    {Operation::del, "DELETE"},
    {Operation::alter, "ALTER"},
    {Operation::describe, "DESCRIBE"},
    {Operation::cluster_action, "CLUSTER_ACTION"},
    {Operation::describe_configs, "DESCRIBE_CONFIGS"},
    {Operation::alter_configs, "ALTER_CONFIGS"},
    {Operation::idempotent_write, "IDEMPOTENT_WRITE"},
}};
constexpr Names<Permission, 4> kPermissions{{
    {Permission::unknown, "UNKNOWN"},
    {Permission::any, "ANY"},
    {Permission::deny, "DENY"},
    {Permission::allow, "ALLOW"},
}};

bool same_name(std::string_view canonical, std::string_view s) {
  if (canonical.size() != s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
    if (c == '-') c = '_';
    if (c != canonical[i]) return false;
  }
  return true;
}

template <typename E, size_t N>
std::string_view find_name(const Names<E, N>& names, E e) {
  for (const auto& [v, n] : names) {
    if (v == e) return n;
  }
  return "UNKNOWN";
}

template <typename E, size_t N>
std::optional<E> find_value(const Names<E, N>& names, std::string_view s) {
  for (const auto& [v, n] : names) {
    if (v != E::unknown && same_name(n, s)) return v;
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::optional<E> from_code(const Names<E, N>& names, int8_t c) {
  for (const auto& [v, n] : names) {
    if (static_cast<int8_t>(v) == c) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string_view name_of(ResourceType t) noexcept { return find_name(kResourceTypes, t); }
std::string_view name_of(PatternType t) noexcept { return find_name(kPatternTypes, t); }
std::string_view name_of(Operation o) noexcept { return find_name(kOperations, o); }
std::string_view name_of(Permission p) noexcept { return find_name(kPermissions, p); }
std::optional<ResourceType> parse_resource_type(std::string_view s) {
  return find_value(kResourceTypes, s);
}
std::optional<PatternType> parse_pattern_type(std::string_view s) {
  return find_value(kPatternTypes, s);
}
std::optional<Operation> parse_operation(std::string_view s) { return find_value(kOperations, s); }
std::optional<Permission> parse_permission(std::string_view s) {
  return find_value(kPermissions, s);
}
std::optional<ResourceType> resource_type_from_code(int8_t c) {
  return from_code(kResourceTypes, c);
}
std::optional<PatternType> pattern_type_from_code(int8_t c) { return from_code(kPatternTypes, c); }
std::optional<Operation> operation_from_code(int8_t c) { return from_code(kOperations, c); }
std::optional<Permission> permission_from_code(int8_t c) { return from_code(kPermissions, c); }

std::string AclBinding::to_string() const {
  std::string s = principal;
  s += " has ";
  s += name_of(permission);
  s += ' ';
  s += name_of(operation);
  s += " from host ";
  s += host;
  s += " on ";
  s += name_of(resource_type);
  s += ' ';
  s += name_of(pattern_type);
  s += ' ';
  s += resource_name;
  return s;
}

std::string invalid_reason(const AclBinding& b) {
  switch (b.resource_type) {
    case ResourceType::topic:
    case ResourceType::group:
    case ResourceType::cluster:
    case ResourceType::transactional_id: break;
    default: return "resource type must be TOPIC, GROUP, CLUSTER or TRANSACTIONAL_ID";
  }
  if (b.pattern_type != PatternType::literal && b.pattern_type != PatternType::prefixed) {
    return "pattern type must be LITERAL or PREFIXED";
  }
  if (b.resource_name.empty()) return "resource name must not be empty";
  if (b.resource_type == ResourceType::cluster &&
      (b.pattern_type != PatternType::literal || b.resource_name != kClusterName)) {
    return "the cluster resource is the literal name kafka-cluster";
  }
  const size_t colon = b.principal.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == b.principal.size()) {
    return "principal must be Type:name, e.g. User:alice";
  }
  if (b.host.empty()) return "host must be * or an address";
  if (b.operation == Operation::unknown || b.operation == Operation::any) {
    return "operation must be a concrete operation";
  }
  if (b.permission != Permission::allow && b.permission != Permission::deny) {
    return "permission must be ALLOW or DENY";
  }
  return {};
}

bool AclFilter::matches(const AclBinding& b) const {
  if (resource_type != ResourceType::any && resource_type != b.resource_type) return false;
  if (operation != Operation::any && operation != b.operation) return false;
  if (permission != Permission::any && permission != b.permission) return false;
  if (principal && *principal != b.principal) return false;
  if (host && *host != b.host) return false;
  switch (pattern_type) {
    case PatternType::any: return !resource_name || *resource_name == b.resource_name;
    case PatternType::match:
      if (!resource_name) return true;
      if (b.pattern_type == PatternType::literal) {
        return b.resource_name == *resource_name || b.resource_name == kWildcard;
      }
      return b.pattern_type == PatternType::prefixed &&
             std::string_view(*resource_name).starts_with(b.resource_name);
    case PatternType::literal:
    case PatternType::prefixed:
      return b.pattern_type == pattern_type &&
             (!resource_name || *resource_name == b.resource_name);
    default: return false;
  }
}

meta::AclRecord to_record(const AclBinding& b) {
  meta::AclRecord r;
  r.resource_type = static_cast<int8_t>(b.resource_type);
  r.resource_name = b.resource_name;
  r.pattern_type = static_cast<int8_t>(b.pattern_type);
  r.principal = b.principal;
  r.host = b.host;
  r.operation = static_cast<int8_t>(b.operation);
  r.permission = static_cast<int8_t>(b.permission);
  return r;
}

std::optional<AclBinding> from_record(const meta::AclRecord& r) {
  auto type = resource_type_from_code(r.resource_type);
  auto pattern = pattern_type_from_code(r.pattern_type);
  auto op = operation_from_code(r.operation);
  auto perm = permission_from_code(r.permission);
  if (!type || !pattern || !op || !perm) return std::nullopt;
  AclBinding b{*type, r.resource_name, *pattern, r.principal, r.host, *op, *perm};
  if (!invalid_reason(b).empty()) return std::nullopt;
  return b;
}

}  // namespace ferry::broker::authz
