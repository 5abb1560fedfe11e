// The Raft state machine of one replicated log (a partition, or the cluster metadata), with no
// I/O, no clock and no threads of its own: inputs are method calls carrying the time, outputs
// are collected in a Ready for the driver (the node's replica manager, or a simulated network
// in tests) to carry out. The protocol and its messages are described in raft_messages.h.
//
// Roles. follower (of a known leader, or of none yet: after start-up or when the leader is
// gone), pre_candidate (asking pre-votes: no state changed), candidate (stands in epoch + 1,
// voted for itself), leader.
//
// Timing, all measured with the `now_ms` the caller passes:
// - A follower that has no answer from its leader (a FetchAnswer or a BeginEpoch) for its
//   election timeout — `election_timeout_ms` plus a random extra in [0, election_timeout_ms),
//   drawn anew each time — becomes pre_candidate; a pre_candidate or candidate that has not won
//   within a fresh election timeout starts again.
// - A leader that has not received a fetch from a majority of the voters (itself included)
//   within 1.5 x election_timeout_ms steps down to follower of no one (check quorum), so a
//   leader cut off from the others stops acknowledging writes.
// - A voter that has heard from a live leader within election_timeout_ms refuses pre-votes and
//   votes (unless VoteRequest::transfer), so a node rejoining after a network partition cannot
//   depose a healthy leader.
// - A follower whose driver saw the connection to its leader fail (leader_unreachable: closed or
//   refused, not merely slow) stops counting that leader as live and brings its election
//   forward: the first voter after the leader (voters() order, the leader left out) stands at
//   its next tick, the next election_timeout_ms / 4 later, and so on, so the survivors of a dead
//   leader do not split their votes. It still starts with a pre-vote, which the voters that do hear
//   from a live leader refuse: a broken link alone cannot depose a healthy leader.
// - A leader sends BeginEpoch again, at most every election_timeout_ms / 2, to a voter that has
//   not fetched for an election timeout (it lost the first one, or restarted). A node whose epoch
//   is newer than a BeginEpoch's answers it with a refused VoteResponse carrying its epoch, and
//   the leader steps down: a node that moved to a newer epoch on its own while cut off rejoins
//   through a new election instead of being shut out for good.
//
// Persistence. HardState (epoch, vote) must be durable before any message of the same Ready is
// sent; the driver persists Ready::hard_state first (it may batch many groups into one commit)
// and then sends Ready::messages. The log itself belongs to the driver; the core reads it through
// RaftLogView. A fetch (or its answer) naming a newer epoch moves the core to it without a vote;
// on_fetch's answer may then leave before that HardState is persisted, as it grants nothing.
//
// Commit. The high watermark is the largest offset O such that a majority of the voters (the
// leader included) have everything below O durable (fsynced), and O is above the start of the
// leader's own epoch: a new leader first appends one batch of its epoch (Ready::append_epoch_start)
// and commits nothing before a majority holds it (Raft's rule that a leader commits only entries
// of its own term, which makes earlier entries committed with it). The high watermark never goes
// down while one node leads. A follower's high watermark is min(leader's, own log end), where
// "leader's" is the highest it has learnt (a newer leader may start lower).
//
// Threading: none; the owner calls it from one thread (the broker's loop).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "cluster/raft_messages.h"
#include "common/strong_types.h"

