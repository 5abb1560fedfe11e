// The messages one Raft group's replicas exchange (one partition, or the cluster metadata).
//
// The protocol is Raft with pull replication, as Kafka's KRaft runs it (KIP-595): the leader of
// an epoch never pushes; each follower fetches from its leader, and a fetch doubles as the
// follower's heartbeat (the leader counts who fetched recently) and its answer as the leader's
// (a follower that hears nothing for an election timeout starts an election). The Raft term is
// the partition leader epoch, stamped in every batch's partitionLeaderEpoch, and log matching
// uses (end offset, last epoch) the way Kafka's leader-epoch checks do (KIP-101/279): a fetch
// says where the follower's log ends and the epoch of its last batch; the leader answers with
// data, or with the end of that epoch in its own log when the follower's tail diverges.
//
// These are plain values. The core (raft_core.h) produces and consumes them; the node's
// transport (one connection per pair of nodes) carries them, many groups per frame, with the
// group (topic, partition) beside each message, and carries a fetch answer's record batches,
// which the core never sees.
#pragma once

#include <cstdint>
#include <optional>
#include <variant>

#include "common/strong_types.h"

namespace ferry::cluster {

inline constexpr NodeId kNoNode{-1};
inline constexpr LeaderEpoch kNoEpoch{-1};

// The end of one epoch in a log: the largest epoch <= the one asked about that the log holds,
// and the offset after its last batch (the start of the next epoch in that log, or the log end).
// {kNoEpoch, Offset{-1}} when the log holds no epoch at or below the one asked about.
struct EpochEnd {
  LeaderEpoch epoch = kNoEpoch;
  Offset end_offset{-1};
  bool operator==(const EpochEnd&) const = default;
};

// Candidate (or pre-candidate) -> every other voter.
// A pre-vote (pre_vote = true) asks "would you vote for me in `epoch`?" without anyone changing
// state: the candidate has not moved to `epoch` and voters do not record it. Voters grant a
// pre-vote only when they have not heard from a live leader within the election timeout and the
// candidate's log is at least as up to date as theirs.
struct VoteRequest {
  LeaderEpoch epoch;                  // the epoch the candidate stands in
  NodeId candidate = kNoNode;         // the sender
  LeaderEpoch last_epoch = kNoEpoch;  // epoch of the candidate's last batch
  Offset end_offset{0};               // the candidate's log end
  bool pre_vote = false;
  // Set when the current leader handed leadership over (TimeoutNow): voters grant even though
  // they hear from a live leader.
  bool transfer = false;
};

// Also sent, not granted, in answer to a BeginEpoch of an epoch older than the receiver's: the
// old epoch's leader learns the newer epoch and steps down.
struct VoteResponse {
  LeaderEpoch epoch;  // the voter's epoch after handling the request
  NodeId voter = kNoNode;
  bool granted = false;
  bool pre_vote = false;  // echoes the request
};

// New leader -> every other voter, once it has won: "I lead `epoch`; fetch from me".
struct BeginEpoch {
  LeaderEpoch epoch;
  NodeId leader = kNoNode;
};

// Leader -> one caught-up voter: start an election for epoch + 1 now (leadership transfer, e.g.
// back to the preferred replica). The receiver skips the pre-vote and sets VoteRequest::transfer.
struct TimeoutNow {
  LeaderEpoch epoch;  // the sender's (leader's) epoch
  NodeId leader = kNoNode;
};

// Follower -> the leader it follows: one group's part of the node's coalesced fetch.
struct FetchPosition {
  LeaderEpoch epoch;  // the epoch the follower believes current
  NodeId replica = kNoNode;
  Offset fetch_offset{0};                     // the follower's log end: send batches from here
  LeaderEpoch last_fetched_epoch = kNoEpoch;  // epoch of the follower's last batch
  Offset durable_offset{0};                   // all below is fsynced on the follower
};

enum class FetchStatus : uint8_t {
  ok,  // data from fetch_offset (possibly none), or `diverging`
  // The receiver does not lead `epoch` (`leader`/`epoch` say what it knows), or the sender is
  // not another voter of the group.
  not_leader,
  fenced_leader_epoch,   // the fetch names an older epoch than the receiver's
  unknown_leader_epoch,  // the fetch names a newer epoch than the receiver knows
};

// Leader -> follower: the answer to one FetchPosition (the batches travel beside it).
struct FetchAnswer {
  FetchStatus status = FetchStatus::ok;
  LeaderEpoch epoch;        // the answering node's epoch
  NodeId leader = kNoNode;  // who it believes leads (kNoNode: unknown)
  // The follower's tail diverges: truncate to min(end_offset, the end of `epoch` in the
  // follower's own log), then fetch again. No data comes with it.
  std::optional<EpochEnd> diverging;
  Offset high_watermark{0};
  Offset log_start_offset{0};
};

using RaftMessage = std::variant<VoteRequest, VoteResponse, BeginEpoch, TimeoutNow>;

}  // namespace ferry::cluster
