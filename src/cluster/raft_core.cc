// The Raft state machine of one replicated log: elections with pre-vote and leader stickiness,
// check quorum, leadership transfer, the leader's side of pull replication (tail validation,
// follower positions, ISR, the high watermark) and the follower's (divergence, its high
// watermark). See raft_core.h for the contract and raft_messages.h for the protocol.
#include "cluster/raft_core.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <functional>
#include <limits>
#include <type_traits>
#include <utility>
#include <variant>

namespace ferry::cluster {

namespace {

// "Never heard from a leader": far enough in the past that any window check fails, and far
// enough from the type's limit that subtracting a timeout cannot overflow.
constexpr int64_t kNever = std::numeric_limits<int64_t>::min() / 4;

bool is_valid_voter_set(const RaftConfig& config) {
  if (config.voters.empty() || config.voters.size() > RaftCore::kMaxVoters) return false;
  for (size_t i = 0; i < config.voters.size(); ++i) {
    for (size_t j = i + 1; j < config.voters.size(); ++j) {
      if (config.voters[i] == config.voters[j]) return false;
    }
  }
  return config.election_timeout_ms > 0;
}

}  // namespace

RaftCore::RaftCore(RaftConfig config, HardState restored, const RaftLogView& log, uint64_t seed,
                   int64_t now_ms)
    : config_(std::move(config)),
      hard_(restored),
      log_(log),
      random_(seed),
      last_leader_contact_ms_(kNever) {
  // A voter set the core cannot represent is a programming error of the caller (the cluster
  // configuration is validated when it is loaded).
  if (!is_valid_voter_set(config_)) std::abort();
  self_index_ = voter_index(config_.self);
  majority_ = config_.voters.size() / 2 + 1;
  peers_.resize(config_.voters.size());
  for (size_t i = 0; i < peers_.size(); ++i) peers_[i].node = config_.voters[i];
  scratch_.resize(config_.voters.size());
  reset_election_timer(now_ms);
}

// ---- helpers ----------------------------------------------------------------------------------

int RaftCore::voter_index(NodeId node) const noexcept {
  for (size_t i = 0; i < config_.voters.size(); ++i) {
    if (config_.voters[i] == node) return static_cast<int>(i);
  }
  return -1;
}

// The election timeout plus a random extra in [0, election_timeout_ms), from splitmix64 over
// the seed: the same sequence on every platform and standard library.
int64_t RaftCore::random_timeout() noexcept {
  random_ += 0x9E3779B97F4A7C15ull;
  uint64_t z = random_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  const auto base = static_cast<uint64_t>(config_.election_timeout_ms);
  return config_.election_timeout_ms + static_cast<int64_t>(z % base);
}

void RaftCore::reset_election_timer(int64_t now_ms) noexcept {
  election_deadline_ms_ = now_ms + random_timeout();
}

void RaftCore::send(NodeId to, RaftMessage message) {
  ready_.messages.emplace_back(to, std::move(message));
}

void RaftCore::set_high_watermark(Offset hw) noexcept {
  if (hw == high_watermark_) return;
  high_watermark_ = hw;
  ready_.state_changed = true;
}

bool RaftCore::log_at_least_as_up_to_date(LeaderEpoch last_epoch, Offset end_offset) const {
  const LeaderEpoch mine = log_.last_epoch();
  if (last_epoch != mine) return last_epoch > mine;
  return end_offset >= log_.end_offset();
}

// Leader stickiness: a leader is live to itself; a follower counts its leader live while it has
// heard from it within the (non-randomised) election timeout.
bool RaftCore::hears_from_live_leader(int64_t now_ms) const noexcept {
  if (role_ == Role::leader) return true;
  return leader_ != kNoNode && now_ms - last_leader_contact_ms_ < config_.election_timeout_ms;
}

// ---- role transitions ---------------------------------------------------------------------------

void RaftCore::become_follower(LeaderEpoch epoch, NodeId leader, int64_t now_ms) {
  hard_ = HardState{epoch, kNoNode};
  ready_.hard_state = hard_;
  role_ = Role::follower;
  leader_ = leader == config_.self ? kNoNode : leader;
  granted_ = 0;
  transfer_target_ = kNoNode;
  reset_election_timer(now_ms);
  ready_.state_changed = true;
}

void RaftCore::follow(NodeId leader, int64_t now_ms) {
  if (role_ != Role::follower || leader_ != leader) {
    role_ = Role::follower;
    leader_ = leader;
    granted_ = 0;
    ready_.state_changed = true;
  }
  last_leader_contact_ms_ = now_ms;
  reset_election_timer(now_ms);
}

void RaftCore::step_down(int64_t now_ms) {
  role_ = Role::follower;
  leader_ = kNoNode;
  transfer_target_ = kNoNode;
  reset_election_timer(now_ms);
  ready_.state_changed = true;
}

void RaftCore::start_pre_vote(int64_t now_ms) {
  role_ = Role::pre_candidate;
  leader_ = kNoNode;
  granted_ = 0;
  reset_election_timer(now_ms);
  ready_.state_changed = true;
  const VoteRequest request{LeaderEpoch(hard_.epoch.value() + 1),
                            config_.self,
                            log_.last_epoch(),
                            log_.end_offset(),
                            /*pre_vote=*/true,
                            /*transfer=*/false};
  for (NodeId voter : config_.voters) {
    if (voter != config_.self) send(voter, request);
  }
  count_grant(config_.self, now_ms);
}

void RaftCore::start_election(int64_t now_ms, bool transfer) {
  hard_ = HardState{LeaderEpoch(hard_.epoch.value() + 1), config_.self};
  ready_.hard_state = hard_;  // persisted before the requests below leave
  role_ = Role::candidate;
  leader_ = kNoNode;
  granted_ = 0;
  reset_election_timer(now_ms);
  ready_.state_changed = true;
  const VoteRequest request{hard_.epoch,       config_.self,       log_.last_epoch(),
                            log_.end_offset(), /*pre_vote=*/false, transfer};
  for (NodeId voter : config_.voters) {
    if (voter != config_.self) send(voter, request);
  }
  count_grant(config_.self, now_ms);
}

void RaftCore::count_grant(NodeId voter, int64_t now_ms) {
  const int index = voter_index(voter);
  if (index < 0) return;
  granted_ |= uint64_t{1} << static_cast<unsigned>(index);
  if (static_cast<size_t>(std::popcount(granted_)) < majority_) return;
  if (role_ == Role::pre_candidate) {
    start_election(now_ms, /*transfer=*/false);
  } else if (role_ == Role::candidate) {
    become_leader(now_ms);
  }
}

void RaftCore::become_leader(int64_t now_ms) {
  role_ = Role::leader;
  leader_ = config_.self;
  granted_ = 0;
  leader_since_ms_ = now_ms;
  transfer_target_ = kNoNode;
  epoch_start_offset_ = log_.end_offset();
  for (Peer& peer : peers_) {
    const NodeId node = peer.node;
    peer = Peer{};
    peer.node = node;
    peer.quorum_contact_ms = now_ms;
    peer.begin_epoch_sent_ms = now_ms;
  }
  ready_.append_epoch_start = true;
  ready_.state_changed = true;
  for (NodeId voter : config_.voters) {
    if (voter != config_.self) send(voter, BeginEpoch{hard_.epoch, config_.self});
  }
  recompute_high_watermark();
}

// ---- time ------------------------------------------------------------------------------------

void RaftCore::tick(int64_t now_ms) {
  if (role_ == Role::leader) {
    leader_tick(now_ms);
    return;
  }
  if (self_index_ < 0) return;
  // A group of one needs nobody's answer: it elects itself at once.
  if (config_.voters.size() == 1) {
    start_election(now_ms, /*transfer=*/false);
    return;
  }
  if (now_ms >= election_deadline_ms_) start_pre_vote(now_ms);
}

void RaftCore::leader_unreachable(int64_t now_ms) {
  if (role_ != Role::follower || leader_ == kNoNode || self_index_ < 0) return;
  last_leader_contact_ms_ = kNever;
  // This voter's place among the others (the unreachable leader left out) staggers the
  // survivors' pre-votes by a quarter of an election timeout each.
  int64_t rank = 0;
  for (NodeId voter : config_.voters) {
    if (voter == config_.self) break;
    if (voter != leader_) ++rank;
  }
  election_deadline_ms_ =
      std::min(election_deadline_ms_, now_ms + rank * (config_.election_timeout_ms / 4));
}

void RaftCore::leader_tick(int64_t now_ms) {
  const int64_t window = config_.election_timeout_ms + config_.election_timeout_ms / 2;
  if (now_ms - leader_since_ms_ >= window) {
    size_t live = 0;
    for (size_t i = 0; i < peers_.size(); ++i) {
      if (static_cast<int>(i) == self_index_ || now_ms - peers_[i].quorum_contact_ms < window) {
        ++live;
      }
    }
    if (live < majority_) {
      step_down(now_ms);
      return;
    }
  }
  if (transfer_target_ != kNoNode && now_ms >= transfer_deadline_ms_) transfer_target_ = kNoNode;
  // A voter that has not fetched for an election timeout may have missed BeginEpoch (or came
  // back in a newer epoch of its own): tell it again, at most every half timeout.
  for (size_t i = 0; i < peers_.size(); ++i) {
    Peer& peer = peers_[i];
    if (static_cast<int>(i) == self_index_) continue;
    const int64_t last_heard = std::max(peer.last_fetch_ms, leader_since_ms_);
    if (now_ms - last_heard >= config_.election_timeout_ms &&
        now_ms - peer.begin_epoch_sent_ms >= config_.election_timeout_ms / 2) {
      peer.begin_epoch_sent_ms = now_ms;
      send(peer.node, BeginEpoch{hard_.epoch, config_.self});
    }
  }
}

// ---- votes and epochs --------------------------------------------------------------------------

void RaftCore::receive(NodeId from, const RaftMessage& message, int64_t now_ms) {
  if (from == config_.self || voter_index(from) < 0) return;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, VoteRequest>) {
          on_vote_request(from, m, now_ms);
        } else if constexpr (std::is_same_v<T, VoteResponse>) {
          on_vote_response(from, m, now_ms);
        } else if constexpr (std::is_same_v<T, BeginEpoch>) {
          on_begin_epoch(from, m, now_ms);
        } else {
          on_timeout_now(from, m, now_ms);
        }
      },
      message);
}

