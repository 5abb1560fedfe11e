// GroupMember: JoinGroup, the leader's assignment, SyncGroup, heartbeats and LeaveGroup of one
// consumer group member. Loop thread only (see group_member.h).
#include "client/group_member.h"

#include <algorithm>
#include <set>
#include <utility>

#include "client/assignors.h"
#include "client/consumer_protocol.h"

namespace ferry::client {

using protocol::ApiKey;
using protocol::ErrorCode;

GroupMember::GroupMember(Client& client, GroupMemberConfig config, Events events)
    : client_(client),
      config_(std::move(config)),
      events_(std::move(events)),
      timer_(client.loop()),
      defer_(client.loop()) {}

void GroupMember::join(std::vector<std::string> topics) {
  topics_ = std::move(topics);
  std::sort(topics_.begin(), topics_.end());
  send_join();
}

void GroupMember::send_join() {
  if (state_ == State::left) return;
  state_ = State::joining;
  ++round_;
  protocol::JoinGroupRequest req;
  req.group_id = config_.group_id;
  req.session_timeout_ms = config_.session_timeout_ms;
  req.rebalance_timeout_ms = config_.rebalance_timeout_ms;
  req.member_id = member_id_;
  req.protocol_type = "consumer";
  ConsumerSubscription sub;
  sub.topics = topics_;
  req.protocols.push_back({config_.assignor, encode_consumer_subscription(sub)});
  client_.send_to_coordinator<ApiKey::join_group>(
      config_.group_id, std::move(req),
      in_round<protocol::JoinGroupResponse>([this](KafkaResult<protocol::JoinGroupResponse> r) {
        if (!r) {
          retry(r.error());
          return;
        }
        on_join(std::move(r).value());
      }));
}

void GroupMember::on_join(protocol::JoinGroupResponse r) {
  const auto code = static_cast<ErrorCode>(r.error_code);
  switch (code) {
    case ErrorCode::none: break;
    case ErrorCode::member_id_required:  // KIP-394: join again with the id handed out
      member_id_ = r.member_id;
      send_join();
      return;
    case ErrorCode::unknown_member_id:
    case ErrorCode::illegal_generation:
      member_id_.clear();
      send_join();
      return;
    case ErrorCode::rebalance_in_progress: send_join(); return;
    default: retry(KafkaError::broker(code, "join group")); return;
  }
  generation_ = r.generation_id;
  member_id_ = r.member_id;
  state_ = State::syncing;
  if (r.leader != member_id_) {
    sync({});
    return;
  }
  assign_and_sync(r);
}

// The leader: reads every member's subscription, learns the partition counts, assigns.
void GroupMember::assign_and_sync(const protocol::JoinGroupResponse& r) {
  Subscriptions subs;
  std::set<std::string> all_topics;
  for (const auto& m : r.members) {
    auto s = decode_consumer_subscription(m.metadata);
    if (!s) {
      error(KafkaError::local(ErrorCode::inconsistent_group_protocol, s.error()));
      subs[m.member_id];
      continue;
    }
    subs[m.member_id] = s->topics;
    all_topics.insert(s->topics.begin(), s->topics.end());
  }
  client_.metadata(
      std::vector<std::string>(all_topics.begin(), all_topics.end()),
      in_round<protocol::MetadataResponse>(
          [this, subs = std::move(subs),
           protocol = r.protocol_name](KafkaResult<protocol::MetadataResponse> md) {
            if (!md) {
              retry(md.error());
              return;
            }
            PartitionCounts counts;
            for (const auto& t : md->topics) {
              if (t.error_code == 0) counts[t.name] = static_cast<int32_t>(t.partitions.size());
            }
            std::vector<protocol::SyncGroupRequest::Assignment> out;
            for (const auto& [member, topics] : client::assign(protocol, subs, counts)) {
              ConsumerAssignment a;
              for (const auto& [topic, parts] : topics) a.assigned.push_back({topic, parts});
              out.push_back({member, encode_consumer_assignment(a)});
            }
            sync(std::move(out));
          }));
}

void GroupMember::sync(std::vector<protocol::SyncGroupRequest::Assignment> assignments) {
  protocol::SyncGroupRequest req;
  req.group_id = config_.group_id;
  req.generation_id = generation_;
  req.member_id = member_id_;
  req.assignments = std::move(assignments);
  client_.send_to_coordinator<ApiKey::sync_group>(
      config_.group_id, std::move(req),
      in_round<protocol::SyncGroupResponse>([this](KafkaResult<protocol::SyncGroupResponse> r) {
        if (!r) {
          retry(r.error());
          return;
        }
        on_sync(*r);
      }));
}

void GroupMember::on_sync(const protocol::SyncGroupResponse& r) {
  const auto code = static_cast<ErrorCode>(r.error_code);
  if (code == ErrorCode::rebalance_in_progress) {
    send_join();
    return;
  }
  if (code == ErrorCode::unknown_member_id || code == ErrorCode::illegal_generation) {
    rejoin(true);
    return;
  }
  if (code != ErrorCode::none) {
    retry(KafkaError::broker(code, "sync group"));
    return;
  }
  auto a = decode_consumer_assignment(r.assignment);
  if (!a) {
    retry(KafkaError::local(ErrorCode::inconsistent_group_protocol, a.error()));
    return;
  }
  std::vector<TopicPartition> mine;
  for (const auto& t : a->assigned)
    for (int32_t p : t.partitions) mine.push_back({t.topic, p});
  std::sort(mine.begin(), mine.end());
  state_ = State::stable;
  heartbeat();
  if (events_.assigned) events_.assigned(mine);  // last: it may destroy this member
}

void GroupMember::heartbeat() {
  timer_.start(config_.heartbeat_interval_ms, [this] {
    if (state_ != State::stable) return;
    protocol::HeartbeatRequest req;
    req.group_id = config_.group_id;
    req.generation_id = generation_;
    req.member_id = member_id_;
    client_.send_to_coordinator<ApiKey::heartbeat>(
        config_.group_id, std::move(req),
        in_round<protocol::HeartbeatResponse>(
            [this](KafkaResult<protocol::HeartbeatResponse> r) { on_heartbeat(std::move(r)); }));
  });
}

void GroupMember::on_heartbeat(KafkaResult<protocol::HeartbeatResponse> r) {
  if (!r) {
    // The session timeout decides; keep trying (send_to_coordinator forgot the coordinator, so
    // it is found again).
    heartbeat();
    error(r.error());
    return;
  }
  const auto code = static_cast<ErrorCode>(r->error_code);
  if (Client::is_coordinator_error(code)) {
    client_.forget_coordinator(config_.group_id);
    heartbeat();
    return;
  }
  switch (code) {
    case ErrorCode::none: heartbeat(); return;
    case ErrorCode::rebalance_in_progress: rejoin(false); return;
    case ErrorCode::illegal_generation:
    case ErrorCode::unknown_member_id:
    case ErrorCode::fenced_instance_id: rejoin(true); return;
    default:
      heartbeat();
      error(KafkaError::broker(code, "heartbeat"));
      return;
  }
}

void GroupMember::rejoin(bool reset_member) {
  if (state_ == State::left) return;
  timer_.stop();
  std::weak_ptr<int> alive = life_;
  if (events_.revoke) events_.revoke();  // with the old generation still in place
  if (alive.expired() || state_ == State::left) return;
  if (reset_member) {
    member_id_.clear();
    generation_ = -1;
  }
  send_join();
}

void GroupMember::retry(const KafkaError& e) {
  // A coordinator that moved or is unreachable is found again before the next join; that is
  // routine (a broker restart), not an error for the application.
  const bool coordinator = Client::is_coordinator_error(e.code());
  if (!e.from_broker() || coordinator) client_.forget_coordinator(config_.group_id);
  state_ = State::joining;
  ++round_;
  timer_.start(std::max<uint64_t>(config_.retry_backoff_ms, 100), [this] { send_join(); });
  if (!coordinator) error(e);
}

void GroupMember::leave(std::function<void()> done) {
  const bool member = state_ != State::left && !member_id_.empty();
  state_ = State::left;
  ++round_;
  timer_.stop();
  if (!member) {
    defer_.start(0, std::move(done));
    return;
  }
  protocol::LeaveGroupRequest req;
  req.group_id = config_.group_id;
  req.member_id = member_id_;
  req.members.push_back({member_id_, std::nullopt});
  client_.send_to_coordinator<ApiKey::leave_group>(
      config_.group_id, std::move(req),
      [alive = std::weak_ptr<int>(life_),
       done = std::move(done)](KafkaResult<protocol::LeaveGroupResponse>) {
        if (!alive.expired()) done();
      });
}

}  // namespace ferry::client
