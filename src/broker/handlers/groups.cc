// Consumer-group APIs and InitProducerId before their coordinators exist: every request gets a
// well-formed answer with Kafka's error for "no coordinator here", so clients back off and
// report it instead of hanging. ListGroups answers an empty list (there are no groups).
#include "protocol/messages/groups.h"

#include "broker/api_table.h"
#include "broker/broker.h"
#include "protocol/messages/producer_id.h"

namespace ferry::broker {
namespace {

constexpr auto kNoCoordinator = static_cast<int16_t>(ErrorCode::coordinator_not_available);
constexpr auto kNoGroup = static_cast<int16_t>(ErrorCode::group_id_not_found);

template <typename Req, typename Resp, typename Fill>
void answer(Request& r, Fill fill) {
  Req req;
  if (!decode_body(r, req)) return;
  Resp resp;
  fill(req, resp);
  respond(r, resp);
}

}  // namespace

void handle_find_coordinator(Broker&, Request&& r) {
  answer<protocol::FindCoordinatorRequest, protocol::FindCoordinatorResponse>(
      r, [](const auto&, auto& resp) {
        resp.error_code = kNoCoordinator;
        resp.error_message = "Consumer groups are not served by this broker yet";
        resp.node_id = -1;
        resp.port = -1;
      });
}

void handle_group_request(Broker&, Request&& r) {
  using protocol::ApiKey;
  switch (r.key()) {
    case ApiKey::join_group:
      answer<protocol::JoinGroupRequest, protocol::JoinGroupResponse>(
          r, [](const auto& req, auto& resp) {
            resp.error_code = kNoCoordinator;
            resp.member_id = req.member_id;
          });
      break;
    case ApiKey::heartbeat:
      answer<protocol::HeartbeatRequest, protocol::HeartbeatResponse>(
          r, [](const auto&, auto& resp) { resp.error_code = kNoCoordinator; });
      break;
    case ApiKey::leave_group:
      answer<protocol::LeaveGroupRequest, protocol::LeaveGroupResponse>(
          r, [](const auto&, auto& resp) { resp.error_code = kNoCoordinator; });
      break;
    case ApiKey::sync_group:
      answer<protocol::SyncGroupRequest, protocol::SyncGroupResponse>(
          r, [](const auto&, auto& resp) { resp.error_code = kNoCoordinator; });
      break;
    case ApiKey::offset_commit:
      answer<protocol::OffsetCommitRequest, protocol::OffsetCommitResponse>(
          r, [](const auto& req, auto& resp) {
            for (const auto& t : req.topics) {
              auto& rt = resp.topics.emplace_back();
              rt.name = t.name;
              for (const auto& p : t.partitions)
                rt.partitions.push_back({p.partition_index, kNoCoordinator});
            }
          });
      break;
    case ApiKey::offset_fetch:
      answer<protocol::OffsetFetchRequest, protocol::OffsetFetchResponse>(
          r, [&r](const auto& req, auto& resp) {
            resp.error_code = kNoCoordinator;  // v2+
            if (r.version() >= 2 || !req.topics) return;
            for (const auto& t : *req.topics) {
              auto& rt = resp.topics.emplace_back();
              rt.name = t.name;
              for (int32_t p : t.partition_indexes) {
                auto& rp = rt.partitions.emplace_back();
                rp.partition_index = p;
                rp.error_code = kNoCoordinator;
              }
            }
          });
      break;
    case ApiKey::describe_groups:
      answer<protocol::DescribeGroupsRequest, protocol::DescribeGroupsResponse>(
          r, [](const auto& req, auto& resp) {
            for (const auto& g : req.groups) {
              auto& rg = resp.groups.emplace_back();
              rg.error_code = kNoCoordinator;
              rg.group_id = g;
            }
          });
      break;
    case ApiKey::list_groups:
      answer<protocol::ListGroupsRequest, protocol::ListGroupsResponse>(r,
                                                                        [](const auto&, auto&) {});
      break;
    case ApiKey::delete_groups:
      answer<protocol::DeleteGroupsRequest, protocol::DeleteGroupsResponse>(
          r, [](const auto& req, auto& resp) {
            for (const auto& g : req.groups_names) resp.results.push_back({g, kNoGroup});
          });
      break;
    case ApiKey::offset_delete:
      answer<protocol::OffsetDeleteRequest, protocol::OffsetDeleteResponse>(
          r, [](const auto&, auto& resp) { resp.error_code = kNoGroup; });
      break;
    default: r.slot.close_connection("no handler");
  }
}

void handle_init_producer_id(Broker&, Request&& r) {
  answer<protocol::InitProducerIdRequest, protocol::InitProducerIdResponse>(
      r, [](const auto&, auto& resp) {
        resp.error_code = static_cast<int16_t>(ErrorCode::unsupported_version);
        resp.producer_id = -1;
        resp.producer_epoch = -1;
      });
}

}  // namespace ferry::broker