void RaftCore::on_vote_request(NodeId from, const VoteRequest& request, int64_t now_ms) {
  VoteResponse response{hard_.epoch, config_.self, false, request.pre_vote};
  const bool log_ok = log_at_least_as_up_to_date(request.last_epoch, request.end_offset);
  if (self_index_ < 0 || request.candidate != from) {
    // Not a voter of this group, or a request relayed for someone else: refuse.
  } else if (request.pre_vote) {
    // Nothing changes here: the pre-candidate learns whether a real election could succeed.
    response.granted = request.epoch > hard_.epoch && log_ok && !hears_from_live_leader(now_ms);
  } else if (request.epoch < hard_.epoch) {
    // An old epoch's candidate: the answer carries the newer epoch.
  } else if (!request.transfer && hears_from_live_leader(now_ms)) {
    // Stickiness: while a live leader is heard, a candidate cannot raise the epoch here.
  } else {
    if (request.epoch > hard_.epoch) become_follower(request.epoch, kNoNode, now_ms);
    const bool free = hard_.voted_for == kNoNode || hard_.voted_for == request.candidate;
    if (role_ != Role::leader && free && log_ok) {
      if (hard_.voted_for != request.candidate) {
        hard_.voted_for = request.candidate;
        ready_.hard_state = hard_;  // persisted before the response below leaves
      }
      reset_election_timer(now_ms);
      response.granted = true;
    }
    response.epoch = hard_.epoch;
  }
  send(from, response);
}

