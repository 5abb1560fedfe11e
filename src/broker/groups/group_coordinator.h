// The consumer group coordinator: membership, rebalances and committed offsets.
//
// The broker relays; assignment runs in the clients. For each group it keeps the members, their
// protocols (opaque metadata) and assignments, and moves through Kafka's states:
//
//   Empty --join--> PreparingRebalance --all joined / rebalance timeout--> CompletingRebalance
//     ^                  ^      ^                                            | leader's SyncGroup
//     |                  |      +-- join with new metadata, leave, expiry ---+        v
//     +-- last member ---+----------- join with new metadata, leave, expiry ------ Stable
//   (DeleteGroups on an Empty group: Dead, and the group is forgotten)
//
// - A JoinGroup is parked until the join phase ends: every known member has rejoined, or the
//   rebalance timeout (the largest of the members') passed, after which members that did not
//   rejoin are removed. The first join into an Empty group waits group.initial.rebalance.delay.ms
//   so that members starting together land in one generation.
// - JoinGroup v4+ without a group instance id first gets MEMBER_ID_REQUIRED with a fresh id
//   (KIP-394). Static members (group.instance.id, KIP-345) that rejoin with an empty member id
//   replace their old member id and, when the group is Stable and their protocols are
//   unchanged, get the current generation back without a rebalance; requests naming the old
//   member id are FENCED_INSTANCE_ID.
// - SyncGroups are parked until the leader's arrives; then each member gets its assignment and
//   the group is Stable.
// - Every request from a member pushes its session deadline back; a member whose deadline
//   passes is removed, which starts a rebalance. Members parked in a join have no deadline.
// - Time comes from the injected Clock: deadlines (session, rebalance, initial delay) from
//   steady_ms, commit and empty-since timestamps from now_ms. One loop timer fires at the
//   earliest deadline and calls check_deadlines(); a test with a FakeClock advances the clock
//   and calls check_deadlines() itself.
// - Committed offsets are written to the metadata store (SQLite, group-committed off the loop)
//   and answered from memory; a commit is acknowledged once durable. Groups that only have
//   committed offsets exist as Empty groups (they survive restarts through the store); their
//   offsets expire offsets.retention.minutes after the group became empty (expire_offsets).
// - In a cluster (set_quorum) the controller coordinates every group: offset commits and
//   deletions go through the metadata quorum (group_quorum.h), which applies them to every
//   node's store; every request is answered NOT_COORDINATOR on other nodes and
//   COORDINATOR_LOAD_IN_PROGRESS while a new controller catches up. coordinator_changed()
//   drops all groups when this node stops coordinating (parked requests get NOT_COORDINATOR)
//   and reloads the offsets from the store when it starts.
// - Membership in a cluster, as Kafka's group metadata records: when the leader's SyncGroup
//   completes a generation, the group's snapshot (generation, protocol, leader; per member its
//   ids, client, timeouts, metadata for the selected protocol and assignment; group_snapshot.h)
//   is proposed through the quorum (store_group), and the generation's SyncGroups are answered
//   once it is committed and applied (on an error they get it and the group rebalances). A
//   group that becomes Empty stores a snapshot without members; DeleteGroups removes it. A new
//   coordinator loads the snapshots with the offsets: members are back in a Stable group with
//   their generation and assignment, each with a fresh session deadline (one that died
//   meanwhile expires and the group rebalances as usual), so a coordinator move costs no
//   rebalance. A single node stores no snapshots.
//
// Threading: loop thread only. Completion callbacks fire on the loop, possibly before the
// calling function returns.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/groups/group_quorum.h"
#include "broker/groups/group_snapshot.h"
#include "broker/kafka_error.h"
#include "common/clock.h"
#include "common/uv_timer.h"
#include "config/broker_config.h"
#include "meta/store.h"
#include "protocol/schema.h"

namespace ferry::broker {

enum class GroupState { empty, preparing_rebalance, completing_rebalance, stable, dead };
const char* group_state_name(GroupState s) noexcept;  // Kafka's names ("Stable", ...)

struct JoinRequest {
  std::string group_id;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string protocol_type;
  std::vector<std::pair<std::string, protocol::Bytes>> protocols;
  std::string client_id;
  std::string client_host;
  bool require_known_member_id = false;  // JoinGroup v4+
};

struct JoinResult {
  ErrorCode error = ErrorCode::none;
  int32_t generation_id = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    protocol::Bytes metadata;
  };
  std::vector<Member> members;  // the leader's response only
};

struct SyncResult {
  ErrorCode error = ErrorCode::none;
  protocol::Bytes assignment;
};

struct MemberRef {
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

struct CommitEntry {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  ErrorCode error = ErrorCode::none;  // set by the coordinator
};

struct GroupDescription {
  ErrorCode error = ErrorCode::none;
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol_name;
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    protocol::Bytes metadata;
    protocol::Bytes assignment;
  };
  std::vector<Member> members;
};

