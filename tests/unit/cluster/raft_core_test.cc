// Scenario tests of the Raft core (cluster/raft_core.h), driven by hand over TestCluster:
// elections, pre-vote and stickiness, divergence, the commit rule, check quorum, transfer, ISR,
// persistence order and restarts.
#include <gtest/gtest.h>

#include <algorithm>
#include <variant>

#include "raft_test_cluster.h"

namespace ferry::cluster::test {
namespace {

template <typename T>
std::vector<T> sent(const Ready& ready) {
  std::vector<T> out;
  for (const auto& [to, message] : ready.messages) {
    if (const T* m = std::get_if<T>(&message)) out.push_back(*m);
  }
  return out;
}

// ---- elections -------------------------------------------------------------------------------

TEST(RaftElection, ThreeVotersElectOneLeaderWhoseEpochStartBatchCommits) {
  TestCluster c(3);
  c.elect(1);
  ASSERT_EQ(c.leader(), 1);
  EXPECT_EQ(c.core(1).epoch(), LeaderEpoch(1));
  for (int id : {2, 3}) {
    EXPECT_EQ(c.core(id).role(), Role::follower);
    EXPECT_EQ(c.core(id).leader(), NodeId(1));
    EXPECT_EQ(c.core(id).epoch(), LeaderEpoch(1));
    EXPECT_EQ(c.node(id).persisted, (HardState{LeaderEpoch(1), NodeId(1)}));
  }
  EXPECT_EQ(c.node(1).persisted, (HardState{LeaderEpoch(1), NodeId(1)}));
  // The new leader appended its epoch-start batch; once a majority holds it durably it commits.
  ASSERT_EQ(c.log(1).batches().size(), 1u);
  EXPECT_EQ(c.log(1).batches()[0].epoch, LeaderEpoch(1));
  EXPECT_EQ(c.core(1).high_watermark(), Offset(0));
  c.flush(1);
  c.replicate();
  EXPECT_EQ(c.core(1).high_watermark(), Offset(1));
  EXPECT_EQ(c.core(2).high_watermark(), Offset(1));
  EXPECT_EQ(c.core(3).high_watermark(), Offset(1));
}

TEST(RaftElection, SingleVoterElectsItselfAtTheFirstTick) {
  SimLog log;
  RaftCore core(RaftConfig{NodeId(7), {NodeId(7)}, 1000, 10000}, HardState{}, log, 1, 0);
  core.tick(1);
  EXPECT_EQ(core.role(), Role::leader);
  EXPECT_EQ(core.epoch(), LeaderEpoch(1));
  Ready ready = core.take_ready();
  ASSERT_TRUE(ready.hard_state);
  EXPECT_EQ(*ready.hard_state, (HardState{LeaderEpoch(1), NodeId(7)}));
  EXPECT_TRUE(ready.messages.empty());
  EXPECT_TRUE(ready.append_epoch_start);
  log.append(SimBatch{Offset(0), 1, LeaderEpoch(1), 1, 0});
  core.log_changed(1);
  EXPECT_EQ(core.high_watermark(), Offset(0));  // not durable yet
  log.flush();
  core.log_changed(2);
  EXPECT_EQ(core.high_watermark(), Offset(1));
}

TEST(RaftElection, NoVoteForACandidateWithAShorterOrOlderLog) {
  // Every log holds the same two epoch-1 batches; 2 holds one more.
  TestCluster c(3);
  c.put(1, LeaderEpoch(1), 2);
  c.put(1, LeaderEpoch(1), 1);
  c.log(2) = c.log(1);
  c.log(3) = c.log(1);
  c.put(2, LeaderEpoch(1), 1);
  for (int id : {1, 2, 3}) c.restart(id, HardState{LeaderEpoch(1), kNoNode});
  c.elect(1);  // wins with 3's pre-vote and vote; 2 refuses both
  ASSERT_EQ(c.leader(), 1);
  int refusals = 0;
  for (const Ready& r : c.readies(2)) {
    for (const VoteResponse& v : sent<VoteResponse>(r)) {
      EXPECT_FALSE(v.granted) << "2 holds more than 1: it must refuse";
      ++refusals;
    }
  }
  EXPECT_EQ(refusals, 2);  // the pre-vote and the vote
  // 2's extra batch is not the leader's: it is cut away.
  c.flush(1);
  c.replicate();
  EXPECT_EQ(c.log(2).batches(), c.log(1).batches());
  EXPECT_EQ(c.log(3).batches(), c.log(1).batches());
}

TEST(RaftElection, PreVoteRefusedWhileTheLeaderIsLive) {
  TestCluster c(3);
  c.elect(1);
  c.flush(1);
  c.replicate();
  ASSERT_EQ(c.leader(), 1);
  const LeaderEpoch epoch = c.core(1).epoch();
  // 3 is cut off for many election timeouts; 1 and 2 keep fetching.
  c.isolate(3);
  for (int i = 0; i < 100; ++i) {
    c.advance(10);
    c.fetch(2);
    c.deliver();  // 3's pre-votes are lost on the cut links
  }
  EXPECT_NE(c.core(3).role(), Role::leader);
  EXPECT_EQ(c.core(3).epoch(), epoch) << "a pre-vote never raises the epoch";
  // Back: its pre-votes reach 1 and 2, who hear from a live leader and refuse.
  const size_t seen1 = c.readies(1).size();
  const size_t seen2 = c.readies(2).size();
  c.drop_in_flight();
  c.heal();
  c.set_time(c.now() + 300);  // 3's timer has fired again; 2 hears from 1 just now
  c.fetch(2);
  c.tick(3);
  ASSERT_EQ(c.core(3).role(), Role::pre_candidate);
  ASSERT_GT(c.in_flight(), 0u);
  c.deliver();
  for (int i = 0; i < 100; ++i) {
    c.advance(10);
    c.fetch(2);
    c.fetch(3);
    c.deliver();
  }
  EXPECT_EQ(c.leader(), 1);
  for (int id : {1, 2, 3}) EXPECT_EQ(c.core(id).epoch(), epoch) << "node " << id;
  // 3 rejoined as a follower of 1 (told again by BeginEpoch).
  EXPECT_EQ(c.core(3).role(), Role::follower);
  EXPECT_EQ(c.core(3).leader(), NodeId(1));
  bool refusal_seen = false;
  for (int id : {1, 2}) {
    const auto& readies = c.readies(id);
    for (size_t i = id == 1 ? seen1 : seen2; i < readies.size(); ++i) {
      for (const VoteResponse& v : sent<VoteResponse>(readies[i])) {
        if (v.pre_vote) {
          EXPECT_FALSE(v.granted);
          refusal_seen = true;
        }
      }
    }
  }
  EXPECT_TRUE(refusal_seen);
}

// The followers of a killed leader see its connections close: the first voter after it stands
// at its next tick (no election timeout waited), the second a quarter timeout later, so the
// votes do not split; the second, no longer counting the leader as live, grants.
TEST(RaftElection, AnUnreachableLeaderIsReplacedWithoutWaitingForTheTimeout) {
  TestCluster c(3);
  c.elect(1);
  c.flush(1);
  c.replicate();
  ASSERT_EQ(c.leader(), 1);
  const LeaderEpoch epoch = c.core(1).epoch();
  c.isolate(1);
  c.core(3).leader_unreachable(c.now());
  c.tick(3);
  EXPECT_EQ(c.core(3).role(), Role::follower) << "the second voter waits a quarter timeout";
  c.core(2).leader_unreachable(c.now());
  c.core(2).leader_unreachable(c.now());  // told again: nothing more
  c.tick(2);
  ASSERT_EQ(c.core(2).role(), Role::pre_candidate);
  c.deliver();
  EXPECT_EQ(c.core(2).role(), Role::leader);
  EXPECT_EQ(c.core(2).epoch(), LeaderEpoch(epoch.value() + 1));
  EXPECT_EQ(c.core(3).leader(), NodeId(2));
  // Without the report, 3 alone would have waited at least the election timeout.
  TestCluster d(3);
  d.elect(1);
  d.replicate();
  d.isolate(1);
  d.advance(90);
  EXPECT_EQ(d.core(2).role(), Role::follower);
  EXPECT_EQ(d.core(3).role(), Role::follower);
}

// A report that the connection to a live leader failed (one link reset) starts a pre-vote, which
// the voter still hearing from the leader and the leader itself refuse: the leader stays.
TEST(RaftElection, AnUnreachableReportDoesNotDeposeALiveLeader) {
  TestCluster c(3);
  c.elect(1);
  c.flush(1);
  c.replicate();
  ASSERT_EQ(c.leader(), 1);
  const LeaderEpoch epoch = c.core(1).epoch();
  c.fetch(3);
  c.core(2).leader_unreachable(c.now());
  c.tick(2);
  ASSERT_EQ(c.core(2).role(), Role::pre_candidate);
  c.deliver();
  EXPECT_NE(c.core(2).role(), Role::leader);
  for (int i = 0; i < 100; ++i) {
    c.advance(10);
    c.fetch(2);
    c.fetch(3);
    c.deliver();
  }
  EXPECT_EQ(c.leader(), 1);
  for (int id : {1, 2, 3}) EXPECT_EQ(c.core(id).epoch(), epoch) << "node " << id;
  EXPECT_EQ(c.core(2).role(), Role::follower);
  EXPECT_EQ(c.core(2).leader(), NodeId(1));
}

TEST(RaftElection, VoteRequestsOfAnotherEpochWhileStickyChangeNothing) {
  TestCluster c(3);
  c.elect(1);
  c.replicate();
  // A real vote request for a newer epoch reaches the live leader and a follower that hears it.
  const VoteRequest request{LeaderEpoch(5), NodeId(3), LeaderEpoch(9), Offset(100), false, false};
  c.core(1).receive(NodeId(3), request, c.now());
  c.core(2).receive(NodeId(3), request, c.now());
  EXPECT_EQ(c.core(1).role(), Role::leader);
  EXPECT_EQ(c.core(1).epoch(), LeaderEpoch(1));
  EXPECT_EQ(c.core(2).epoch(), LeaderEpoch(1));
  // With the transfer flag the follower grants and moves (its log is not newer).
  c.core(2).receive(
      NodeId(3), VoteRequest{LeaderEpoch(5), NodeId(3), LeaderEpoch(9), Offset(100), false, true},
      c.now());
  EXPECT_EQ(c.core(2).epoch(), LeaderEpoch(5));
  Ready r = c.core(2).take_ready();
  ASSERT_TRUE(r.hard_state);
  EXPECT_EQ(*r.hard_state, (HardState{LeaderEpoch(5), NodeId(3)}));
}

// ---- persistence ---------------------------------------------------------------------------

TEST(RaftPersistence, AVoteIsInTheSameReadyAsItsHardStateAndPersistedFirst) {
  TestCluster c(3);
  c.elect(1);
  bool candidate_checked = false;
  for (const Ready& r : c.readies(1)) {
    for (const VoteRequest& v : sent<VoteRequest>(r)) {
      if (v.pre_vote) continue;
      ASSERT_TRUE(r.hard_state) << "vote request without its HardState";
      EXPECT_EQ(r.hard_state->epoch, v.epoch);
      EXPECT_EQ(r.hard_state->voted_for, NodeId(1));
      candidate_checked = true;
    }
  }
  EXPECT_TRUE(candidate_checked);
  int grants = 0;
  for (int id : {2, 3}) {
    for (const Ready& r : c.readies(id)) {
      for (const VoteResponse& v : sent<VoteResponse>(r)) {
        if (v.pre_vote || !v.granted) continue;
        ASSERT_TRUE(r.hard_state) << "granted vote without its HardState";
        EXPECT_EQ(*r.hard_state, (HardState{v.epoch, NodeId(1)}));
        ++grants;
      }
    }
  }
  EXPECT_GE(grants, 1);
}

TEST(RaftPersistence, ARestartedVoterNeverVotesTwiceInOneEpoch) {
  TestCluster c(3);
  const VoteRequest from1{LeaderEpoch(1), NodeId(1), kNoEpoch, Offset(0), false, false};
  c.core(2).receive(NodeId(1), from1, c.now());
  Ready r = c.core(2).take_ready();
  ASSERT_TRUE(r.hard_state);
  const HardState persisted = *r.hard_state;
  ASSERT_EQ(persisted, (HardState{LeaderEpoch(1), NodeId(1)}));
  ASSERT_TRUE(sent<VoteResponse>(r).at(0).granted);

  c.restart(2, persisted);
  // 3 asks in the same epoch with a log as good: refused, the vote is already given.
  c.core(2).receive(NodeId(3),
                    VoteRequest{LeaderEpoch(1), NodeId(3), kNoEpoch, Offset(0), false, false},
                    c.now());
  r = c.core(2).take_ready();
  ASSERT_EQ(sent<VoteResponse>(r).size(), 1u);
  EXPECT_FALSE(sent<VoteResponse>(r)[0].granted);
  EXPECT_FALSE(r.hard_state);
  // 1 asking again (a duplicate) gets the same vote.
  c.core(2).receive(NodeId(1), from1, c.now());
  r = c.core(2).take_ready();
  EXPECT_TRUE(sent<VoteResponse>(r).at(0).granted);
  // A fresh HardState would have granted 3: the restored vote is what refuses.
  c.restart(2, HardState{LeaderEpoch(0), kNoNode});
  c.core(2).receive(NodeId(3),
                    VoteRequest{LeaderEpoch(1), NodeId(3), kNoEpoch, Offset(0), false, false},
                    c.now());
  EXPECT_TRUE(sent<VoteResponse>(c.core(2).take_ready()).at(0).granted);
}

// ---- epochs seen in messages ------------------------------------------------------------------

TEST(RaftEpochs, ALeaderSeeingANewerEpochStepsDown) {
  TestCluster c(3);
  c.elect(1);
  c.replicate();
  ASSERT_EQ(c.leader(), 1);
  c.core(1).receive(NodeId(2), BeginEpoch{LeaderEpoch(4), NodeId(2)}, c.now());
  EXPECT_EQ(c.core(1).role(), Role::follower);
  EXPECT_EQ(c.core(1).epoch(), LeaderEpoch(4));
  EXPECT_EQ(c.core(1).leader(), NodeId(2));
  Ready r = c.core(1).take_ready();
  ASSERT_TRUE(r.hard_state);
  EXPECT_EQ(*r.hard_state, (HardState{LeaderEpoch(4), kNoNode}));
  EXPECT_TRUE(r.state_changed);
}

TEST(RaftEpochs, AFetchNamingANewerEpochStepsTheLeaderDown) {
  TestCluster c(3);
  c.elect(1);
  c.replicate();
  const FetchAnswer answer = c.core(1).on_fetch(
      FetchPosition{LeaderEpoch(3), NodeId(2), Offset(1), LeaderEpoch(1), Offset(1)}, c.now());
  EXPECT_EQ(answer.status, FetchStatus::unknown_leader_epoch);
  EXPECT_EQ(answer.epoch, LeaderEpoch(3));
  EXPECT_EQ(c.core(1).role(), Role::follower);
  EXPECT_EQ(c.core(1).epoch(), LeaderEpoch(3));
  // And a follower whose answer names a newer epoch moves there, following who it names.
  FetchAnswer newer;
  newer.status = FetchStatus::fenced_leader_epoch;
  newer.epoch = LeaderEpoch(5);
  newer.leader = NodeId(3);
  EXPECT_EQ(c.core(2).on_fetch_answer(NodeId(1), newer, c.now()).kind, FetchStep::Kind::ignore);
  EXPECT_EQ(c.core(2).epoch(), LeaderEpoch(5));
  EXPECT_EQ(c.core(2).leader(), NodeId(3));
}

TEST(RaftEpochs, AStaleBeginEpochIsAnsweredWithTheNewerEpoch) {
  TestCluster c(3);
  c.elect(1);
  c.core(2).receive(NodeId(3), BeginEpoch{LeaderEpoch(3), NodeId(3)}, c.now());
  c.core(2).take_ready();
  c.core(2).receive(NodeId(1), BeginEpoch{LeaderEpoch(1), NodeId(1)}, c.now());
  const auto answers = sent<VoteResponse>(c.core(2).take_ready());
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].epoch, LeaderEpoch(3));
  EXPECT_FALSE(answers[0].granted);
  c.core(1).receive(NodeId(2), answers[0], c.now());
  EXPECT_EQ(c.core(1).role(), Role::follower);
  EXPECT_EQ(c.core(1).epoch(), LeaderEpoch(3));
}

