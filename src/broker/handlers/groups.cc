// Consumer-group APIs (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
// OffsetCommit, OffsetFetch, OffsetDelete, ListGroups, DescribeGroups, DeleteGroups): request
// and response mapping around the GroupCoordinator (groups/group_coordinator.h), which holds
// the state machine. Each API is its own row in the API table (api_table.cc).
#include "protocol/messages/groups.h"

#include <algorithm>
#include <memory>

#include "broker/api_table.h"
#include "broker/broker.h"

namespace ferry::broker {
namespace {

constexpr int8_t kGroupKey = 0;

// The response entry of topic `name`, appended on first use (responses group by topic).
template <typename Topics>
auto& topic_entry(Topics& topics, const std::string& name) {
  auto it =
      std::find_if(topics.begin(), topics.end(), [&](const auto& t) { return t.name == name; });
  if (it != topics.end()) return *it;
  auto& t = topics.emplace_back();
  t.name = name;
  return t;
}

// Decodes, runs `fill` and responds; for answers that are ready at once.
template <typename Req, typename Resp, typename Fill>
void answer(Request& r, Fill fill) {
  Req req;
  if (!decode_body(r, req)) return;
  Resp resp;
  fill(req, resp);
  respond(r, resp);
}

}  // namespace

void handle_find_coordinator(Broker& b, Request&& r) {
  answer<protocol::FindCoordinatorRequest, protocol::FindCoordinatorResponse>(
      r, [&](const auto& req, auto& resp) {
        if (req.key_type != kGroupKey) {
          // Only group coordinators exist here (no transactions): a clear, final error.
          resp.error_code = wire(ErrorCode::unsupported_version);
          resp.error_message = "Transactions are not supported by this broker";
          resp.node_id = -1;
          resp.port = -1;
          return;
        }
        if (const TopicQuorum* quorum = b.topics().quorum(); quorum != nullptr) {
          // A cluster: the controller coordinates every group (one coordinator per group that
          // all nodes agree on); its commits go through the metadata log (docs/replication.md).
          const NodeId controller = quorum->controller();
          for (const auto& e : quorum->brokers(r.session->listener.name)) {
            if (e.node != controller) continue;
            resp.node_id = e.node.value();
            resp.host = e.host;
            resp.port = e.port;
            return;
          }
          resp.error_code = wire(ErrorCode::coordinator_not_available);
          resp.node_id = -1;
          resp.port = -1;
          return;
        }
        const auto& adv = b.advertised_for(*r.session);
        resp.node_id = b.config().node_id;
        resp.host = adv.host;
        resp.port = adv.port;
      });
}

void handle_join_group(Broker& b, Request&& r) {
  auto req = std::make_shared<protocol::JoinGroupRequest>();
  if (!decode_body(r, *req)) return;
  JoinRequest j;
  j.group_id = req->group_id;
  j.session_timeout_ms = req->session_timeout_ms;
  j.rebalance_timeout_ms = r.version() >= 1 ? req->rebalance_timeout_ms : req->session_timeout_ms;
  j.member_id = req->member_id;
  j.group_instance_id = req->group_instance_id;
  j.protocol_type = req->protocol_type;
  for (auto& p : req->protocols) j.protocols.emplace_back(p.name, std::move(p.metadata));
  j.client_id = r.header.client_id.value_or("");
  j.client_host = "/" + r.session->peer_host;  // Kafka's form: InetAddress.toString()
  j.require_known_member_id = r.version() >= 4;
  auto shared = std::make_shared<Request>(std::move(r));
  b.groups().join(std::move(j), [shared](JoinResult res) {
    protocol::JoinGroupResponse resp;
    resp.error_code = wire(res.error);
    resp.generation_id = res.generation_id;
    resp.protocol_name = res.protocol_name;
    resp.leader = res.leader;
    resp.member_id = res.member_id;
    for (auto& m : res.members)
      resp.members.push_back({m.member_id, m.group_instance_id, std::move(m.metadata)});
    respond(*shared, resp);
  });
}

void handle_sync_group(Broker& b, Request&& r) {
  protocol::SyncGroupRequest req;
  if (!decode_body(r, req)) return;
  std::map<std::string, protocol::Bytes> assignments;
  for (auto& a : req.assignments) assignments[a.member_id] = std::move(a.assignment);
  auto shared = std::make_shared<Request>(std::move(r));
  b.groups().sync(req.group_id, req.generation_id, req.member_id, req.group_instance_id,
                  std::move(assignments), [shared](SyncResult res) {
                    protocol::SyncGroupResponse resp;
                    resp.error_code = wire(res.error);
                    resp.assignment = std::move(res.assignment);
                    respond(*shared, resp);
                  });
}

void handle_heartbeat(Broker& b, Request&& r) {
  answer<protocol::HeartbeatRequest, protocol::HeartbeatResponse>(
      r, [&](const auto& req, auto& resp) {
        resp.error_code = wire(b.groups().heartbeat(req.group_id, req.generation_id, req.member_id,
                                                    req.group_instance_id));
      });
}

void handle_leave_group(Broker& b, Request&& r) {
  answer<protocol::LeaveGroupRequest, protocol::LeaveGroupResponse>(
      r, [&](const auto& req, auto& resp) {
        std::vector<MemberRef> members;
        if (r.version() >= 3) {
          for (const auto& m : req.members) members.push_back({m.member_id, m.group_instance_id});
        } else {
          members.push_back({req.member_id, std::nullopt});
        }
        std::vector<ErrorCode> errors;
        const ErrorCode top = b.groups().leave(req.group_id, members, errors);
        if (r.version() >= 3) {
          resp.error_code = wire(top);
          for (size_t i = 0; i < members.size(); ++i) {
            resp.members.push_back(
                {members[i].member_id, members[i].group_instance_id, wire(errors[i])});
          }
        } else {
          resp.error_code = wire(errors.empty() ? top : errors[0]);
        }
      });
}

void handle_offset_commit(Broker& b, Request&& r) {
  protocol::OffsetCommitRequest req;
  if (!decode_body(r, req)) return;
  std::vector<CommitEntry> entries;
  for (const auto& t : req.topics) {
    for (const auto& p : t.partitions) {
      CommitEntry e;
      e.topic = t.name;
      e.partition = p.partition_index;
      e.offset = p.committed_offset;
      e.leader_epoch = p.committed_leader_epoch;
      e.metadata = p.committed_metadata;
      // Offsets of partitions that do not exist are refused, as Kafka does (in a cluster the
      // coordinator need not hold a replica of them).
      const Topic* topic = b.topics().find(t.name);
      if (topic == nullptr || topic->deleting || p.partition_index < 0 ||
          static_cast<size_t>(p.partition_index) >= topic->partitions.size()) {
        e.error = ErrorCode::unknown_topic_or_partition;
      }
      entries.push_back(std::move(e));
    }
  }
  // v0 has no generation or member: a "simple" commit.
  const int32_t generation = r.version() >= 1 ? req.generation_id_or_member_epoch : -1;
  std::vector<CommitEntry> valid;
  std::vector<CommitEntry> refused;
  for (auto& e : entries) (e.error == ErrorCode::none ? valid : refused).push_back(e);
  auto shared = std::make_shared<Request>(std::move(r));
  auto finish = [shared, refused](std::vector<CommitEntry> done) {
    done.insert(done.end(), refused.begin(), refused.end());
    protocol::OffsetCommitResponse resp;
    for (const auto& e : done)
      topic_entry(resp.topics, e.topic).partitions.push_back({e.partition, wire(e.error)});
    respond(*shared, resp);
  };
  if (valid.empty()) {
    finish({});
    return;
  }
  b.groups().commit(req.group_id, generation, req.member_id, req.group_instance_id,
                    std::move(valid), std::move(finish));
}

void handle_offset_fetch(Broker& b, Request&& r) {
  answer<protocol::OffsetFetchRequest, protocol::OffsetFetchResponse>(
      r, [&](const auto& req, auto& resp) {
        auto entry = [&](int32_t partition, const meta::OffsetCommit* c) {
          protocol::OffsetFetchResponse::Topic::Partition p;
          p.partition_index = partition;
          if (c != nullptr) {
            p.committed_offset = c->offset.value();
            p.committed_leader_epoch = c->leader_epoch.value();
            p.metadata = c->metadata;
          } else {
            p.committed_offset = -1;
            p.metadata = "";
          }
          return p;
        };
        if (const ErrorCode e = b.groups().availability(); e != ErrorCode::none) {
          // Not the coordinator (a cluster's controller moved, or is catching up): v2+ say so
          // once, v0-1 in every partition.
          resp.error_code = wire(e);
          if (req.topics) {
            for (const auto& t : *req.topics) {
              auto& rt = resp.topics.emplace_back();
              rt.name = t.name;
              for (int32_t p : t.partition_indexes) {
                auto& rp = rt.partitions.emplace_back(entry(p, nullptr));
                rp.error_code = wire(e);
              }
            }
          }
          return;
        }
        if (!req.topics) {  // v2+: every committed offset of the group
          for (const auto& c : b.groups().committed_all(req.group_id))
            topic_entry(resp.topics, c.topic).partitions.push_back(entry(c.partition.value(), &c));
          return;
        }
        for (const auto& t : *req.topics) {
          auto& rt = resp.topics.emplace_back();
          rt.name = t.name;
          for (int32_t p : t.partition_indexes)
            rt.partitions.push_back(entry(p, b.groups().committed(req.group_id, t.name, p)));
        }
      });
}

void handle_offset_delete(Broker& b, Request&& r) {
  protocol::OffsetDeleteRequest req;
  if (!decode_body(r, req)) return;
  std::vector<CommitEntry> entries;
  for (const auto& t : req.topics) {
    for (const auto& p : t.partitions) {
      CommitEntry e;
      e.topic = t.name;
      e.partition = p.partition_index;
      entries.push_back(std::move(e));
    }
  }
  auto shared = std::make_shared<Request>(std::move(r));
  b.groups().delete_offsets(
      req.group_id, std::move(entries), [shared](ErrorCode top, std::vector<CommitEntry> done) {
        protocol::OffsetDeleteResponse resp;
        resp.error_code = wire(top);
        if (top == ErrorCode::none) {
          for (const auto& e : done)
            topic_entry(resp.topics, e.topic).partitions.push_back({e.partition, wire(e.error)});
        }
        respond(*shared, resp);
      });
}

void handle_describe_groups(Broker& b, Request&& r) {
  answer<protocol::DescribeGroupsRequest, protocol::DescribeGroupsResponse>(
      r, [&](const auto& req, auto& resp) {
        for (const auto& id : req.groups) {
          GroupDescription d = b.groups().describe(id);
          auto& g = resp.groups.emplace_back();
          g.error_code = wire(d.error);
          g.group_id = d.group_id;
          g.group_state = d.state;
          g.protocol_type = d.protocol_type;
          g.protocol_data = d.protocol_name;
          for (auto& m : d.members) {
            g.members.push_back({m.member_id, m.group_instance_id, m.client_id, m.client_host,
                                 std::move(m.metadata), std::move(m.assignment)});
          }
        }
      });
}

void handle_list_groups(Broker& b, Request&& r) {
  answer<protocol::ListGroupsRequest, protocol::ListGroupsResponse>(
      r, [&](const auto&, auto& resp) {
        for (auto& [id, type] : b.groups().list()) resp.groups.push_back({id, type});
      });
}

void handle_delete_groups(Broker& b, Request&& r) {
  protocol::DeleteGroupsRequest req;
  if (!decode_body(r, req)) return;
  struct State {
    Request request;
    protocol::DeleteGroupsResponse response;
    size_t remaining = 0;
  };
  auto st = std::make_shared<State>();
  st->request = std::move(r);
  st->remaining = req.groups_names.size();
  for (const auto& g : req.groups_names) st->response.results.push_back({g, 0});
  if (st->remaining == 0) {
    respond(st->request, st->response);
    return;
  }
  for (size_t i = 0; i < req.groups_names.size(); ++i) {
    b.groups().delete_group(req.groups_names[i], [st, i](ErrorCode e) {
      st->response.results[i].error_code = wire(e);
      if (--st->remaining == 0) respond(st->request, st->response);
    });
  }
}

}  // namespace ferry::broker