class GroupCoordinator {
 public:
  // `config`, `meta` and `clock` must outlive the coordinator.
  GroupCoordinator(uv_loop_t* loop, const config::BrokerConfig& config, meta::MetaStore& meta,
                   const Clock& clock);
  ~GroupCoordinator();
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  // Loads committed offsets, and the membership stored in a cluster, from the store.
  Status load();

  // A cluster: commits go through `quorum` (which outlives the coordinator), requests are
  // served only while quorum->coordinator_state() is NONE.
  void set_quorum(GroupQuorum* quorum) noexcept { quorum_ = quorum; }
  // NONE when this node serves group requests, else the error to answer them with.
  ErrorCode availability() const;
  // From the quorum: this node started (true) or stopped (false) coordinating.
  void coordinator_changed(bool coordinating);

  void join(JoinRequest req, std::function<void(JoinResult)> done);
  void sync(const std::string& group_id, int32_t generation, const std::string& member_id,
            const std::optional<std::string>& instance_id,
            std::map<std::string, protocol::Bytes> assignments,
            std::function<void(SyncResult)> done);
  ErrorCode heartbeat(const std::string& group_id, int32_t generation, const std::string& member_id,
                      const std::optional<std::string>& instance_id);
  // Per member errors, in order; the group-level error is set for an unknown group.
  ErrorCode leave(const std::string& group_id, const std::vector<MemberRef>& members,
                  std::vector<ErrorCode>& member_errors);

  // Validates and stores; `done` fires once durable with each entry's error filled in (or a
  // group-level error for all).
  void commit(const std::string& group_id, int32_t generation, const std::string& member_id,
              const std::optional<std::string>& instance_id, std::vector<CommitEntry> entries,
              std::function<void(std::vector<CommitEntry>)> done);
  // Committed offset of one partition, or nullopt.
  const meta::OffsetCommit* committed(const std::string& group_id, const std::string& topic,
                                      int32_t partition) const;
  // All committed offsets of a group.
  std::vector<meta::OffsetCommit> committed_all(const std::string& group_id) const;
  // OffsetDelete: group-level error, or per entry errors.
  void delete_offsets(const std::string& group_id, std::vector<CommitEntry> entries,
                      std::function<void(ErrorCode, std::vector<CommitEntry>)> done);

  std::vector<std::pair<std::string, std::string>> list() const;  // (group id, protocol type)
  GroupDescription describe(const std::string& group_id) const;
  void delete_group(const std::string& group_id, std::function<void(ErrorCode)> done);

  // Drops in-memory offsets of a deleted topic (the store deletes its rows with the topic).
  void forget_topic(const std::string& topic);

  // offsets.retention.minutes: drops the committed offsets of groups without members once the
  // group has been empty, and the offset unchanged, for longer than the retention (KIP-211);
  // groups left with neither members nor offsets are forgotten (at once if they are already in
  // that state: housekeeping calls this every few minutes). Returns the offsets dropped.
  size_t expire_offsets(int64_t now_ms);

  // Expires the members whose session deadline passed and ends the join phases whose
  // rebalance timeout (or initial delay) passed, at clock.steady_ms(); then re-arms the loop
  // timer for the next deadline. The timer calls it; tests with a fake clock call it directly.
  void check_deadlines();

  // Answers every parked request with NOT_COORDINATOR (shutdown), so clients look again.
  void shutdown();

 private:
  struct Member;
  struct Group;
  Group* find(const std::string& id);
  const Group* find(const std::string& id) const;
  Group& get_or_create(const std::string& id);
  void touch(Member& m);
  void arm(int64_t deadline_ms);  // makes the timer fire no later than deadline_ms (steady)
  void expire(Group& g, const std::string& member_id);
  void prepare_rebalance(Group& g, const char* why);
  void maybe_complete_join(Group& g);
  void complete_join(Group& g);
  void remove_member(Group& g, const std::string& member_id);
  void add_member(Group& g, JoinRequest& req, const std::string& member_id,
                  std::function<void(JoinResult)> done);
  JoinResult join_result(const Group& g, const Member& m) const;
  std::string new_member_id(const std::string& client_id);

  // Leader's assignments in: every member gets its own, the group is Stable.
  void complete_sync(Group& g, std::map<std::string, protocol::Bytes> assignments);
  // The group's membership; with `assignments`, those instead of the members' current ones.
  GroupSnapshot snapshot_of(const Group& g,
                            const std::map<std::string, protocol::Bytes>* assignments) const;
  // A stored snapshot back into a group (load): Stable, or Empty without members.
  void restore(const std::string& group_id, GroupSnapshot snap);

  void drop_all_groups();
  void store_offsets(const std::string& group_id, std::vector<meta::OffsetCommit> rows,
                     std::function<void(ErrorCode)> done);

  const config::BrokerConfig& config_;
  meta::MetaStore& meta_;
  GroupQuorum* quorum_ = nullptr;
  const Clock& clock_;
  std::map<std::string, std::unique_ptr<Group>> groups_;
  UvTimer deadline_timer_;
  int64_t armed_for_ms_ = 0;  // steady time the timer fires at; 0 = not armed
  uint64_t next_member_ = 0;
};

}  // namespace ferry::broker