// ---- fetches ----------------------------------------------------------------------------------

TEST(RaftFetch, FetchesFromNonVotersAndOldEpochsAreRefusedUnrecorded) {
  TestCluster c(3);
  c.elect(1);
  const FetchAnswer stranger = c.core(1).on_fetch(
      FetchPosition{LeaderEpoch(1), NodeId(9), Offset(0), kNoEpoch, Offset(0)}, c.now());
  EXPECT_EQ(stranger.status, FetchStatus::not_leader);
  const FetchAnswer old = c.core(1).on_fetch(
      FetchPosition{LeaderEpoch(0), NodeId(2), Offset(0), kNoEpoch, Offset(0)}, c.now());
  EXPECT_EQ(old.status, FetchStatus::fenced_leader_epoch);
  EXPECT_EQ(old.epoch, LeaderEpoch(1));
  EXPECT_EQ(old.leader, NodeId(1));
  for (const ReplicaProgress& p : c.core(1).progress(c.now())) {
    if (p.node != NodeId(1)) {
      EXPECT_EQ(p.last_fetch_ms, -1) << p.node.value();
    }
  }
  // A fetch sent to a follower (2) is answered with who leads.
  const FetchAnswer from_follower = c.core(2).on_fetch(
      FetchPosition{LeaderEpoch(1), NodeId(3), Offset(0), kNoEpoch, Offset(0)}, c.now());
  EXPECT_EQ(from_follower.status, FetchStatus::not_leader);
  EXPECT_EQ(from_follower.leader, NodeId(1));
}