namespace ferry::cluster {

// What the core needs to know about the log it replicates. Implemented over the partition log
// and its leader-epoch cache (the driver), or a simulated log (tests).
class RaftLogView {
 public:
  virtual ~RaftLogView() = default;
  virtual Offset end_offset() const = 0;       // the offset after the last batch
  virtual Offset durable_offset() const = 0;   // everything below it is fsynced
  virtual LeaderEpoch last_epoch() const = 0;  // epoch of the last batch; kNoEpoch when empty
  // The end of `epoch` in this log (see EpochEnd). For an epoch newer than every epoch in the
  // log: {last_epoch(), end_offset()}.
  virtual EpochEnd end_of_epoch(LeaderEpoch epoch) const = 0;
  // The first offset the log holds (retention moves it): a fetch answer's log_start_offset, and
  // the lowest point a diverging answer truncates to.
  virtual Offset start_offset() const { return Offset{0}; }
};

struct RaftConfig {
  NodeId self = kNoNode;
  // Every replica of the log, `self` included; no duplicates; at most 64 (kMaxVoters). A node
  // not among them never stands for election, votes or is answered as a follower.
  std::vector<NodeId> voters;
  int64_t election_timeout_ms = 1000;
  // A voter is in sync (ISR) while it has reached the leader's log end within this long.
  int64_t replica_lag_time_max_ms = 10000;
};

// Persisted per group, durable before messages leave (see the file comment).
struct HardState {
  LeaderEpoch epoch{0};
  NodeId voted_for = kNoNode;  // in `epoch`
  bool operator==(const HardState&) const = default;
};

enum class Role : uint8_t { follower, pre_candidate, candidate, leader };

// What the driver must do after an input. Empty fields: nothing to do.
struct Ready {
  std::optional<HardState> hard_state;  // persist before sending `messages`
  std::vector<std::pair<NodeId, RaftMessage>> messages;
  // Leader: append one batch stamped with epoch() now (a record-less batch marking the start of
  // the epoch), then call log_changed().
  bool append_epoch_start = false;
  // role(), leader(), epoch() or high_watermark() changed since the last Ready.
  bool state_changed = false;
  bool empty() const {
    return !hard_state && messages.empty() && !append_epoch_start && !state_changed;
  }
};

// A follower's next step after a fetch answer.
struct FetchStep {
  enum class Kind : uint8_t {
    append,    // append the answer's batches (those starting at the log end), then log_changed()
    truncate,  // cut the log at `truncate_to` (Log::truncate_to), then log_changed(); fetch again
    ignore,    // stale or refused answer; fetch again (from leader(), which may have changed)
  };
  Kind kind = Kind::ignore;
  Offset truncate_to{0};
};

// The leader's view of one voter (for ISR, lag, `ferry cluster status`).
struct ReplicaProgress {
  NodeId node = kNoNode;
  Offset fetch_offset{0};          // its log end, as of its last fetch (the leader: its own)
  Offset durable_offset{0};        // its fsynced end, as of its last fetch
  int64_t last_fetch_ms = -1;      // -1: never fetched in this epoch
  int64_t last_caught_up_ms = -1;  // last time it had reached the leader's log end
  bool in_sync = false;            // ISR
};

class RaftCore {
 public:
  static constexpr size_t kMaxVoters = 64;

  // `restored` is the persisted HardState (a fresh group: {0, kNoNode}). The core starts as
  // follower of no one. `log` must outlive the core. `seed` drives the randomised timeouts.
  RaftCore(RaftConfig config, HardState restored, const RaftLogView& log, uint64_t seed,
           int64_t now_ms);

  // Time passes: elections, check quorum, ISR. Call at least every election_timeout_ms / 4.
  void tick(int64_t now_ms);
  // A vote or epoch message from `from`.
  void receive(NodeId from, const RaftMessage& message, int64_t now_ms);

  // Leader side of a follower's fetch: checks the epoch and the follower's tail against this log,
  // records the follower's position (which may move the high watermark) and returns the answer.
  // ok without `diverging`: the driver sends the batches from position.fetch_offset (it may hold
  // the fetch open until there are some, then call on_fetch again for a fresh answer).
  FetchAnswer on_fetch(const FetchPosition& position, int64_t now_ms);
  // Follower side: where to fetch from next and who to ask; nullopt when not following a known
  // leader. The driver sends one fetch at a time per group.
  std::optional<FetchPosition> next_fetch() const;
  // Follower side: the answer from `from` arrived. Only the answer to the fetch sent last may be
  // passed (the transport's request/answer correlation): an answer to an earlier fetch that
  // arrives late or twice must be dropped by the driver, since a diverging answer is only
  // meaningful for the position it answers.
  FetchStep on_fetch_answer(NodeId from, const FetchAnswer& answer, int64_t now_ms);

  // The driver saw its connection to leader() close or be refused (not a slow answer): see the
  // file comment. Ignored unless this is a voter following a known leader; calling it again
  // while the leader stays unreachable changes nothing more.
  void leader_unreachable(int64_t now_ms);

  // The log's end or durable offset moved (append, flush, truncate): the leader recomputes the
  // high watermark, a follower caps its own.
  void log_changed(int64_t now_ms);

  // Leader: hand leadership to `to` once it has caught up (TimeoutNow); given up after an
  // election timeout. Ignored when not leader or `to` is not another voter.
  void transfer_leadership(NodeId to, int64_t now_ms);
  // Leader: the voter a transfer is under way to (kNoNode: none). The driver may hold new
  // appends meanwhile so that the target can catch up.
  NodeId transfer_target() const noexcept { return transfer_target_; }

