// The group coordinator's state machine, driven directly on a loop: joins (KIP-394, initial
// delay), sync, heartbeats in each state, leaves, session expiry, static membership, protocol
// checks, offset commit validation and group deletion. Time is a fake clock: session and
// rebalance timeouts pass by advancing it and calling check_deadlines(), never by waiting.
#include "broker/groups/group_coordinator.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "broker/groups/group_snapshot.h"
#include "common/clock.h"
#include "support/loop.h"
#include "support/test_support.h"

namespace ferry::broker {
namespace {

using protocol::Bytes;

Bytes bytes(const std::string& s) {
  Bytes b;
  for (char c : s) b.push_back(static_cast<std::byte>(c));
  return b;
}

class GroupCoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    auto store = meta::MetaStore::open(dir_.file("meta.db"), &loop_);
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    config_.group_initial_rebalance_delay_ms = 0;
    coord_ = std::make_unique<GroupCoordinator>(&loop_, config_, *store_, clock_);
  }
  void TearDown() override {
    coord_->shutdown();
    coord_.reset();
    bool closed = false;
    store_->close([&](Status) { closed = true; });
    run_until([&] { return closed; });
    store_.reset();
    for (int i = 0; i < 10; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  bool run_until(const std::function<bool()>& done, int max_ms = 5000) {
    return ferry::test::run_until(&loop_, done, static_cast<uint64_t>(max_ms));
  }

  JoinRequest join_req(const std::string& member_id, const std::string& protocol = "range",
                       std::optional<std::string> instance = std::nullopt) {
    JoinRequest r;
    r.group_id = "g";
    r.session_timeout_ms = 6000;
    r.rebalance_timeout_ms = 3000;
    r.member_id = member_id;
    r.group_instance_id = std::move(instance);
    r.protocol_type = "consumer";
    r.protocols = {{protocol, bytes("md-" + protocol)}};
    r.client_id = "client";
    r.client_host = "/127.0.0.1";
    return r;
  }

  // Moves the fake clock on and lets the coordinator act on the deadlines that passed.
  void advance(int64_t ms) {
    clock_.advance_ms(ms);
    coord_->check_deadlines();
  }

  // Starts a join; the result lands in `*out` when the coordinator answers.
  std::shared_ptr<std::optional<JoinResult>> join(JoinRequest r) {
    auto out = std::make_shared<std::optional<JoinResult>>();
    coord_->join(std::move(r), [out](JoinResult res) { *out = std::move(res); });
    return out;
  }
  std::shared_ptr<std::optional<SyncResult>> sync(int32_t gen, const std::string& member,
                                                  std::map<std::string, Bytes> a = {},
                                                  std::optional<std::string> instance = {}) {
    auto out = std::make_shared<std::optional<SyncResult>>();
    coord_->sync("g", gen, member, instance, std::move(a),
                 [out](SyncResult res) { *out = std::move(res); });
    return out;
  }

  // Two dynamic members joined through MEMBER_ID_REQUIRED and synced: returns their ids,
  // leader first.
  std::pair<std::string, std::string> stable_pair() {
    JoinRequest a = join_req("");
    a.require_known_member_id = true;
    auto first = join(a);
    EXPECT_TRUE(first->has_value());
    EXPECT_EQ((*first)->error, ErrorCode::member_id_required);
    const std::string id_a = (*first)->member_id;
    auto ja = join(join_req(id_a));
    auto jb = join(join_req(""));
    // The join phase ends when the loop timer fires (initial delay 0).
    EXPECT_TRUE(run_until([&] { return ja->has_value() && jb->has_value(); }));
    EXPECT_EQ((*ja)->generation_id, (*jb)->generation_id);
    const std::string leader = (*ja)->leader;
    const std::string other = leader == (*ja)->member_id ? (*jb)->member_id : (*ja)->member_id;
    auto s_other = sync((*ja)->generation_id, other);
    EXPECT_FALSE(s_other->has_value()) << "a follower's sync waits for the leader's";
    auto s_leader = sync((*ja)->generation_id, leader,
                         {{leader, bytes("for-leader")}, {other, bytes("for-other")}});
    EXPECT_TRUE(s_leader->has_value() && s_other->has_value());
    EXPECT_EQ((*s_leader)->assignment, bytes("for-leader"));
    EXPECT_EQ((*s_other)->assignment, bytes("for-other"));
    return {leader, other};
  }

  test::TempDir dir_;
  FakeClock clock_;
  uv_loop_t loop_{};
  config::BrokerConfig config_;
  std::unique_ptr<meta::MetaStore> store_;
  std::unique_ptr<GroupCoordinator> coord_;
};

TEST_F(GroupCoordinatorTest, MembersJoinOneGenerationAndTheLeadersAssignmentIsRelayed) {
  auto [leader, other] = stable_pair();
  auto d = coord_->describe("g");
  EXPECT_EQ(d.state, "Stable");
  EXPECT_EQ(d.protocol_type, "consumer");
  EXPECT_EQ(d.protocol_name, "range");
  ASSERT_EQ(d.members.size(), 2u);
  for (const auto& m : d.members) {
    EXPECT_EQ(m.metadata, bytes("md-range"));
    EXPECT_EQ(m.assignment, bytes(m.member_id == leader ? "for-leader" : "for-other"));
    EXPECT_EQ(m.client_host, "/127.0.0.1");
  }
  EXPECT_EQ(coord_->describe("unknown").state, "Dead");
  EXPECT_EQ(coord_->list().size(), 1u);
}

TEST_F(GroupCoordinatorTest, TheLeaderLearnsEveryMembersMetadata) {
  auto ja = join(join_req(""));
  auto jb = join(join_req(""));
  advance(0);
  ASSERT_TRUE(ja->has_value() && jb->has_value());
  const auto& leader = (*ja)->member_id == (*ja)->leader ? **ja : **jb;
  const auto& follower = (*ja)->member_id == (*ja)->leader ? **jb : **ja;
  EXPECT_EQ(leader.members.size(), 2u);
  EXPECT_TRUE(follower.members.empty());
  EXPECT_EQ(leader.generation_id, 1);
}

TEST_F(GroupCoordinatorTest, HeartbeatAnswersDependOnStateGenerationAndMember) {
  auto [leader, other] = stable_pair();
  EXPECT_EQ(coord_->heartbeat("g", 1, leader, std::nullopt), ErrorCode::none);
  EXPECT_EQ(coord_->heartbeat("g", 7, leader, std::nullopt), ErrorCode::illegal_generation);
  EXPECT_EQ(coord_->heartbeat("g", 1, "nobody", std::nullopt), ErrorCode::unknown_member_id);
  EXPECT_EQ(coord_->heartbeat("nogroup", 1, leader, std::nullopt), ErrorCode::unknown_member_id);
  // A third member starts a rebalance: the others are told to rejoin.
  auto jc = join(join_req(""));
  EXPECT_EQ(coord_->heartbeat("g", 1, leader, std::nullopt), ErrorCode::rebalance_in_progress);
  EXPECT_EQ(coord_->describe("g").state, "PreparingRebalance");
  auto ja = join(join_req(leader));
  auto jb = join(join_req(other));
  advance(0);
  ASSERT_TRUE(ja->has_value() && jb->has_value() && jc->has_value());
  EXPECT_EQ((*jc)->generation_id, 2);
  EXPECT_EQ((*ja)->leader, leader) << "the leader that rejoined stays leader";
  EXPECT_EQ(coord_->describe("g").state, "CompletingRebalance");
  EXPECT_EQ(coord_->heartbeat("g", 2, other, std::nullopt), ErrorCode::none);
  // A sync of the old generation is refused.
  auto old = sync(1, other);
  ASSERT_TRUE(old->has_value());
  EXPECT_EQ((*old)->error, ErrorCode::illegal_generation);
}

TEST_F(GroupCoordinatorTest, MembersThatDoNotRejoinInTimeAreRemoved) {
  auto [leader, other] = stable_pair();
  std::vector<ErrorCode> errors;
  // The follower rejoins with new metadata; the leader never does.
  auto jb = join(join_req(other, "range"));
  JoinRequest changed = join_req(other, "roundrobin");
  changed.protocols.push_back({"range", bytes("md-range")});
  auto jb2 = join(changed);
  advance(2999);  // rebalance timeout 3 s
  EXPECT_FALSE(jb2->has_value()) << "the join phase waits for the leader until the timeout";
  EXPECT_EQ(coord_->describe("g").members.size(), 2u);
  advance(1);
  ASSERT_TRUE(jb2->has_value());
  EXPECT_EQ((*jb2)->leader, other);
  EXPECT_EQ(coord_->describe("g").members.size(), 1u);
  EXPECT_EQ(coord_->heartbeat("g", (*jb2)->generation_id, leader, std::nullopt),
            ErrorCode::unknown_member_id);
}

TEST_F(GroupCoordinatorTest, LeaveStartsARebalanceAndTheLastLeaveEmptiesTheGroup) {
  auto [leader, other] = stable_pair();
  std::vector<ErrorCode> errors;
  EXPECT_EQ(coord_->leave("g", {{leader, std::nullopt}, {"ghost", std::nullopt}}, errors),
            ErrorCode::none);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], ErrorCode::none);
  EXPECT_EQ(errors[1], ErrorCode::unknown_member_id);
  EXPECT_EQ(coord_->heartbeat("g", 1, other, std::nullopt), ErrorCode::rebalance_in_progress);
  auto jb = join(join_req(other));
  advance(0);
  ASSERT_TRUE(jb->has_value());
  EXPECT_EQ((*jb)->leader, other);
  EXPECT_EQ((*jb)->generation_id, 2);
  EXPECT_EQ(coord_->leave("g", {{other, std::nullopt}}, errors), ErrorCode::none);
  EXPECT_EQ(coord_->describe("g").state, "Empty");
}