void RaftCore::on_vote_response(NodeId from, const VoteResponse& response, int64_t now_ms) {
  if (response.epoch > hard_.epoch) {
    // A refusal from a newer epoch (or the notice a stale BeginEpoch gets): move there.
    become_follower(response.epoch, kNoNode, now_ms);
    return;
  }
  if (!response.granted || response.voter != from) return;
  if (response.pre_vote && role_ == Role::pre_candidate) {
    count_grant(from, now_ms);
  } else if (!response.pre_vote && role_ == Role::candidate && response.epoch == hard_.epoch) {
    count_grant(from, now_ms);
  }
}

void RaftCore::on_begin_epoch(NodeId from, const BeginEpoch& begin, int64_t now_ms) {
  if (begin.leader != from) return;
  if (begin.epoch < hard_.epoch) {
    // A leader of an older epoch: let it know the newer one, so that it steps down and this
    // node can take part again (a refusal carrying the epoch is what it understands).
    send(from, VoteResponse{hard_.epoch, config_.self, false, false});
    return;
  }
  if (begin.epoch > hard_.epoch) {
    become_follower(begin.epoch, from, now_ms);
    last_leader_contact_ms_ = now_ms;
    return;
  }
  if (role_ == Role::leader) return;  // two leaders of one epoch cannot be: ignore
  follow(from, now_ms);
}

void RaftCore::on_timeout_now(NodeId from, const TimeoutNow& timeout_now, int64_t now_ms) {
  if (timeout_now.leader != from || timeout_now.epoch < hard_.epoch) return;
  if (timeout_now.epoch > hard_.epoch) {
    // This node is behind: follow, but do not stand without the leader's data.
    become_follower(timeout_now.epoch, from, now_ms);
    return;
  }
  if (role_ != Role::follower || leader_ != from || self_index_ < 0) return;
  start_election(now_ms, /*transfer=*/true);
}

