// Kafka's ACL model: resource types, pattern types, operations, permissions, a binding (a
// resource pattern plus an access-control entry) and a filter over bindings. The enum values
// are Kafka's wire codes (DescribeAcls/CreateAcls/DeleteAcls carry them as int8), and meta.db
// stores the same numbers (docs/metadata.md), so a value never changes meaning.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "meta/acl_store.h"

namespace ferry::broker::authz {

enum class ResourceType : int8_t {
  unknown = 0,
  any = 1,  // filters only
  topic = 2,
  group = 3,
  cluster = 4,
  transactional_id = 5,  // accepted and stored; nothing checks it yet
};

enum class PatternType : int8_t {
  unknown = 0,
  any = 1,    // filters only: literal or prefixed
  match = 2,  // filters only: every pattern that would match the filter's name
  literal = 3,
  prefixed = 4,
};

enum class Operation : int8_t {
  unknown = 0,
  any = 1,  // filters only
  all = 2,
  read = 3,
  write = 4,
  create = 5,
  del = 6,
  alter = 7,
  describe = 8,
  cluster_action = 9,
  describe_configs = 10,
  alter_configs = 11,
  idempotent_write = 12,
};

enum class Permission : int8_t { unknown = 0, any = 1, deny = 2, allow = 3 };

// Kafka's names (TOPIC, PREFIXED, DESCRIBE_CONFIGS, ALLOW, ...). Parsing ignores case and
// accepts '-' for '_'; unknown names give nullopt.
std::string_view name_of(ResourceType t) noexcept;
std::string_view name_of(PatternType t) noexcept;
std::string_view name_of(Operation o) noexcept;
std::string_view name_of(Permission p) noexcept;
std::optional<ResourceType> parse_resource_type(std::string_view s);
std::optional<PatternType> parse_pattern_type(std::string_view s);
std::optional<Operation> parse_operation(std::string_view s);
std::optional<Permission> parse_permission(std::string_view s);

// From a wire code: nullopt for codes outside the enum.
std::optional<ResourceType> resource_type_from_code(int8_t c);
std::optional<PatternType> pattern_type_from_code(int8_t c);
std::optional<Operation> operation_from_code(int8_t c);
std::optional<Permission> permission_from_code(int8_t c);

// The literal resource name that matches every name of its type, and the principal and host
// that match everyone.
inline constexpr std::string_view kWildcard = "*";
inline constexpr std::string_view kWildcardPrincipal = "User:*";
// The one cluster resource's name.
inline constexpr std::string_view kClusterName = "kafka-cluster";

struct AclBinding {
  ResourceType resource_type = ResourceType::topic;
  std::string resource_name;
  PatternType pattern_type = PatternType::literal;
  std::string principal;  // "User:alice" or "User:*"
  std::string host = "*";
  Operation operation = Operation::all;
  Permission permission = Permission::allow;

  bool operator==(const AclBinding&) const = default;
  auto operator<=>(const AclBinding&) const = default;
  // "User:alice has ALLOW READ from host * on TOPIC LITERAL orders", for logs and the CLI.
  std::string to_string() const;
};

// A binding's validity for storage: concrete types (no any/match/unknown), a "Type:name"
// principal, a non-empty host, the cluster named kafka-cluster. "" when valid, else why not.
std::string invalid_reason(const AclBinding& b);

// Kafka's AclBindingFilter: unset strings match anything; `any` enum values match anything;
// pattern type `match` selects the literal, wildcard and prefixed patterns that would apply to
// `resource_name` (which must then be set).
struct AclFilter {
  ResourceType resource_type = ResourceType::any;
  std::optional<std::string> resource_name;
  PatternType pattern_type = PatternType::any;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  Operation operation = Operation::any;
  Permission permission = Permission::any;

  bool matches(const AclBinding& b) const;
};

// meta.db rows (meta/acl_store.h) from and to bindings; nullopt for a row with codes this
// build does not know.
meta::AclRecord to_record(const AclBinding& b);
std::optional<AclBinding> from_record(const meta::AclRecord& r);

}  // namespace ferry::broker::authz