TEST(RaftFetch, StaleAnswersAreIgnored) {
  TestCluster c(3);
  c.elect(1);
  c.replicate();
  FetchAnswer answer;
  answer.epoch = LeaderEpoch(1);
  answer.leader = NodeId(1);
  answer.diverging = EpochEnd{kNoEpoch, Offset(-1)};
  // From a node 2 does not follow.
  EXPECT_EQ(c.core(2).on_fetch_answer(NodeId(3), answer, c.now()).kind, FetchStep::Kind::ignore);
  // From an older epoch.
  c.core(2).receive(NodeId(3), BeginEpoch{LeaderEpoch(2), NodeId(3)}, c.now());
  EXPECT_EQ(c.core(2).on_fetch_answer(NodeId(1), answer, c.now()).kind, FetchStep::Kind::ignore);
  EXPECT_EQ(c.log(2).end_offset(), Offset(1));
}

TEST(RaftFetch, ADivergentTailIsTruncatedToWhereTheLogsAgree) {
  // 1: e1 [0,2) e3 [2,4); 2: e1 [0,2) e2 [2,5) (an epoch 1 never saw); 3: e1 [0,2).
  TestCluster c(3);
  c.put(1, LeaderEpoch(1), 2);
  c.log(2) = c.log(1);
  c.log(3) = c.log(1);
  c.put(1, LeaderEpoch(3), 2);
  c.put(2, LeaderEpoch(2), 3);
  for (int id : {1, 2, 3}) c.restart(id, HardState{LeaderEpoch(3), kNoNode});
  c.elect(1);  // 1's last epoch (3) beats 2's (2)
  ASSERT_EQ(c.leader(), 1);
  // 2 fetches at (5, e2): 1's log ends its epochs <= 2 at 2 (epoch 1): cut at 2.
  EXPECT_EQ(c.fetch(2), FetchStep::Kind::truncate);
  EXPECT_EQ(c.log(2).end_offset(), Offset(2));
  EXPECT_EQ(c.fetch(2), FetchStep::Kind::append);
  EXPECT_EQ(c.log(2).batches(), c.log(1).batches());
  EXPECT_EQ(c.core(2).high_watermark(), Offset(0));
}

