// The one authorization check point of the request path. Each row of the API table
// (api_table.cc) carries an ApiRule saying what Kafka checks for that API:
//   - `cluster`: an operation on the cluster the whole request needs (DescribeAcls: DESCRIBE,
//     CreateAcls: ALTER, ...); denied, the request is answered with
//     CLUSTER_AUTHORIZATION_FAILED without reaching its handler;
//   - `items`: the API's check of the topics, groups and config resources its body names
//     (Produce: WRITE on each topic, JoinGroup: READ on the group, ...). It removes the denied
//     items from the request before the handler sees it and leaves an authz::Denied on the
//     Request, so the response carries them with TOPIC_/GROUP_/CLUSTER_AUTHORIZATION_FAILED;
//     when nothing may proceed it answers the request itself.
// Broker::on_request calls check_request() once per request, before the handler; with
// `authorizer.enabled` false it returns at once. Handlers never call the authorizer.
//
// Adding an API's rule is its row's third argument: `{.cluster = Operation::alter}`, or
// `{.items = check_<api>}` with the check written in api_rules.cc.
//
// Threading: loop thread.
#pragma once

#include <cstdint>
#include <type_traits>

#include "broker/authz/acl.h"
#include "broker/request.h"
#include "common/log.h"
#include "protocol/messages.h"

namespace ferry::broker {
class Broker;
}

namespace ferry::broker::authz {

enum class Gate : uint8_t {
  proceed,   // hand the (possibly filtered) request to its handler
  answered,  // the check answered the request or closed the connection
};

using ItemsCheck = Gate (*)(Broker&, Request&);
// Answers a whole request with one error code (row<K>() in api_table.cc fills it in).
using AnswerAll = void (*)(Request&, int16_t error_code);

struct ApiRule {
  Operation cluster = Operation::unknown;  // unknown: no cluster-wide check
  ItemsCheck items = nullptr;              // nullptr: nothing named in the body is checked
};

// The check point (see above). `answer_all` answers this API's request with an error code.
Gate check_request(Broker& b, const ApiRule& rule, AnswerAll answer_all, Request& r);

// The item checks, one per API that names resources (api_rules.cc).
Gate check_produce(Broker&, Request&);
Gate check_fetch(Broker&, Request&);
Gate check_list_offsets(Broker&, Request&);
Gate check_offset_for_leader_epoch(Broker&, Request&);
Gate check_metadata(Broker&, Request&);
Gate check_offset_commit(Broker&, Request&);
Gate check_offset_fetch(Broker&, Request&);
Gate check_find_coordinator(Broker&, Request&);
Gate check_group_read(Broker&, Request&);  // JoinGroup, SyncGroup, Heartbeat, LeaveGroup
Gate check_describe_groups(Broker&, Request&);
Gate check_list_groups(Broker&, Request&);
Gate check_delete_groups(Broker&, Request&);
Gate check_offset_delete(Broker&, Request&);
Gate check_create_topics(Broker&, Request&);
Gate check_delete_topics(Broker&, Request&);
Gate check_create_partitions(Broker&, Request&);
Gate check_describe_configs(Broker&, Request&);
Gate check_alter_configs(Broker&, Request&);  // AlterConfigs and IncrementalAlterConfigs
Gate check_init_producer_id(Broker&, Request&);

// Answers requests of API K with `error_code` everywhere the response has room for one: the
// top-level error code, or each item's (fill_all overloads below). An API with neither gets
// its connection closed, which no client mistakes for success.
void fill_all(const protocol::OffsetCommitRequest&, protocol::OffsetCommitResponse&, int16_t);
void fill_all(const protocol::CreateAclsRequest&, protocol::CreateAclsResponse&, int16_t);
void fill_all(const protocol::DeleteAclsRequest&, protocol::DeleteAclsResponse&, int16_t);
void fill_all(const protocol::CreateTopicsRequest&, protocol::CreateTopicsResponse&, int16_t);

template <protocol::ApiKey K>
void answer_all(Request& r, int16_t error_code) {
  using Desc = protocol::Messages<K>;
  typename Desc::Request req;
  if (!decode_body(r, req)) return;
  typename Desc::Response resp;
  if constexpr (requires { fill_all(req, resp, error_code); }) {
    fill_all(req, resp, error_code);
  } else if constexpr (requires { resp.error_code = error_code; }) {
    resp.error_code = error_code;
  } else {
    r.slot.close_connection("not authorized");
    return;
  }
  respond(r, resp);
}

}  // namespace ferry::broker::authz