TEST_F(GroupCoordinatorTest, ASilentMemberExpiresAfterItsSessionTimeout) {
  auto [leader, other] = stable_pair();
  // Only the follower keeps heartbeating (session timeout 6 s).
  advance(4000);
  EXPECT_EQ(coord_->heartbeat("g", 1, other, std::nullopt), ErrorCode::none);
  advance(1999);
  EXPECT_EQ(coord_->heartbeat("g", 1, other, std::nullopt), ErrorCode::none)
      << "the leader's session has 1 ms left";
  advance(1);
  EXPECT_EQ(coord_->heartbeat("g", 1, other, std::nullopt), ErrorCode::rebalance_in_progress);
  EXPECT_EQ(coord_->heartbeat("g", 1, leader, std::nullopt), ErrorCode::unknown_member_id);
  auto jb = join(join_req(other));
  ASSERT_TRUE(jb->has_value()) << "the only member left rejoined: the join phase ends at once";
  EXPECT_EQ((*jb)->leader, other);
  EXPECT_EQ(coord_->describe("g").members.size(), 1u);
}

// Deadlines follow the steady clock: a wall-clock step (NTP at boot) expires no session.
TEST_F(GroupCoordinatorTest, AWallClockStepExpiresNoSession) {
  class SteppingClock final : public Clock {
   public:
    int64_t now_ms() const override { return wall; }
    int64_t steady_ms() const override { return steady; }
    int64_t wall = 1'700'000'000'000;
    int64_t steady = 5'000;
  } clock;
  GroupCoordinator coord(&loop_, config_, *store_, clock);
  std::optional<JoinResult> joined;
  coord.join(join_req(""), [&](JoinResult r) { joined = std::move(r); });
  coord.check_deadlines();  // initial delay 0
  ASSERT_TRUE(joined.has_value());
  const std::string id = joined->member_id;
  clock.wall += 3'600'000;
  coord.check_deadlines();
  EXPECT_EQ(coord.heartbeat("g", 1, id, std::nullopt), ErrorCode::none) << "wall clock +1 h";
  clock.steady += 6'000;
  coord.check_deadlines();
  EXPECT_EQ(coord.heartbeat("g", 1, id, std::nullopt), ErrorCode::unknown_member_id)
      << "6 s of steady time: the session expired";
  coord.shutdown();
}

