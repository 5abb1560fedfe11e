// GroupMember: a Consumer's membership of one consumer group with the classic protocol and eager
// rebalancing - FindCoordinator (through the Client), JoinGroup, the leader's assignment,
// SyncGroup, heartbeats, LeaveGroup.
//
//   GroupMember m(client, {.group_id = "g"}, {.revoke = ..., .assigned = ..., .error = ...});
//   m.join({"t"});        // later: events.assigned({{"t", 0}, {"t", 1}})
//   m.leave([] { ... });  // LeaveGroup sent and answered (or failed)
//
// Joining: JoinGroup is retried with the member id the broker hands out on MEMBER_ID_REQUIRED
// (KIP-394); the leader reads every member's subscription, asks Metadata for the partition
// counts and assigns with config.assignor (client/assignors.h); SyncGroup hands each member its
// partitions (events.assigned). Heartbeats every heartbeat_interval_ms; REBALANCE_IN_PROGRESS,
// ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID and FENCED_INSTANCE_ID make it rejoin, which first calls
// events.revoke (the eager protocol: every partition is given up; while revoke runs,
// generation() and member_id() are still those of the old generation, so a commit made there
// is accepted). A coordinator that moved or is unreachable is found again and the join retried
// after retry_backoff_ms; other group errors go to events.error as well.
//
// Threading: loop thread only; events run on the loop thread from the Client's callbacks, never
// inside join()/rejoin()/leave(). Ownership: the Client must outlive the GroupMember; the
// GroupMember may be destroyed at any time on the loop thread (pending work is dropped), also
// from inside one of its events.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/kafka_error.h"
#include "client/topic_partition.h"
#include "common/uv_timer.h"

namespace ferry::client {

struct GroupMemberConfig {
  std::string group_id;
  std::string assignor = "range";  // range | roundrobin
  int32_t session_timeout_ms = 10'000;
  int32_t rebalance_timeout_ms = 30'000;
  uint64_t heartbeat_interval_ms = 3'000;
  uint64_t retry_backoff_ms = 100;
};

class GroupMember {
 public:
  struct Events {
    // The member gives up its partitions before rejoining (stable() is still true when it
    // was a settled member, with the old generation).
    std::function<void()> revoke;
    // SyncGroup answered: the partitions this member now owns (sorted); stable() is true.
    std::function<void(const std::vector<TopicPartition>&)> assigned;
    // A group error the member retries by itself but the application may want to see
    // (retriable ones included; the caller filters).
    std::function<void(const KafkaError&)> error;
  };

  GroupMember(Client& client, GroupMemberConfig config, Events events);
  GroupMember(const GroupMember&) = delete;
  GroupMember& operator=(const GroupMember&) = delete;

  // Joins the group subscribed to `topics`.
  void join(std::vector<std::string> topics);
  // Gives up the assignment and joins again, with a new member id when `reset_member` (a commit
  // or heartbeat answered ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID). No-op once left.
  void rejoin(bool reset_member);
  // Stops heartbeats and retries for good; sends LeaveGroup when the member has an id, then
  // runs `done` (after the answer, or on a later loop turn when there is nothing to send).
  void leave(std::function<void()> done);

  // Joined and synced: the assignment is settled.
  bool stable() const noexcept { return state_ == State::stable; }
  int32_t generation() const noexcept { return generation_; }
  const std::string& member_id() const noexcept { return member_id_; }
  const std::string& group_id() const noexcept { return config_.group_id; }

 private:
  enum class State { joining, syncing, stable, left };

  void send_join();
  void on_join(protocol::JoinGroupResponse r);
  void assign_and_sync(const protocol::JoinGroupResponse& r);
  void sync(std::vector<protocol::SyncGroupRequest::Assignment> assignments);
  void on_sync(const protocol::SyncGroupResponse& r);
  void heartbeat();
  void on_heartbeat(KafkaResult<protocol::HeartbeatResponse> r);
  void retry(const KafkaError& e);
  void error(const KafkaError& e) {
    if (events_.error) events_.error(e);
  }
  // A callback for a request sent in the current join round: dropped once this GroupMember is
  // gone, has left, or has started another round.
  template <typename R, typename F>
  auto in_round(F fn) {
    return [this, alive = std::weak_ptr<int>(life_), round = round_,
            fn = std::move(fn)](KafkaResult<R> r) mutable {
      if (alive.expired() || state_ == State::left || round != round_) return;
      fn(std::move(r));
    };
  }

  Client& client_;
  GroupMemberConfig config_;
  Events events_;
  std::vector<std::string> topics_;  // sorted
  State state_ = State::joining;
  std::string member_id_;
  int32_t generation_ = -1;
  uint64_t round_ = 0;  // bumped on each (re)join so that stale answers are ignored
  UvTimer timer_;       // heartbeats, and join retries
  UvTimer defer_;       // leave() without a request to send
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace ferry::client