TEST(RaftFetch, DivergenceOverSeveralEpochsTakesSeveralRounds) {
  // 1: e1 [0,4) e3 [4,12); 2: e1 [0,10) e5 [10,13) — its e1 tail [4,10) never reached 1.
  TestCluster c(3);
  c.put(1, LeaderEpoch(1), 2);
  c.put(1, LeaderEpoch(1), 2);
  c.log(2) = c.log(1);
  c.put(1, LeaderEpoch(3), 8);
  c.log(3) = c.log(1);
  c.put(2, LeaderEpoch(1), 6);
  c.put(2, LeaderEpoch(5), 3);
  for (int id : {1, 2, 3}) c.restart(id, HardState{LeaderEpoch(5), kNoNode});
  c.elect(1);  // with 3's vote; 2's last epoch (5) is newer than 1's
  ASSERT_EQ(c.leader(), 1);
  // (13, e5): 1's epochs <= 5 end at 12 (e3); 2's epochs <= 3 end at 10 (e1): cut at 10.
  EXPECT_EQ(c.fetch(2), FetchStep::Kind::truncate);
  EXPECT_EQ(c.log(2).end_offset(), Offset(10));
  // (10, e1): 1's epoch 1 ends at 4: cut at 4.
  EXPECT_EQ(c.fetch(2), FetchStep::Kind::truncate);
  EXPECT_EQ(c.log(2).end_offset(), Offset(4));
  EXPECT_EQ(c.fetch(2), FetchStep::Kind::append);
  EXPECT_EQ(c.log(2).batches(), c.log(1).batches());
}