TEST_F(GroupCoordinatorTest, AStaticMemberRejoiningGetsItsAssignmentBackWithoutARebalance) {
  auto ja = join(join_req("", "range", "instance-a"));
  auto jb = join(join_req(""));
  advance(0);
  ASSERT_TRUE(ja->has_value() && jb->has_value());
  const std::string a = (*ja)->member_id;
  const std::string b = (*jb)->member_id;
  const std::string leader = (*ja)->leader;
  auto sa = sync(1, a,
                 leader == a ? std::map<std::string, Bytes>{{a, bytes("A")}, {b, bytes("B")}}
                             : std::map<std::string, Bytes>{},
                 "instance-a");
  auto sb = sync(1, b,
                 leader == b ? std::map<std::string, Bytes>{{a, bytes("A")}, {b, bytes("B")}}
                             : std::map<std::string, Bytes>{});
  ASSERT_TRUE(sa->has_value() && sb->has_value());
  // Restart of the static member: empty member id, same instance id and protocols.
  auto again = join(join_req("", "range", "instance-a"));
  ASSERT_TRUE(again->has_value()) << "answered at once, no rebalance";
  EXPECT_EQ((*again)->error, ErrorCode::none);
  EXPECT_EQ((*again)->generation_id, 1);
  const std::string a2 = (*again)->member_id;
  EXPECT_NE(a2, a);
  EXPECT_EQ(coord_->describe("g").state, "Stable");
  EXPECT_EQ(coord_->heartbeat("g", 1, b, std::nullopt), ErrorCode::none);
  auto s2 = sync(1, a2, {}, "instance-a");
  ASSERT_TRUE(s2->has_value());
  EXPECT_EQ((*s2)->assignment, bytes("A"));
  // The old member id is fenced.
  EXPECT_EQ(coord_->heartbeat("g", 1, a, "instance-a"), ErrorCode::fenced_instance_id);
}