// ---- leader: fetches
// ------------------------------------------------------------------------------

FetchAnswer RaftCore::on_fetch(const FetchPosition& position, int64_t now_ms) {
  FetchAnswer answer;
  answer.log_start_offset = log_.start_offset();
  const int index = voter_index(position.replica);
  if (index < 0 || index == self_index_) {
    answer.status = FetchStatus::not_leader;  // only the other voters fetch from a leader
  } else if (position.epoch > hard_.epoch) {
    // Someone saw a newer epoch this node missed: move there, leading no more.
    become_follower(position.epoch, kNoNode, now_ms);
    answer.status = FetchStatus::unknown_leader_epoch;
  } else if (position.epoch < hard_.epoch) {
    answer.status = FetchStatus::fenced_leader_epoch;
  } else if (role_ != Role::leader) {
    answer.status = FetchStatus::not_leader;
  }
  answer.epoch = hard_.epoch;
  answer.leader = leader_;
  answer.high_watermark = high_watermark_;
  if (answer.status != FetchStatus::ok) return answer;

  Peer& peer = peers_[static_cast<size_t>(index)];
  peer.quorum_contact_ms = now_ms;  // a fetch is the follower's heartbeat, matching or not
  const Offset end = log_.end_offset();
  if (position.last_fetched_epoch != kNoEpoch) {
    const EpochEnd mine = log_.end_of_epoch(position.last_fetched_epoch);
    if (mine.epoch != position.last_fetched_epoch || mine.end_offset < position.fetch_offset) {
      answer.diverging = mine;
      return answer;  // the position is not recorded: its tail is not this log's
    }
  }
  // The follower's log up to fetch_offset is a prefix of this one. Durable positions only grow
  // within an epoch; a reordered older fetch must not move them back.
  const Offset fetched = std::min(position.fetch_offset, end);
  const Offset durable = std::min(position.durable_offset, fetched);
  if (fetched >= end) {
    peer.last_caught_up_ms = now_ms;
  } else if (peer.last_fetch_ms >= 0 && fetched >= peer.end_at_last_fetch) {
    // It reached where this log ended at its previous fetch: in sync as of that fetch (appends
    // in between are not held against it).
    peer.last_caught_up_ms = std::max(peer.last_caught_up_ms, peer.last_fetch_ms);
  }
  peer.fetch_offset = fetched;
  peer.durable_offset = std::max(peer.durable_offset, durable);
  peer.last_fetch_ms = now_ms;
  peer.end_at_last_fetch = end;
  recompute_high_watermark();
  maybe_send_timeout_now(peer, now_ms);
  answer.high_watermark = high_watermark_;
  return answer;
}

// The high watermark: the largest offset a majority of the voters hold durably, once it covers
// this leader's epoch-start batch (committing an older epoch's batches only together with one of
// its own). It never moves back while this node leads.
void RaftCore::recompute_high_watermark() {
  if (role_ != Role::leader) return;
  for (size_t i = 0; i < peers_.size(); ++i) {
    scratch_[i] = static_cast<int>(i) == self_index_ ? log_.durable_offset().value()
                                                     : peers_[i].durable_offset.value();
  }
  const auto nth = scratch_.begin() + static_cast<std::ptrdiff_t>(majority_ - 1);
  std::nth_element(scratch_.begin(), nth, scratch_.end(), std::greater<>());
  const Offset quorum{*nth};
  if (quorum > epoch_start_offset_ && quorum > high_watermark_) {
    set_high_watermark(quorum);
    known_high_watermark_ = std::max(known_high_watermark_, quorum);
  }
}

// TimeoutNow goes when the target has everything; again at most every quarter timeout while it
// stays caught up (a lost one would otherwise stall the transfer until it is given up; a
// duplicate finds the target in a newer epoch and is ignored).
void RaftCore::maybe_send_timeout_now(const Peer& peer, int64_t now_ms) {
  if (transfer_target_ != peer.node || now_ms >= transfer_deadline_ms_) return;
  if (timeout_now_sent_ms_ >= 0 &&
      now_ms - timeout_now_sent_ms_ < config_.election_timeout_ms / 4) {
    return;
  }
  if (peer.fetch_offset < log_.end_offset()) return;
  timeout_now_sent_ms_ = now_ms;
  send(peer.node, TimeoutNow{hard_.epoch, config_.self});
}