TEST(RaftFetch, TruncatesEverythingWhenItsLogHoldsNoSuchEpoch) {
  TestCluster c(3);
  c.elect(1);
  c.replicate();
  // 2's log: only an epoch newer than what the leader names as diverging.
  SimLog other;
  other.append(SimBatch{Offset(0), 3, LeaderEpoch(5), 900, 0});
  other.flush();
  c.log(2) = other;
  FetchAnswer answer;
  answer.epoch = c.core(2).epoch();
  answer.leader = NodeId(1);
  answer.diverging = EpochEnd{LeaderEpoch(1), Offset(1)};
  const FetchStep step = c.core(2).on_fetch_answer(NodeId(1), answer, c.now());
  EXPECT_EQ(step.kind, FetchStep::Kind::truncate);
  EXPECT_EQ(step.truncate_to, Offset(0));
  // And when the leader holds no epoch at or below the one asked about.
  answer.diverging = EpochEnd{};
  EXPECT_EQ(c.core(2).on_fetch_answer(NodeId(1), answer, c.now()).truncate_to, Offset(0));
}

TEST(RaftFetch, AFollowersHighWatermarkIsCappedByItsOwnLogEnd) {
  TestCluster c(3);
  c.elect(1);
  c.flush(1);
  c.replicate();
  for (int i = 0; i < 5; ++i) c.append(1, 2);
  c.flush(1);
  // 2 catches up and flushes; the HW moves to 11; 3 fetched one batch only.
  c.fetch(3, 1);
  c.fetch(2);
  c.flush(2);
  c.fetch(2);
  EXPECT_EQ(c.core(1).high_watermark(), Offset(11));
  c.fetch(3, 1);
  EXPECT_EQ(c.core(3).high_watermark(), c.log(3).end_offset());
  EXPECT_LT(c.core(3).high_watermark(), Offset(11));
  c.fetch(2);
  EXPECT_EQ(c.core(2).high_watermark(), Offset(11));
}

