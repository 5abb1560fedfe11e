// ACL management messages: DescribeAcls (key 29), CreateAcls (30), DeleteAcls (31), versions
// 0-1 (v1 adds the resource pattern type; v2 is the first flexible version).
//
// The int8 codes are Kafka's: resource type 1 = any, 2 = topic, 3 = group, 4 = cluster,
// 5 = transactional id; pattern type 1 = any, 2 = match, 3 = literal, 4 = prefixed; operation
// 1 = any, 2 = all, 3 = read ... 12 = idempotent write; permission 1 = any, 2 = deny, 3 = allow.
// broker/authz/acl.h names them. Version 0 knows only literal patterns, so pattern fields
// default to 3.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/schema.h"

namespace ferry::protocol {

// A filter over ACL bindings (DescribeAcls' body, each of DeleteAcls' filters). Null strings
// match any value.
struct AclFilter {
  int8_t resource_type = 1;
  std::optional<std::string> resource_name;
  int8_t pattern_type = 3;  // v1+
  std::optional<std::string> principal;
  std::optional<std::string> host;
  int8_t operation = 1;
  int8_t permission_type = 1;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.resource_type, all);
    v(m.resource_name, all);
    v(m.pattern_type, since(1));
    v(m.principal, all);
    v(m.host, all);
    v(m.operation, all);
    v(m.permission_type, all);
  }
  bool operator==(const AclFilter&) const = default;
};

struct DescribeAclsRequest {
  AclFilter filter;

  template <class V, class M>
  static void fields(V& v, M& m) {
    AclFilter::fields(v, m.filter);  // the filter's fields are the body's top level
  }
  bool operator==(const DescribeAclsRequest&) const = default;
};

struct DescribeAclsResponse {
  struct Entry {
    std::string principal;
    std::string host;
    int8_t operation = 0;
    int8_t permission_type = 0;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.principal, all);
      v(m.host, all);
      v(m.operation, all);
      v(m.permission_type, all);
    }
    bool operator==(const Entry&) const = default;
  };
  struct Resource {
    int8_t resource_type = 0;
    std::string resource_name;
    int8_t pattern_type = 3;  // v1+
    std::vector<Entry> acls;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.resource_type, all);
      v(m.resource_name, all);
      v(m.pattern_type, since(1));
      v(m.acls, all);
    }
    bool operator==(const Resource&) const = default;
  };

  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::vector<Resource> resources;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, all);
    v(m.error_code, all);
    v(m.error_message, all);
    v(m.resources, all);
  }
  bool operator==(const DescribeAclsResponse&) const = default;
};

struct CreateAclsRequest {
  struct Creation {
    int8_t resource_type = 0;
    std::string resource_name;
    int8_t pattern_type = 3;  // v1+
    std::string principal;
    std::string host;
    int8_t operation = 0;
    int8_t permission_type = 0;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.resource_type, all);
      v(m.resource_name, all);
      v(m.pattern_type, since(1));
      v(m.principal, all);
      v(m.host, all);
      v(m.operation, all);
      v(m.permission_type, all);
    }
    bool operator==(const Creation&) const = default;
  };
  std::vector<Creation> creations;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.creations, all);
  }
  bool operator==(const CreateAclsRequest&) const = default;
};

struct CreateAclsResponse {
  struct Result {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.error_code, all);
      v(m.error_message, all);
    }
    bool operator==(const Result&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Result> results;  // one per creation, in request order

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, all);
    v(m.results, all);
  }
  bool operator==(const CreateAclsResponse&) const = default;
};

struct DeleteAclsRequest {
  std::vector<AclFilter> filters;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.filters, all);
  }
  bool operator==(const DeleteAclsRequest&) const = default;
};

struct DeleteAclsResponse {
  struct Matching {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    int8_t resource_type = 0;
    std::string resource_name;
    int8_t pattern_type = 3;  // v1+
    std::string principal;
    std::string host;
    int8_t operation = 0;
    int8_t permission_type = 0;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.error_code, all);
      v(m.error_message, all);
      v(m.resource_type, all);
      v(m.resource_name, all);
      v(m.pattern_type, since(1));
      v(m.principal, all);
      v(m.host, all);
      v(m.operation, all);
      v(m.permission_type, all);
    }
    bool operator==(const Matching&) const = default;
  };
  struct FilterResult {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::vector<Matching> matching_acls;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.error_code, all);
      v(m.error_message, all);
      v(m.matching_acls, all);
    }
    bool operator==(const FilterResult&) const = default;
  };
  int32_t throttle_time_ms = 0;
  std::vector<FilterResult> filter_results;  // one per filter, in request order

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, all);
    v(m.filter_results, all);
  }
  bool operator==(const DeleteAclsResponse&) const = default;
};

}  // namespace ferry::protocol