TEST_F(GroupCoordinatorTest, JoinsAreCheckedForTimeoutsAndProtocols) {
  JoinRequest bad = join_req("");
  bad.session_timeout_ms = 100;
  EXPECT_EQ((*join(bad))->error, ErrorCode::invalid_session_timeout);
  bad = join_req("");
  bad.group_id.clear();
  EXPECT_EQ((*join(bad))->error, ErrorCode::invalid_group_id);
  EXPECT_EQ((*join(join_req("not-a-member")))->error, ErrorCode::unknown_member_id);
  auto ja = join(join_req(""));
  advance(0);
  ASSERT_TRUE(ja->has_value());
  JoinRequest other_type = join_req("");
  other_type.protocol_type = "connect";
  EXPECT_EQ((*join(other_type))->error, ErrorCode::inconsistent_group_protocol);
  EXPECT_EQ((*join(join_req("", "sticky")))->error, ErrorCode::inconsistent_group_protocol);
}

TEST_F(GroupCoordinatorTest, TheFirstJoinIntoAnEmptyGroupWaitsTheInitialDelay) {
  config_.group_initial_rebalance_delay_ms = 300;
  auto ja = join(join_req(""));
  advance(100);
  EXPECT_FALSE(ja->has_value());
  auto jb = join(join_req(""));
  advance(199);
  EXPECT_FALSE(ja->has_value() || jb->has_value()) << "the delay runs from the first join";
  advance(1);
  ASSERT_TRUE(ja->has_value() && jb->has_value());
  EXPECT_EQ((*ja)->generation_id, 1) << "both members in the first generation";
  EXPECT_EQ((*jb)->generation_id, 1);
}

TEST_F(GroupCoordinatorTest, OffsetCommitsAreValidatedAgainstTheGeneration) {
  auto [leader, other] = stable_pair();
  auto commit = [&](int32_t gen, const std::string& member) {
    std::optional<std::vector<CommitEntry>> out;
    coord_->commit("g", gen, member, std::nullopt, {{"t", 0, 42, -1, "m", ErrorCode::none}},
                   [&](std::vector<CommitEntry> r) { out = std::move(r); });
    EXPECT_TRUE(run_until([&] { return out.has_value(); }));
    return out ? out->at(0).error : ErrorCode::unknown_server_error;
  };
  EXPECT_EQ(commit(9, leader), ErrorCode::illegal_generation);
  EXPECT_EQ(commit(1, "ghost"), ErrorCode::unknown_member_id);
  EXPECT_EQ(commit(-1, ""), ErrorCode::unknown_member_id) << "the group has members";
  {
    // Metadata over 4096 bytes.
    std::optional<std::vector<CommitEntry>> out;
    coord_->commit("g", 1, leader, std::nullopt,
                   {{"t", 0, 1, -1, std::string(5000, 'x'), ErrorCode::none}},
                   [&](std::vector<CommitEntry> r) { out = std::move(r); });
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(out->at(0).error, ErrorCode::offset_metadata_too_large);
  }
  EXPECT_EQ(commit(1, leader), ErrorCode::none);
  ASSERT_NE(coord_->committed("g", "t", 0), nullptr);
  EXPECT_EQ(coord_->committed("g", "t", 0)->offset.value(), 42);
  EXPECT_EQ(coord_->committed("g", "t", 0)->metadata, "m");
  // Deleting a group with members is refused; an unknown one is not found.
  std::optional<ErrorCode> del;
  coord_->delete_group("g", [&](ErrorCode e) { del = e; });
  EXPECT_EQ(del, ErrorCode::non_empty_group);
  coord_->delete_group("nope", [&](ErrorCode e) { del = e; });
  EXPECT_EQ(del, ErrorCode::group_id_not_found);
}

TEST_F(GroupCoordinatorTest, CommittedOffsetsOfAnEmptyGroupSurviveAReload) {
  std::optional<std::vector<CommitEntry>> out;
  coord_->commit("simple", -1, "", std::nullopt, {{"t", 3, 7, 2, std::nullopt, ErrorCode::none}},
                 [&](std::vector<CommitEntry> r) { out = std::move(r); });
  ASSERT_TRUE(run_until([&] { return out.has_value(); }));
  EXPECT_EQ(out->at(0).error, ErrorCode::none);
  GroupCoordinator fresh(&loop_, config_, *store_, clock_);
  ASSERT_TRUE(fresh.load().ok());
  ASSERT_NE(fresh.committed("simple", "t", 3), nullptr);
  EXPECT_EQ(fresh.committed("simple", "t", 3)->offset.value(), 7);
  EXPECT_EQ(fresh.committed("simple", "t", 3)->leader_epoch.value(), 2);
  EXPECT_EQ(fresh.describe("simple").state, "Empty");
  std::optional<ErrorCode> del;
  coord_->delete_group("simple", [&](ErrorCode e) { del = e; });
  ASSERT_TRUE(run_until([&] { return del.has_value(); }));
  EXPECT_EQ(*del, ErrorCode::none);
  EXPECT_EQ(coord_->committed("simple", "t", 3), nullptr);
}

}  // namespace
}  // namespace ferry::broker