// ---- commit rule ----------------------------------------------------------------------------

TEST(RaftCommit, TheHighWatermarkNeedsAMajorityOfDurableOffsets) {
  TestCluster c(3);
  c.elect(1);
  c.flush(1);
  c.replicate();
  ASSERT_EQ(c.core(1).high_watermark(), Offset(1));
  c.append(1, 4);  // [1,5)
  // Followers hold it but have not flushed; the leader has: one durable copy only.
  c.fetch(2);
  c.fetch(3);
  c.flush(1);
  c.fetch(2);
  c.fetch(3);
  EXPECT_EQ(c.core(1).high_watermark(), Offset(1));
  for (const ReplicaProgress& p : c.core(1).progress(c.now())) {
    EXPECT_EQ(p.fetch_offset, Offset(5)) << p.node.value();
  }
  c.flush(3);
  c.fetch(3);
  EXPECT_EQ(c.core(1).high_watermark(), Offset(5));
  // Followers durable but not the leader: two of three durable is a majority as well.
  c.append(1, 2);  // [5,7)
  c.fetch(2);
  c.fetch(3);
  c.flush(2);
  c.flush(3);
  c.fetch(2);
  c.fetch(3);
  EXPECT_EQ(c.core(1).high_watermark(), Offset(7));
}

