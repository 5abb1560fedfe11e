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
//
// Persistence. HardState (epoch, vote) must be durable before any message of the same Ready is
// sent; the driver persists Ready::hard_state first (it may batch many groups into one commit)
// and then sends Ready::messages. The log itself belongs to the driver; the core reads it through
// RaftLogView.
//
// Commit. The high watermark is the largest offset O such that a majority of the voters (the
// leader included) have everything below O durable (fsynced), and O is above the start of the
// leader's own epoch: a new leader first appends one batch of its epoch (Ready::append_epoch_start)
// and commits nothing before a majority holds it (Raft's rule that a leader commits only entries
// of its own term, which makes earlier entries committed with it). The high watermark never goes
// down while one node leads. A follower's high watermark is min(leader's, own log end).
//
// Threading: none; the owner calls it from one thread (the broker's loop).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
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
  virtual Offset end_offset() const = 0;      // the offset after the last batch
  virtual Offset durable_offset() const = 0;  // everything below it is fsynced
  virtual LeaderEpoch last_epoch() const = 0; // epoch of the last batch; kNoEpoch when empty
  // The end of `epoch` in this log (see EpochEnd). For an epoch newer than every epoch in the
  // log: {last_epoch(), end_offset()}.
  virtual EpochEnd end_of_epoch(LeaderEpoch epoch) const = 0;
};

struct RaftConfig {
  NodeId self = kNoNode;
  std::vector<NodeId> voters;  // every replica of the log, `self` included; no duplicates
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
  Offset fetch_offset{0};    // its log end, as of its last fetch (the leader: its own)
  Offset durable_offset{0};  // its fsynced end, as of its last fetch
  int64_t last_fetch_ms = -1;       // -1: never fetched in this epoch
  int64_t last_caught_up_ms = -1;   // last time it had reached the leader's log end
  bool in_sync = false;             // ISR
};

class RaftCore {
 public:
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
  // Follower side: the answer from `from` arrived.
  FetchStep on_fetch_answer(NodeId from, const FetchAnswer& answer, int64_t now_ms);

  // The log's end or durable offset moved (append, flush, truncate): the leader recomputes the
  // high watermark, a follower caps its own.
  void log_changed(int64_t now_ms);

  // Leader: hand leadership to `to` once it has caught up (TimeoutNow); given up after an
  // election timeout. Ignored when not leader or `to` is not another voter.
  void transfer_leadership(NodeId to, int64_t now_ms);

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
  // Implementation state (see raft_core.cc).
  RaftConfig config_;
  HardState hard_;
  const RaftLogView& log_;
  std::mt19937_64 random_;
  Role role_ = Role::follower;
  NodeId leader_ = kNoNode;
  Offset high_watermark_{0};
};

}  // namespace ferry::cluster