  // Output collected since the last call.
  Ready take_ready();

  Role role() const noexcept { return role_; }
  LeaderEpoch epoch() const noexcept { return hard_.epoch; }
  NodeId leader() const noexcept { return leader_; }  // kNoNode: unknown
  NodeId self() const noexcept { return config_.self; }
  Offset high_watermark() const noexcept { return high_watermark_; }
  const std::vector<NodeId>& voters() const noexcept { return config_.voters; }
  // Leader: one entry per voter, in voters() order. Otherwise empty.
  std::vector<ReplicaProgress> progress(int64_t now_ms) const;
  // Leader: the voters in sync (itself included). Otherwise empty.
  std::vector<NodeId> in_sync_replicas(int64_t now_ms) const;

 private:
  // The leader's record of one voter (itself included), reset when it wins an epoch.
  struct Peer {
    NodeId node = kNoNode;
    Offset fetch_offset{0};
    Offset durable_offset{0};
    int64_t last_fetch_ms = -1;
    int64_t last_caught_up_ms = -1;
    int64_t quorum_contact_ms = 0;  // last fetch, or the epoch's start (check quorum)
    Offset end_at_last_fetch{-1};   // the leader's log end when this voter last fetched
    int64_t begin_epoch_sent_ms = 0;
  };

  int voter_index(NodeId node) const noexcept;
  int64_t random_timeout() noexcept;
  void reset_election_timer(int64_t now_ms) noexcept;
  void send(NodeId to, RaftMessage message);
  void set_high_watermark(Offset hw) noexcept;
  // Moves to `epoch` (> the current one) as follower of `leader` (kNoNode: unknown).
  void become_follower(LeaderEpoch epoch, NodeId leader, int64_t now_ms);
  void follow(NodeId leader, int64_t now_ms);  // same epoch
  void step_down(int64_t now_ms);              // leader -> follower of no one, same epoch
  void start_pre_vote(int64_t now_ms);
  void start_election(int64_t now_ms, bool transfer);
  void become_leader(int64_t now_ms);
  bool log_at_least_as_up_to_date(LeaderEpoch last_epoch, Offset end_offset) const;
  bool hears_from_live_leader(int64_t now_ms) const noexcept;
  void count_grant(NodeId voter, int64_t now_ms);
  void on_vote_request(NodeId from, const VoteRequest& request, int64_t now_ms);
  void on_vote_response(NodeId from, const VoteResponse& response, int64_t now_ms);
  void on_begin_epoch(NodeId from, const BeginEpoch& begin, int64_t now_ms);
  void on_timeout_now(NodeId from, const TimeoutNow& timeout_now, int64_t now_ms);
  void leader_tick(int64_t now_ms);
  void recompute_high_watermark();
  void cap_follower_high_watermark() noexcept;
  void maybe_send_timeout_now(const Peer& peer, int64_t now_ms);

  // Implementation state (see raft_core.cc).
  RaftConfig config_;
  HardState hard_;
  const RaftLogView& log_;
  // splitmix64 state: 8 bytes per group where std::mt19937_64 would take 2.5 KB.
  uint64_t random_;
  Role role_ = Role::follower;
  NodeId leader_ = kNoNode;
  Offset high_watermark_{0};

  int self_index_ = -1;  // in voters(); -1: not a voter
  size_t majority_ = 1;
  uint64_t granted_ = 0;  // pre_candidate/candidate: voters (by index) that granted
  int64_t election_deadline_ms_ = 0;
  int64_t last_leader_contact_ms_;  // a FetchAnswer or BeginEpoch from the current leader
  // The highest high watermark this node has learnt (a leader's answer, or its own while it
  // led): everything below it is committed; a follower's is min(this, its log end).
  Offset known_high_watermark_{0};
  // Leader state.
  std::vector<Peer> peers_;       // one per voter, voters() order
  std::vector<int64_t> scratch_;  // voters().size() entries, for the majority computation
  Offset epoch_start_offset_{0};  // where this leader's epoch-start batch goes
  int64_t leader_since_ms_ = 0;
  NodeId transfer_target_ = kNoNode;
  int64_t transfer_deadline_ms_ = 0;
  int64_t timeout_now_sent_ms_ = -1;
  Ready ready_;
};

}  // namespace ferry::cluster