TEST(RaftCommit, OldEpochBatchesCommitOnlyWithTheEpochStartBatch) {
  // 1 led epoch 1 and wrote [0,3) that only it holds; it crashes, comes back, leads epoch 2.
  TestCluster c(3);
  c.elect(1);
  c.append(1, 2);
  c.flush(1);
  ASSERT_EQ(c.log(1).end_offset(), Offset(3));
  ASSERT_EQ(c.core(1).high_watermark(), Offset(0));
  c.restart(1);
  c.elect(1);
  ASSERT_EQ(c.core(1).epoch(), LeaderEpoch(2));
  c.flush(1);
  // 2 fetches one batch at a time: [0,1) e1, [1,3) e1 — durable on 1 and 2 — and nothing moves.
  c.fetch(2, 1);
  c.fetch(2, 1);
  c.flush(2);
  c.fetch(2, 0);
  EXPECT_EQ(c.log(2).end_offset(), Offset(3));
  EXPECT_EQ(c.core(1).high_watermark(), Offset(0))
      << "epoch-1 batches must not commit by counting copies";
  // The epoch-start batch [3,4) e2 reaches 2 durably: everything below commits together.
  c.fetch(2, 1);
  c.flush(2);
  c.fetch(2, 0);
  EXPECT_EQ(c.core(1).high_watermark(), Offset(4));
}

TEST(RaftCommit, TheLeadersHighWatermarkNeverGoesDown) {
  TestCluster c(3);
  c.elect(1);
  c.flush(1);
  c.replicate();
  c.append(1, 3);
  c.flush(1);
  c.replicate();
  const Offset hw = c.core(1).high_watermark();
  ASSERT_EQ(hw, Offset(4));
  // Reordered old fetches (lower durable offsets) arrive late.
  for (int id : {2, 3}) {
    c.core(1).on_fetch(
        FetchPosition{LeaderEpoch(1), NodeId(id), Offset(1), LeaderEpoch(1), Offset(1)}, c.now());
  }
  EXPECT_EQ(c.core(1).high_watermark(), hw);
}

// ---- check quorum, transfer, ISR --------------------------------------------------------------

TEST(RaftCheckQuorum, AnIsolatedLeaderStepsDown) {
  TestCluster c(3);
  c.elect(1);
  c.replicate();
  c.isolate(1);
  const int64_t start = c.now();
  while (c.core(1).role() == Role::leader && c.now() - start < 1000) {
    c.advance(10);
    c.fetch(2);
    c.fetch(3);
  }
  EXPECT_EQ(c.core(1).role(), Role::follower);
  EXPECT_EQ(c.core(1).leader(), kNoNode);
  EXPECT_GE(c.now() - start, 150 - 10) << "not before 1.5 election timeouts";
  EXPECT_LE(c.now() - start, 150 + 20);
  // A leader that keeps hearing from a majority stays.
  c.heal();
  c.drop_in_flight();
  TestCluster d(3);
  d.elect(1);
  d.cut(1, 3);
  for (int i = 0; i < 100; ++i) {
    d.advance(10);
    d.fetch(2);
  }
  EXPECT_EQ(d.core(1).role(), Role::leader);
}

