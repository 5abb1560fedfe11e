// DescribeAcls (key 29), CreateAcls (30), DeleteAcls (31): the ACLs of the authorizer, changed
// in meta.db first and in memory once the change is committed. The CLUSTER permissions these
// need (DESCRIBE, ALTER) are checked before the handlers (api_table.cc). They work with the
// authorizer disabled too, so ACLs can be put in place before `authorizer.enabled` is set.
#include "protocol/messages/acls.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "broker/api_table.h"
#include "broker/authz/acl.h"
#include "broker/broker.h"
#include "common/log.h"
#include "meta/acl_store.h"

namespace ferry::broker {
namespace {

using namespace authz;  // NOLINT

constexpr int16_t kInvalidRequest = static_cast<int16_t>(ErrorCode::invalid_request);

// A wire filter as the authorizer's, or why it is not valid.
std::optional<AclFilter> to_filter(const protocol::AclFilter& f, std::string& why) {
  AclFilter out;
  auto type = resource_type_from_code(f.resource_type);
  auto pattern = pattern_type_from_code(f.pattern_type);
  auto op = operation_from_code(f.operation);
  auto perm = permission_from_code(f.permission_type);
  if (!type || *type == ResourceType::unknown) {
    why = "unknown resource type";
  } else if (!pattern || *pattern == PatternType::unknown) {
    why = "unknown pattern type";
  } else if (!op || *op == Operation::unknown) {
    why = "unknown operation";
  } else if (!perm || *perm == Permission::unknown) {
    why = "unknown permission type";
  }
  if (!why.empty()) return std::nullopt;
  out.resource_type = *type;
  out.resource_name = f.resource_name;
  out.pattern_type = *pattern;
  out.principal = f.principal;
  out.host = f.host;
  out.operation = *op;
  out.permission = *perm;
  return out;
}

std::optional<AclBinding> to_binding(const protocol::CreateAclsRequest::Creation& c,
                                     std::string& why) {
  auto type = resource_type_from_code(c.resource_type);
  auto pattern = pattern_type_from_code(c.pattern_type);
  auto op = operation_from_code(c.operation);
  auto perm = permission_from_code(c.permission_type);
  if (!type || !pattern || !op || !perm) {
    why = "unknown resource type, pattern type, operation or permission code";
    return std::nullopt;
  }
  AclBinding b{*type, c.resource_name, *pattern, c.principal, c.host, *op, *perm};
  why = invalid_reason(b);
  if (!why.empty()) return std::nullopt;
  return b;
}

int16_t storage_error() { return static_cast<int16_t>(ErrorCode::kafka_storage_error); }

}  // namespace

void handle_describe_acls(Broker& b, Request&& r) {
  protocol::DescribeAclsRequest req;
  if (!decode_body(r, req)) return;
  protocol::DescribeAclsResponse resp;
  std::string why;
  auto filter = to_filter(req.filter, why);
  if (!filter) {
    resp.error_code = kInvalidRequest;
    resp.error_message = why;
    respond(r, resp);
    return;
  }
  // list() is ordered by resource first, so each resource's ACLs are adjacent.
  for (const AclBinding& acl : b.authorizer().list(*filter)) {
    const auto type = static_cast<int8_t>(acl.resource_type);
    const auto pattern = static_cast<int8_t>(acl.pattern_type);
    if (resp.resources.empty() || resp.resources.back().resource_type != type ||
        resp.resources.back().resource_name != acl.resource_name ||
        resp.resources.back().pattern_type != pattern) {
      resp.resources.push_back({type, acl.resource_name, pattern, {}});
    }
    resp.resources.back().acls.push_back({acl.principal, acl.host,
                                          static_cast<int8_t>(acl.operation),
                                          static_cast<int8_t>(acl.permission)});
  }
  respond(r, resp);
}

void handle_create_acls(Broker& b, Request&& r) {
  protocol::CreateAclsRequest req;
  if (!decode_body(r, req)) return;
  protocol::CreateAclsResponse resp;
  std::vector<std::pair<size_t, AclBinding>> valid;
  std::vector<meta::Mutation> writes;
  for (size_t i = 0; i < req.creations.size(); ++i) {
    std::string why;
    auto binding = to_binding(req.creations[i], why);
    auto& result = resp.results.emplace_back();
    if (!binding) {
      result.error_code = kInvalidRequest;
      result.error_message = why;
      continue;
    }
    writes.push_back(meta::put_acl(to_record(*binding)));
    valid.emplace_back(i, std::move(*binding));
  }
  if (writes.empty()) {
    respond(r, resp);
    return;
  }
  // The store's callback is a std::function (copyable); the request is not.
  struct State {
    Request r;
    protocol::CreateAclsResponse resp;
    std::vector<std::pair<size_t, AclBinding>> valid;
  };
  auto state = std::make_shared<State>(State{std::move(r), std::move(resp), std::move(valid)});
  b.meta().submit(std::move(writes), [&b, state](Status st) {
    for (const auto& [i, binding] : state->valid) {
      if (!st) {
        state->resp.results[i].error_code = storage_error();
        state->resp.results[i].error_message = st.error().message();
        continue;
      }
      if (b.authorizer().add(binding)) {
        FERRY_LOG(info, "authz", "ACL added by %s: %s",
                  log::escape(state->r.session->principal.to_string()).c_str(),
                  log::escape(binding.to_string()).c_str());
      }
    }
    respond(state->r, state->resp);
  });
}

void handle_delete_acls(Broker& b, Request&& r) {
  protocol::DeleteAclsRequest req;
  if (!decode_body(r, req)) return;
  protocol::DeleteAclsResponse resp;
  std::vector<AclBinding> doomed;
  std::vector<std::vector<AclBinding>> matched(req.filters.size());
  for (size_t i = 0; i < req.filters.size(); ++i) {
    auto& fr = resp.filter_results.emplace_back();
    std::string why;
    auto filter = to_filter(req.filters[i], why);
    if (!filter) {
      fr.error_code = kInvalidRequest;
      fr.error_message = why;
      continue;
    }
    matched[i] = b.authorizer().list(*filter);
    doomed.insert(doomed.end(), matched[i].begin(), matched[i].end());
  }
  std::sort(doomed.begin(), doomed.end());
  doomed.erase(std::unique(doomed.begin(), doomed.end()), doomed.end());
  std::vector<meta::Mutation> writes;
  for (const auto& acl : doomed) writes.push_back(meta::delete_acl(to_record(acl)));
  auto finish = [&b](Request& req_r, protocol::DeleteAclsResponse& out,
                     const std::vector<std::vector<AclBinding>>& per_filter,
                     const std::vector<AclBinding>& gone, const Status& st) {
    for (size_t i = 0; i < per_filter.size(); ++i) {
      for (const auto& acl : per_filter[i]) {
        auto& m = out.filter_results[i].matching_acls.emplace_back();
        if (!st) {
          m.error_code = storage_error();
          m.error_message = st.error().message();
        }
        m.resource_type = static_cast<int8_t>(acl.resource_type);
        m.resource_name = acl.resource_name;
        m.pattern_type = static_cast<int8_t>(acl.pattern_type);
        m.principal = acl.principal;
        m.host = acl.host;
        m.operation = static_cast<int8_t>(acl.operation);
        m.permission_type = static_cast<int8_t>(acl.permission);
      }
    }
    if (st) {
      for (const auto& acl : gone) {
        if (b.authorizer().remove(acl)) {
          FERRY_LOG(info, "authz", "ACL removed by %s: %s",
                    log::escape(req_r.session->principal.to_string()).c_str(),
                    log::escape(acl.to_string()).c_str());
        }
      }
    }
    respond(req_r, out);
  };
  if (writes.empty()) {
    finish(r, resp, matched, doomed, ok_status());
    return;
  }
  struct State {
    Request r;
    protocol::DeleteAclsResponse resp;
    std::vector<std::vector<AclBinding>> matched;
    std::vector<AclBinding> doomed;
  };
  auto state = std::make_shared<State>(
      State{std::move(r), std::move(resp), std::move(matched), std::move(doomed)});
  b.meta().submit(std::move(writes), [finish, state](Status st) {
    finish(state->r, state->resp, state->matched, state->doomed, st);
  });
}

}  // namespace ferry::broker