void RaftCore::transfer_leadership(NodeId to, int64_t now_ms) {
  const int index = voter_index(to);
  if (role_ != Role::leader || index < 0 || index == self_index_) return;
  transfer_target_ = to;
  transfer_deadline_ms_ = now_ms + config_.election_timeout_ms;
  timeout_now_sent_ms_ = -1;
  const Peer& peer = peers_[static_cast<size_t>(index)];
  if (peer.last_fetch_ms >= 0) maybe_send_timeout_now(peer, now_ms);
}

// ---- follower: fetching
// ---------------------------------------------------------------------------

std::optional<FetchPosition> RaftCore::next_fetch() const {
  if (role_ != Role::follower || leader_ == kNoNode || self_index_ < 0) return std::nullopt;
  const Offset end = log_.end_offset();
  return FetchPosition{hard_.epoch, config_.self, end, log_.last_epoch(),
                       std::min(log_.durable_offset(), end)};
}

FetchStep RaftCore::on_fetch_answer(NodeId from, const FetchAnswer& answer, int64_t now_ms) {
  FetchStep step;  // ignore
  if (answer.epoch > hard_.epoch) {
    const bool known = answer.leader != kNoNode && voter_index(answer.leader) >= 0;
    become_follower(answer.epoch, known ? answer.leader : kNoNode, now_ms);
    return step;
  }
  if (answer.epoch < hard_.epoch || role_ != Role::follower || from != leader_) return step;
  if (answer.status != FetchStatus::ok) {
    // The node this one follows leads no more in this epoch (check quorum), or never did.
    const NodeId leader = answer.leader == config_.self ? kNoNode : answer.leader;
    if (leader != leader_) {
      leader_ = leader;
      reset_election_timer(now_ms);
      ready_.state_changed = true;
    }
    return step;
  }
  follow(from, now_ms);
  if (answer.diverging) {
    // Cut where this log may stop agreeing with the leader's: the end of the diverging epoch in
    // both logs. Where this log holds no such epoch (end -1), nothing of it can be kept.
    const EpochEnd mine = log_.end_of_epoch(answer.diverging->epoch);
    Offset to = std::min(answer.diverging->end_offset, mine.end_offset);
    to = std::max(to, log_.start_offset());
    step.kind = FetchStep::Kind::truncate;
    step.truncate_to = std::min(to, log_.end_offset());
    return step;
  }
  // A new leader may answer below what an earlier one had committed (its own high watermark
  // starts where it knew it as a follower): committed stays committed, so keep the larger.
  known_high_watermark_ = std::max(known_high_watermark_, answer.high_watermark);
  cap_follower_high_watermark();
  step.kind = FetchStep::Kind::append;
  return step;
}

void RaftCore::cap_follower_high_watermark() noexcept {
  set_high_watermark(std::min(known_high_watermark_, log_.end_offset()));
}

void RaftCore::log_changed(int64_t /*now_ms*/) {
  if (role_ == Role::leader) {
    recompute_high_watermark();
  } else {
    cap_follower_high_watermark();
  }
}

// ---- output and queries
// ---------------------------------------------------------------------------

Ready RaftCore::take_ready() {
  Ready out = std::move(ready_);
  ready_ = Ready{};
  return out;
}

std::vector<ReplicaProgress> RaftCore::progress(int64_t now_ms) const {
  std::vector<ReplicaProgress> out;
  if (role_ != Role::leader) return out;
  out.reserve(peers_.size());
  for (size_t i = 0; i < peers_.size(); ++i) {
    const Peer& peer = peers_[i];
    ReplicaProgress p;
    p.node = peer.node;
    if (static_cast<int>(i) == self_index_) {
      p.fetch_offset = log_.end_offset();
      p.durable_offset = log_.durable_offset();
      p.last_fetch_ms = now_ms;
      p.last_caught_up_ms = now_ms;
      p.in_sync = true;
    } else {
      p.fetch_offset = peer.fetch_offset;
      p.durable_offset = peer.durable_offset;
      p.last_fetch_ms = peer.last_fetch_ms;
      p.last_caught_up_ms = peer.last_caught_up_ms;
      p.in_sync = peer.last_caught_up_ms >= 0 &&
                  now_ms - peer.last_caught_up_ms <= config_.replica_lag_time_max_ms;
    }
    out.push_back(p);
  }
  return out;
}

std::vector<NodeId> RaftCore::in_sync_replicas(int64_t now_ms) const {
  std::vector<NodeId> out;
  for (const ReplicaProgress& p : progress(now_ms)) {
    if (p.in_sync) out.push_back(p.node);
  }
  return out;
}

}  // namespace ferry::cluster