TEST(RaftTransfer, LeadershipMovesToACaughtUpVoter) {
  TestCluster c(3);
  c.elect(1);
  c.flush(1);
  c.replicate();
  c.append(1, 3);
  c.fetch(2);
  // 3 has not fetched the last batch: the transfer waits for it.
  c.core(1).transfer_leadership(NodeId(3), c.now());
  EXPECT_EQ(c.core(1).transfer_target(), NodeId(3));
  c.deliver();
  EXPECT_TRUE(sent<TimeoutNow>(c.core(1).take_ready()).empty());
  // 3 catches up (its next fetch shows it): TimeoutNow goes, 3 stands without pre-vote, both
  // others grant although they hear from a live leader.
  c.fetch(3);
  c.fetch(3);
  c.deliver();
  EXPECT_EQ(c.leader(), 3);
  EXPECT_EQ(c.core(3).epoch(), LeaderEpoch(2));
  EXPECT_EQ(c.core(1).role(), Role::follower);
  c.replicate();
  EXPECT_EQ(c.core(1).leader(), NodeId(3));
  EXPECT_EQ(c.core(2).leader(), NodeId(3));
  bool transfer_request = false;
  for (const Ready& r : c.readies(3)) {
    for (const VoteRequest& v : sent<VoteRequest>(r)) {
      EXPECT_FALSE(v.pre_vote);
      transfer_request = transfer_request || v.transfer;
    }
  }
  EXPECT_TRUE(transfer_request);
}

TEST(RaftTransfer, GivenUpAfterAnElectionTimeout) {
  TestCluster c(3);
  c.elect(1);
  c.replicate();
  c.append(1, 1);
  c.isolate(3);
  c.core(1).transfer_leadership(NodeId(3), c.now());
  EXPECT_EQ(c.core(1).transfer_target(), NodeId(3));
  for (int i = 0; i < 20; ++i) {
    c.advance(10);
    c.fetch(2);
  }
  EXPECT_EQ(c.core(1).role(), Role::leader);
  EXPECT_EQ(c.core(1).transfer_target(), kNoNode);
  c.heal();
  c.fetch(3);
  c.deliver();
  EXPECT_EQ(c.leader(), 1);
  c.core(1).transfer_leadership(NodeId(1), c.now());  // not another voter: ignored
  EXPECT_EQ(c.core(1).transfer_target(), kNoNode);
}

TEST(RaftIsr, AStalledFollowerLeavesTheIsrAndComesBack) {
  TestCluster c(3, 100, /*replica_lag_time_max_ms=*/300);
  c.elect(1);
  c.flush(1);
  c.replicate();
  auto isr = [&] { return c.core(1).in_sync_replicas(c.now()); };
  EXPECT_EQ(isr(), (std::vector<NodeId>{NodeId(1), NodeId(2), NodeId(3)}));
  // 3 stalls (its fetches bring nothing) while appends go on; 2 fetches every 20 ms, never
  // quite at the end, but always up to where the log ended at its previous fetch.
  for (int i = 0; i < 20; ++i) {
    c.advance(20);
    c.append(1, 1);
    c.fetch(2);
    c.fetch(3, 0);
    c.append(1, 1);
  }
  EXPECT_EQ(isr(), (std::vector<NodeId>{NodeId(1), NodeId(2)}));
  // It catches up: the fetch after it has read everything shows it.
  c.fetch(3);
  EXPECT_EQ(isr(), (std::vector<NodeId>{NodeId(1), NodeId(2)}));
  c.fetch(3);
  EXPECT_EQ(isr(), (std::vector<NodeId>{NodeId(1), NodeId(2), NodeId(3)}));
  const auto progress = c.core(1).progress(c.now());
  ASSERT_EQ(progress.size(), 3u);
  EXPECT_EQ(progress[2].fetch_offset, c.log(1).end_offset());
  EXPECT_TRUE(c.core(2).in_sync_replicas(c.now()).empty()) << "followers report no ISR";
}

// ---- costs -----------------------------------------------------------------------------------

TEST(RaftTick, AnIdleTickProducesNothing) {
  TestCluster c(3);
  c.elect(1);
  c.replicate();
  c.core(1).take_ready();
  c.core(1).tick(c.now() + 1);
  c.core(2).tick(c.now() + 1);
  EXPECT_TRUE(c.core(1).take_ready().empty());
  EXPECT_TRUE(c.core(2).take_ready().empty());
}

}  // namespace
}  // namespace ferry::cluster::test