namespace ferry::broker {
namespace {

TEST_F(GroupCoordinatorTest, OffsetsOfAnEmptyGroupExpireAfterTheRetention) {
  config_.offsets_retention_minutes = 1;
  std::optional<std::vector<CommitEntry>> out;
  coord_->commit("idle", -1, "", std::nullopt, {{"t", 0, 5, -1, std::nullopt, ErrorCode::none}},
                 [&](std::vector<CommitEntry> r) { out = std::move(r); });
  ASSERT_TRUE(run_until([&] { return out.has_value(); }));
  // A live group keeps its offsets however old they are.
  auto [leader, other] = stable_pair();
  out.reset();
  coord_->commit("g", 1, leader, std::nullopt, {{"t", 1, 9, -1, std::nullopt, ErrorCode::none}},
                 [&](std::vector<CommitEntry> r) { out = std::move(r); });
  ASSERT_TRUE(run_until([&] { return out.has_value(); }));
  const int64_t now = clock_.now_ms();
  EXPECT_EQ(coord_->expire_offsets(now + 30'000), 0u) << "within the retention";
  EXPECT_EQ(coord_->expire_offsets(now + 120'000), 1u) << "only the empty group's offset";
  ASSERT_TRUE(run_until([&] { return coord_->committed("idle", "t", 0) == nullptr; }));
  EXPECT_EQ(coord_->describe("idle").state, "Dead") << "forgotten once it has nothing left";
  EXPECT_NE(coord_->committed("g", "t", 1), nullptr);
  // And the store forgot it too.
  GroupCoordinator fresh(&loop_, config_, *store_, clock_);
  ASSERT_TRUE(fresh.load().ok());
  EXPECT_EQ(fresh.committed("idle", "t", 0), nullptr);
  EXPECT_NE(fresh.committed("g", "t", 1), nullptr);
}

}  // namespace
}  // namespace ferry::broker

namespace ferry::broker {
namespace {

TEST_F(GroupCoordinatorTest, MemberIdsHandedOutButNeverUsedAreForgotten) {
  JoinRequest a = join_req("");
  a.require_known_member_id = true;
  auto first = join(a);
  ASSERT_TRUE(first->has_value());
  ASSERT_EQ((*first)->error, ErrorCode::member_id_required);
  const std::string id = (*first)->member_id;
  EXPECT_EQ(coord_->expire_offsets(clock_.now_ms()), 0u);
  EXPECT_EQ(coord_->describe("g").state, "Empty") << "kept while the id may still be used";
  // The client never came back within its session timeout.
  coord_->expire_offsets(clock_.now_ms() + 60'000);
  EXPECT_EQ(coord_->describe("g").state, "Dead");
  EXPECT_EQ((*join(join_req(id)))->error, ErrorCode::unknown_member_id);
}

}  // namespace
}  // namespace ferry::broker

namespace ferry::broker {
namespace {

// A cluster's quorum as the coordinator sees it: its state is set by the test; changes are
// written to the store (as every node's applier does) and answered at once, or held.
class FakeGroupQuorum final : public GroupQuorum {
 public:
  explicit FakeGroupQuorum(meta::MetaStore& store) : store_(store) {}
  ErrorCode coordinator_state() const override { return state; }
  void commit_offsets(const std::string& group, std::vector<meta::OffsetCommit> rows,
                      Done done) override {
    ++proposals;
    apply({meta::Mutation::commit_offsets(group, std::move(rows))}, std::move(done));
  }
  void delete_offsets(const std::string& group,
                      std::vector<std::pair<std::string, PartitionId>> partitions,
                      Done done) override {
    ++proposals;
    std::vector<meta::Mutation> m;
    for (auto& [t, p] : partitions) m.push_back(meta::Mutation::delete_offsets(group, t, p));
    apply(std::move(m), std::move(done));
  }
  void delete_group(const std::string& group, Done done) override {
    ++proposals;
    apply({meta::Mutation::delete_group(group), delete_group_snapshot(group)}, std::move(done));
  }
  void store_group(const std::string& group, GroupSnapshot snapshot, Done done) override {
    ++stored;
    if (hold) {
      held.push_back(std::move(done));
      return;
    }
    apply({put_group_snapshot(group, snapshot)}, std::move(done));
  }

  ErrorCode state = ErrorCode::none;
  ErrorCode answer = ErrorCode::none;  // what a proposal gets (not NONE: not applied)
  int proposals = 0;
  int stored = 0;     // store_group calls
  bool hold = false;  // store_group waits until the test answers `held`
  std::vector<Done> held;

 private:
  void apply(std::vector<meta::Mutation> m, Done done) {
    if (answer != ErrorCode::none) {
      done(KafkaError(answer));
      return;
    }
    store_.submit(std::move(m), [done = std::move(done)](Status st) {
      done(st ? KafkaError{} : to_kafka_error(st.error()));
    });
  }
  meta::MetaStore& store_;
};

TEST_F(GroupCoordinatorTest, InAClusterOnlyTheCoordinatorServesAndCommitsGoThroughTheQuorum) {
  FakeGroupQuorum quorum(*store_);
  coord_->set_quorum(&quorum);
  auto commit = [&](const std::string& group, int64_t offset) {
    std::optional<std::vector<CommitEntry>> out;
    coord_->commit(group, -1, "", std::nullopt, {{"t", 0, offset, -1, "", ErrorCode::none}},
                   [&](std::vector<CommitEntry> r) { out = std::move(r); });
    EXPECT_TRUE(run_until([&] { return out.has_value(); }));
    return out ? out->at(0).error : ErrorCode::unknown_server_error;
  };
  EXPECT_EQ(commit("g", 5), ErrorCode::none);
  EXPECT_EQ(quorum.proposals, 1);
  ASSERT_NE(coord_->committed("g", "t", 0), nullptr);

  // Leadership moved before the commit was applied: the client hears NOT_COORDINATOR and the
  // offset is not taken as committed here.
  quorum.answer = ErrorCode::not_coordinator;
  EXPECT_EQ(commit("g", 9), ErrorCode::not_coordinator);
  EXPECT_EQ(coord_->committed("g", "t", 0)->offset.value(), 5);
  quorum.answer = ErrorCode::none;

  // Another node coordinates: every API says so and nothing reaches the quorum.
  quorum.state = ErrorCode::not_coordinator;
  coord_->coordinator_changed(false);
  const int before = quorum.proposals;
  EXPECT_EQ(commit("g", 7), ErrorCode::not_coordinator);
  EXPECT_EQ(coord_->availability(), ErrorCode::not_coordinator);
  auto j = join(join_req(""));
  ASSERT_TRUE(j->has_value());
  EXPECT_EQ((*j)->error, ErrorCode::not_coordinator);
  EXPECT_EQ(coord_->heartbeat("g", 1, "m", std::nullopt), ErrorCode::not_coordinator);
  std::vector<ErrorCode> errors;
  EXPECT_EQ(coord_->leave("g", {{"m", std::nullopt}}, errors), ErrorCode::not_coordinator);
  EXPECT_EQ(coord_->describe("g").error, ErrorCode::not_coordinator);
  EXPECT_TRUE(coord_->list().empty());
  std::optional<ErrorCode> del;
  coord_->delete_group("g", [&](ErrorCode e) { del = e; });
  EXPECT_EQ(del, ErrorCode::not_coordinator);
  EXPECT_EQ(quorum.proposals, before);
  EXPECT_EQ(coord_->committed("g", "t", 0), nullptr) << "groups are dropped on stepping down";

  // While a new coordinator catches up: COORDINATOR_LOAD_IN_PROGRESS.
  quorum.state = ErrorCode::coordinator_load_in_progress;
  EXPECT_EQ(commit("g", 7), ErrorCode::coordinator_load_in_progress);

  // Another coordinator's commit, applied here through the metadata log (the store), is served
  // once this node coordinates again.
  bool written = false;
  store_->submit({meta::Mutation::commit_offsets(
                     "g", {{"t", PartitionId(0), Offset(11), LeaderEpoch(-1), "", 1}})},
                 [&](Status st) { written = st.ok(); });
  ASSERT_TRUE(run_until([&] { return written; }));
  quorum.state = ErrorCode::none;
  coord_->coordinator_changed(true);
  ASSERT_NE(coord_->committed("g", "t", 0), nullptr);
  EXPECT_EQ(coord_->committed("g", "t", 0)->offset.value(), 11);
}

TEST_F(GroupCoordinatorTest, SteppingDownAnswersParkedJoinsNotCoordinator) {
  FakeGroupQuorum quorum(*store_);
  coord_->set_quorum(&quorum);
  config_.group_initial_rebalance_delay_ms = 3000;  // the first join waits
  auto j = join(join_req(""));
  EXPECT_FALSE(j->has_value());
  quorum.state = ErrorCode::not_coordinator;
  coord_->coordinator_changed(false);
  ASSERT_TRUE(j->has_value());
  EXPECT_EQ((*j)->error, ErrorCode::not_coordinator);
}

// In a cluster a completed generation is stored through the quorum before its SyncGroups are
// answered; a coordinator taking over loads it, and the members carry on without a rebalance.
TEST_F(GroupCoordinatorTest, InAClusterMembershipIsStoredAtSyncAndANewCoordinatorCarriesOn) {
  FakeGroupQuorum quorum(*store_);
  coord_->set_quorum(&quorum);
  JoinRequest a = join_req("", "range", "instance-a");
  auto ja = join(a);
  auto jb = join(join_req(""));
  ASSERT_TRUE(run_until([&] { return ja->has_value() && jb->has_value(); }));
  const int32_t gen = (*ja)->generation_id;
  const std::string leader = (*ja)->leader;
  const std::string other = leader == (*ja)->member_id ? (*jb)->member_id : (*ja)->member_id;
  auto s_other = sync(gen, other);
  auto s_leader = sync(gen, leader, {{leader, bytes("for-leader")}, {other, bytes("for-other")}});
  EXPECT_EQ(quorum.stored, 1);
  EXPECT_FALSE(s_leader->has_value()) << "answered only once the membership is committed";
  EXPECT_FALSE(s_other->has_value());
  ASSERT_TRUE(run_until([&] { return s_leader->has_value() && s_other->has_value(); }));
  EXPECT_EQ((*s_leader)->error, ErrorCode::none);
  EXPECT_EQ((*s_other)->assignment, bytes("for-other"));

  auto rows = load_group_snapshots(store_->reader());
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->count("g"), 1u);
  const GroupSnapshot& snap = rows->at("g");
  EXPECT_EQ(snap.generation, gen);
  EXPECT_EQ(snap.protocol_type, "consumer");
  EXPECT_EQ(snap.protocol, "range");
  EXPECT_EQ(snap.leader, leader);
  ASSERT_EQ(snap.members.size(), 2u);
  for (const auto& m : snap.members) {
    EXPECT_EQ(m.metadata, bytes("md-range"));
    EXPECT_EQ(m.assignment, bytes(m.member_id == leader ? "for-leader" : "for-other"));
    EXPECT_EQ(m.session_timeout_ms, 6000);
    EXPECT_EQ(m.rebalance_timeout_ms, 3000);
    EXPECT_EQ(m.client_id, "client");
  }

  // The coordinator moves away and back (a new controller reading its meta.db).
  quorum.state = ErrorCode::not_coordinator;
  coord_->coordinator_changed(false);
  EXPECT_EQ(coord_->heartbeat("g", gen, leader, std::nullopt), ErrorCode::not_coordinator);
  quorum.state = ErrorCode::none;
  coord_->coordinator_changed(true);

  auto d = coord_->describe("g");
  EXPECT_EQ(d.state, "Stable");
  EXPECT_EQ(d.protocol_name, "range");
  ASSERT_EQ(d.members.size(), 2u);
  for (const auto& m : d.members) {
    EXPECT_EQ(m.assignment, bytes(m.member_id == leader ? "for-leader" : "for-other"));
    EXPECT_EQ(m.client_host, "/127.0.0.1");
  }
  EXPECT_EQ(coord_->heartbeat("g", gen, leader, std::nullopt), ErrorCode::none);
  EXPECT_EQ(coord_->heartbeat("g", gen, other, std::nullopt), ErrorCode::none);
  EXPECT_EQ(coord_->heartbeat("g", gen + 1, other, std::nullopt), ErrorCode::illegal_generation);
  // A static member's instance id is back too.
  const std::string static_id = (*ja)->member_id;
  EXPECT_EQ(coord_->heartbeat("g", gen, other == static_id ? leader : other, "instance-a"),
            ErrorCode::fenced_instance_id);
  std::optional<std::vector<CommitEntry>> committed;
  coord_->commit("g", gen, other, std::nullopt, {{"t", 0, 42, -1, "", ErrorCode::none}},
                 [&](std::vector<CommitEntry> r) { committed = std::move(r); });
  ASSERT_TRUE(run_until([&] { return committed.has_value(); }));
  EXPECT_EQ(committed->at(0).error, ErrorCode::none);
  auto again = sync(gen, other);
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->error, ErrorCode::none);
  EXPECT_EQ((*again)->assignment, bytes("for-other"));
  EXPECT_EQ(coord_->describe("g").state, "Stable") << "no rebalance";

  // Only the leader keeps heartbeating: the other member's session (6 s from the last
  // request) runs out and the group rebalances as usual.
  advance(4000);
  EXPECT_EQ(coord_->heartbeat("g", gen, leader, std::nullopt), ErrorCode::none);
  advance(2500);
  EXPECT_EQ(coord_->describe("g").members.size(), 1u);
  EXPECT_EQ(coord_->heartbeat("g", gen, leader, std::nullopt), ErrorCode::rebalance_in_progress);
}

TEST_F(GroupCoordinatorTest, AFreshCoordinatorLoadsTheStoredMembershipAndExpiresTheSilent) {
  FakeGroupQuorum quorum(*store_);
  GroupSnapshot snap;
  snap.generation = 7;
  snap.protocol_type = "consumer";
  snap.protocol = "range";
  snap.leader = "m1";
  snap.members.push_back(
      {"m1", std::nullopt, "c1", "/h1", 10000, 20000, bytes("md1"), bytes("as1")});
  snap.members.push_back({"m2", "i2", "c2", "/h2", 6000, 20000, bytes("md2"), bytes("as2")});
  ASSERT_TRUE(store_->submit_sync({put_group_snapshot("g", snap)}).ok());
  coord_->shutdown();
  coord_ = std::make_unique<GroupCoordinator>(&loop_, config_, *store_, clock_);
  coord_->set_quorum(&quorum);
  coord_->coordinator_changed(true);
  auto d = coord_->describe("g");
  EXPECT_EQ(d.state, "Stable");
  ASSERT_EQ(d.members.size(), 2u);
  EXPECT_EQ(d.members[1].group_instance_id, "i2");
  EXPECT_EQ(d.members[1].metadata, bytes("md2"));
  EXPECT_EQ(coord_->heartbeat("g", 7, "m2", "i2"), ErrorCode::none);
  // m1 (10 s session) is silent; m2 keeps heartbeating.
  advance(5000);
  EXPECT_EQ(coord_->heartbeat("g", 7, "m2", "i2"), ErrorCode::none);
  advance(4000);
  EXPECT_EQ(coord_->heartbeat("g", 7, "m2", "i2"), ErrorCode::none);
  EXPECT_EQ(coord_->describe("g").members.size(), 2u);
  advance(1500);
  ASSERT_EQ(coord_->describe("g").members.size(), 1u) << "m1 expired after its session";
  EXPECT_EQ(coord_->heartbeat("g", 7, "m2", "i2"), ErrorCode::rebalance_in_progress);
}

TEST_F(GroupCoordinatorTest, InAClusterAFailedStoreAnswersTheSyncsAndTheGroupRebalances) {
  FakeGroupQuorum quorum(*store_);
  coord_->set_quorum(&quorum);
  auto ja = join(join_req(""));
  ASSERT_TRUE(run_until([&] { return ja->has_value(); }));
  const int32_t gen = (*ja)->generation_id;
  const std::string id = (*ja)->member_id;
  quorum.hold = true;
  auto s = sync(gen, id, {{id, bytes("x")}});
  auto s2 = sync(gen, id, {{id, bytes("x")}});  // the leader's SyncGroup again
  EXPECT_EQ(quorum.stored, 1);
  ASSERT_EQ(quorum.held.size(), 1u);
  EXPECT_FALSE(s2->has_value());
  quorum.held[0](KafkaError(ErrorCode::not_coordinator));
  ASSERT_TRUE(s2->has_value());
  EXPECT_EQ((*s2)->error, ErrorCode::not_coordinator);
  EXPECT_EQ(coord_->describe("g").state, "PreparingRebalance");
}

TEST_F(GroupCoordinatorTest, InAClusterAnEmptiedGroupKeepsItsGenerationAndDeleteRemovesIt) {
  FakeGroupQuorum quorum(*store_);
  coord_->set_quorum(&quorum);
  auto ja = join(join_req(""));
  ASSERT_TRUE(run_until([&] { return ja->has_value(); }));
  const int32_t gen = (*ja)->generation_id;
  const std::string id = (*ja)->member_id;
  auto s = sync(gen, id, {{id, bytes("x")}});
  ASSERT_TRUE(run_until([&] { return s->has_value(); }));
  std::vector<ErrorCode> errors;
  EXPECT_EQ(coord_->leave("g", {{id, std::nullopt}}, errors), ErrorCode::none);
  EXPECT_EQ(coord_->describe("g").state, "Empty");
  EXPECT_EQ(quorum.stored, 2);
  std::optional<GroupSnapshot> stored;
  ASSERT_TRUE(run_until([&] {
    auto rows = load_group_snapshots(store_->reader());
    if (rows.ok() && rows->count("g") != 0 && rows->at("g").members.empty()) stored = rows->at("g");
    return stored.has_value();
  }));
  EXPECT_EQ(stored->generation, gen + 1);

  quorum.state = ErrorCode::not_coordinator;
  coord_->coordinator_changed(false);
  quorum.state = ErrorCode::none;
  coord_->coordinator_changed(true);
  EXPECT_EQ(coord_->describe("g").state, "Empty");
  // The next join starts the generation after the stored one.
  auto jb = join(join_req(""));
  ASSERT_TRUE(run_until([&] { return jb->has_value(); }));
  EXPECT_EQ((*jb)->generation_id, gen + 2);
  std::vector<ErrorCode> errs;
  coord_->leave("g", {{(*jb)->member_id, std::nullopt}}, errs);

  std::optional<ErrorCode> del;
  coord_->delete_group("g", [&](ErrorCode e) { del = e; });
  ASSERT_TRUE(run_until([&] { return del.has_value(); }));
  EXPECT_EQ(*del, ErrorCode::none);
  auto rows = load_group_snapshots(store_->reader());
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->count("g"), 0u);
}

}  // namespace
}  // namespace ferry::broker
