// The simulated Raft group of raft_sim.h: event loop, driver, network, nemesis and invariants.
#include "raft_sim.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace ferry::cluster::test {

namespace {

const char* role_name(Role role) {
  switch (role) {
    case Role::follower: return "follower";
    case Role::pre_candidate: return "pre_candidate";
    case Role::candidate: return "candidate";
    case Role::leader: return "leader";
  }
  return "?";
}

std::string describe(const RaftMessage& m) {
  char buf[160];
  if (const auto* v = std::get_if<VoteRequest>(&m)) {
    std::snprintf(buf, sizeof buf, "VoteRequest e%d last=(e%d,%lld)%s%s", v->epoch.value(),
                  v->last_epoch.value(), static_cast<long long>(v->end_offset.value()),
                  v->pre_vote ? " pre" : "", v->transfer ? " transfer" : "");
  } else if (const auto* r = std::get_if<VoteResponse>(&m)) {
    std::snprintf(buf, sizeof buf, "VoteResponse e%d %s%s", r->epoch.value(),
                  r->granted ? "granted" : "refused", r->pre_vote ? " pre" : "");
  } else if (const auto* b = std::get_if<BeginEpoch>(&m)) {
    std::snprintf(buf, sizeof buf, "BeginEpoch e%d", b->epoch.value());
  } else {
    std::snprintf(buf, sizeof buf, "TimeoutNow e%d", std::get<TimeoutNow>(m).epoch.value());
  }
  return buf;
}

std::string describe_log(const SimLog& log) {
  std::string out;
  for (const SimBatch& b : log.batches()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "[%lld+%lld e%d #%llu]", static_cast<long long>(b.base.value()),
                  static_cast<long long>(b.count), b.epoch.value(),
                  static_cast<unsigned long long>(b.id));
    out += buf;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, " durable=%lld",
                static_cast<long long>(log.durable_offset().value()));
  return out + buf;
}

constexpr uint64_t kAnyIncarnation = ~uint64_t{0};

}  // namespace

RaftSim::RaftSim(const SimScenario& scenario, uint64_t seed, bool trace)
    : scenario_(scenario), seed_(seed), trace_on_(trace), rng_(seed * 0x9E3779B97F4A7C15ull + 1) {
  for (int i = 1; i <= scenario_.nodes; ++i) voters_.push_back(NodeId(i));
  for (int i = 1; i <= scenario_.nodes; ++i) {
    auto n = std::make_unique<Node>();
    n->id = i;
    nodes_.push_back(std::move(n));
    start_core(*nodes_.back());
    schedule(between(1, 20), EventKind::tick, i);
    schedule(between(1, 40), EventKind::flush, i);
  }
  schedule(between(1, 20), EventKind::client, 0);
  schedule(between(50, 300), EventKind::nemesis, 0);
}

RaftSim::~RaftSim() = default;

void RaftSim::schedule(int64_t at, EventKind kind, int node_id, size_t message) {
  const uint64_t incarnation =
      node_id > 0 && kind != EventKind::deliver ? node(node_id).incarnation : kAnyIncarnation;
  queue_.push(Event{at, seq_++, kind, node_id, incarnation, message});
}

void RaftSim::start_core(Node& n) {
  RaftConfig config;
  config.self = NodeId(n.id);
  config.voters = voters_;
  config.election_timeout_ms = kElectionTimeoutMs;
  config.replica_lag_time_max_ms = 3 * kElectionTimeoutMs;
  n.core = std::make_unique<RaftCore>(config, n.persisted, n.log, rng_(), now_);
  n.outstanding_fetch = 0;
  n.fetch_scheduled = false;
  n.led_epoch = kNoEpoch;
}

// ---- the network ----------------------------------------------------------------------------

void RaftSim::send(int from, int to, Payload payload) {
  if (chaos_ && chance(scenario_.loss)) return;
  const int copies = chaos_ && chance(scenario_.duplicate) ? 2 : 1;
  for (int c = 0; c < copies; ++c) {
    size_t slot;
    if (!free_messages_.empty()) {
      slot = free_messages_.back();
      free_messages_.pop_back();
      messages_[slot] = Message{from, to, c + 1 < copies ? payload : std::move(payload)};
    } else {
      slot = messages_.size();
      messages_.push_back(Message{from, to, c + 1 < copies ? payload : std::move(payload)});
    }
    const int64_t delay = chaos_ ? between(1, scenario_.max_delay_ms) : between(1, 3);
    schedule(now_ + delay, EventKind::deliver, to, slot);
  }
}

// ---- the driver -------------------------------------------------------------------------------

void RaftSim::drive(Node& n) {
  for (int guard = 0; guard < 100 && n.up; ++guard) {
    Ready ready = n.core->take_ready();
    if (ready.empty()) return;
    if (ready.hard_state) n.persisted = *ready.hard_state;  // durable before anything leaves
    for (const auto& [to, message] : ready.messages) {
      // A vote leaves only once the HardState recording it is durable.
      if (const auto* v = std::get_if<VoteResponse>(&message); v && v->granted && !v->pre_vote) {
        if (n.persisted != HardState{v->epoch, to}) {
          fail("node " + std::to_string(n.id) + " grants a vote in e" +
               std::to_string(v->epoch.value()) + " that is not persisted");
        }
      }
      if (const auto* v = std::get_if<VoteRequest>(&message); v && !v->pre_vote) {
        if (n.persisted != HardState{v->epoch, NodeId(n.id)}) {
          fail("node " + std::to_string(n.id) + " asks for votes before persisting its own");
        }
      }
    }
    if (ready.append_epoch_start) {
      create_batch(n, 1);
      n.core->log_changed(now_);
    }
    for (auto& [to, message] : ready.messages) {
      if (trace_on_) {
        note("  " + std::to_string(n.id) + "->" + std::to_string(to.value()) + " " +
             describe(message));
      }
      send(n.id, to.value(), RaftMessage(std::move(message)));
    }
  }
}

void RaftSim::pump_fetch(Node& n, int64_t delay_ms) {
  if (!n.up) return;
  if (delay_ms > 0) {
    if (!n.fetch_scheduled) {
      n.fetch_scheduled = true;
      schedule(now_ + delay_ms, EventKind::fetch, n.id);
    }
    return;
  }
  // One fetch at a time; one lost on the way is given up after a while.
  if (n.outstanding_fetch != 0 && now_ - n.fetch_sent_ms < 150) return;
  const auto position = n.core->next_fetch();
  if (!position) return;
  n.outstanding_fetch = next_fetch_id_++;
  n.fetch_sent_ms = now_;
  send(n.id, n.core->leader().value(), FetchRequest{n.outstanding_fetch, *position});
}

void RaftSim::on_fetch_request(Node& n, int from, const FetchRequest& request) {
  const FetchAnswer answer = n.core->on_fetch(request.position, now_);
  drive(n);
  FetchResponse response{request.id, answer, {}};
  if (answer.status == FetchStatus::ok && !answer.diverging) {
    response.batches = n.log.read_from(
        request.position.fetch_offset,
        static_cast<size_t>(between(1, static_cast<int64_t>(scenario_.max_fetch_batches))));
  }
  send(n.id, from, std::move(response));
}

void RaftSim::on_fetch_response(Node& n, int from, const FetchResponse& response) {
  if (response.id != n.outstanding_fetch) return;  // not the answer to the fetch in flight
  n.outstanding_fetch = 0;
  const FetchStep step = n.core->on_fetch_answer(NodeId(from), response.answer, now_);
  if (step.kind == FetchStep::Kind::append) {
    for (const SimBatch& b : response.batches) {
      const uint64_t last = n.log.batches().empty() ? 0 : n.log.batches().back().id;
      if (b.base != n.log.end_offset()) {
        fail("node " + std::to_string(n.id) + " is given a batch at " +
             std::to_string(b.base.value()) + " past its end " +
             std::to_string(n.log.end_offset().value()));
        return;
      }
      if (b.parent != last) {
        // Log matching: the batch follows a different history here than where it was made.
        fail("log matching: node " + std::to_string(n.id) + " appends #" + std::to_string(b.id) +
             " (e" + std::to_string(b.epoch.value()) + " at " + std::to_string(b.base.value()) +
             ") after #" + std::to_string(last) + ", made after #" + std::to_string(b.parent));
        return;
      }
      n.log.append(b);
    }
    n.core->log_changed(now_);
    drive(n);
    pump_fetch(n, response.batches.empty() ? 10 : 0);
  } else if (step.kind == FetchStep::Kind::truncate) {
    if (trace_on_) {
      note("  " + std::to_string(n.id) + " truncates to " +
           std::to_string(step.truncate_to.value()));
    }
    for (const SimBatch& b : n.log.truncate_to(step.truncate_to)) {
      if (is_committed(b.id)) {
        fail("node " + std::to_string(n.id) + " truncates committed batch #" +
             std::to_string(b.id) + " at " + std::to_string(b.base.value()));
        return;
      }
    }
    n.core->log_changed(now_);
    drive(n);
    pump_fetch(n, 0);
  } else {
    drive(n);
    pump_fetch(n, 10);
  }
}

void RaftSim::create_batch(Node& n, int64_t count) {
  const LeaderEpoch epoch = n.core->epoch();
  const auto e = static_cast<size_t>(epoch.value());
  if (creator_of_epoch_.size() <= e) {
    creator_of_epoch_.resize(e + 1, 0);
    created_end_of_epoch_.resize(e + 1, Offset(-1));
  }
  const Offset base = n.log.end_offset();
  if (creator_of_epoch_[e] != 0 && creator_of_epoch_[e] != n.id) {
    fail("nodes " + std::to_string(creator_of_epoch_[e]) + " and " + std::to_string(n.id) +
         " both make batches in e" + std::to_string(epoch.value()));
  }
  if (created_end_of_epoch_[e] != Offset(-1) && created_end_of_epoch_[e] != base) {
    fail("e" + std::to_string(epoch.value()) + "'s batches are not contiguous at " +
         std::to_string(base.value()));
  }
  creator_of_epoch_[e] = n.id;
  created_end_of_epoch_[e] = base + count;
  const uint64_t parent = n.log.batches().empty() ? 0 : n.log.batches().back().id;
  n.log.append(SimBatch{base, count, epoch, next_batch_id_++, parent});
  committed_flag_.resize(static_cast<size_t>(next_batch_id_), 0);
}

void RaftSim::crash(Node& n) {
  if (!n.up) return;
  if (trace_on_) note("  " + std::to_string(n.id) + " crashes");
  n.up = false;
  ++n.incarnation;
  n.log.crash();  // committed batches may go too: they are durable on a majority elsewhere
  n.core.reset();
  n.outstanding_fetch = 0;
  n.fetch_scheduled = false;
  n.led_epoch = kNoEpoch;
  schedule(now_ + between(20, scenario_.max_down_ms), EventKind::restart, n.id);
  report_link_lost(n.id, 10);
}

void RaftSim::report_link_lost(int dead, int64_t max_ms) {
  for (auto& other : nodes_) {
    if (other->id == dead || !other->up || !chance(0.8)) continue;
    schedule(now_ + between(1, max_ms), EventKind::link_lost, other->id, static_cast<size_t>(dead));
  }
}

// ---- events ---------------------------------------------------------------------------------

void RaftSim::handle(const Event& e) {
  Node* n = e.node > 0 ? &node(e.node) : nullptr;
  if (n && e.incarnation != kAnyIncarnation && e.incarnation != n->incarnation) return;
  switch (e.kind) {
    case EventKind::deliver: {
      Message m = std::move(messages_[e.message]);
      free_messages_.push_back(e.message);
      if (!n->up || !linked(m.from, m.to)) return;
      if (auto* r = std::get_if<RaftMessage>(&m.payload)) {
        n->core->receive(NodeId(m.from), *r, now_);
        drive(*n);
        pump_fetch(*n, 0);
      } else if (auto* q = std::get_if<FetchRequest>(&m.payload)) {
        on_fetch_request(*n, m.from, *q);
      } else {
        on_fetch_response(*n, m.from, std::get<FetchResponse>(m.payload));
      }
      return;
    }
    case EventKind::tick:
      if (!n->up) return;
      n->core->tick(now_);
      drive(*n);
      pump_fetch(*n, 0);
      schedule(now_ + between(15, 25), EventKind::tick, n->id);
      return;
    case EventKind::link_lost:
      if (!n->up || n->core->leader() != NodeId(static_cast<int32_t>(e.message))) return;
      if (trace_on_) {
        note("  " + std::to_string(n->id) + " sees its link to " + std::to_string(e.message) +
             " fail");
      }
      n->core->leader_unreachable(now_);
      n->core->tick(now_);
      drive(*n);
      return;
    case EventKind::flush:
      if (!n->up) return;
      n->log.flush();
      n->core->log_changed(now_);
      drive(*n);
      schedule(now_ + between(2, 60), EventKind::flush, n->id);
      return;
    case EventKind::fetch:
      n->fetch_scheduled = false;
      pump_fetch(*n, 0);
      return;
    case EventKind::restart:
      if (n->up) return;
      n->up = true;
      start_core(*n);
      if (trace_on_) {
        note("  " + std::to_string(n->id) + " restarts at e" +
             std::to_string(n->persisted.epoch.value()) + " log " + describe_log(n->log));
      }
      schedule(now_ + between(1, 20), EventKind::tick, n->id);
      schedule(now_ + between(1, 40), EventKind::flush, n->id);
      return;
    case EventKind::client: {
      if (!chaos_) return;
      schedule(now_ + between(3, 25), EventKind::client, 0);
      std::vector<Node*> leaders;
      for (auto& c : nodes_) {
        if (c->up && c->core->role() == Role::leader && c->core->transfer_target() == kNoNode) {
          leaders.push_back(c.get());
        }
      }
      if (leaders.empty()) return;
      Node& l = *leaders[pick(leaders.size())];
      create_batch(l, between(1, 3));
      const SimBatch& b = l.log.batches().back();
      pending_.push_back(PendingAck{l.id, b.epoch, b.id, b.end()});
      l.core->log_changed(now_);
      drive(l);
      return;
    }
    case EventKind::kill:
      if (!chaos_ || !n->up) return;
      if (chance(0.5)) {
        crash(*n);
      } else {
        if (trace_on_) note("  nemesis: cut off " + std::to_string(n->id));
        for (int other = 1; other <= scenario_.nodes; ++other) {
          if (other == n->id) continue;
          set_link(n->id, other, false);
          set_link(other, n->id, false);
        }
        report_link_lost(n->id, 60);
      }
      return;
    case EventKind::nemesis:
      if (!chaos_) return;
      nemesis();
      schedule(now_ + between(50, scenario_.nemesis_every_ms), EventKind::nemesis, 0);
      return;
  }
}

void RaftSim::nemesis() {
  enum Action { heal, isolate, cut, crash_one, power_cut, transfer };
  std::vector<Action> actions{heal};
  if (scenario_.isolate) actions.push_back(isolate);
  if (scenario_.cut_links) actions.push_back(cut);
  if (scenario_.crashes) actions.push_back(crash_one);
  if (scenario_.power_cuts) actions.push_back(power_cut);
  if (scenario_.transfers) actions.push_back(transfer);
  const int nodes = scenario_.nodes;
  switch (actions[pick(actions.size())]) {
    case heal:
      if (trace_on_) note("  nemesis: heal");
      std::fill(cut_.begin(), cut_.end(), false);
      return;
    case isolate: {
      std::fill(cut_.begin(), cut_.end(), false);
      // One node alone, or (5 nodes) a 3|2 split; with 3 nodes a 2|1 split is the same thing.
      // Half the time the leader is in the minority.
      std::vector<int> side(static_cast<size_t>(nodes + 1), 0);
      const int minority = nodes >= 5 && chance(0.5) ? 2 : 1;
      int placed = 0;
      if (const int leader = some_leader(); leader != 0 && chance(0.5)) {
        side[static_cast<size_t>(leader)] = 1;
        ++placed;
      }
      while (placed < minority) {
        const int id = 1 + static_cast<int>(below(static_cast<uint64_t>(nodes)));
        if (side[static_cast<size_t>(id)] == 0) {
          side[static_cast<size_t>(id)] = 1;
          ++placed;
        }
      }
      for (int a = 1; a <= nodes; ++a) {
        for (int b = 1; b <= nodes; ++b) {
          if (side[static_cast<size_t>(a)] != side[static_cast<size_t>(b)]) set_link(a, b, false);
        }
      }
      if (trace_on_) note("  nemesis: split, minority of " + std::to_string(minority));
      return;
    }
    case cut: {
      const int a = 1 + static_cast<int>(below(static_cast<uint64_t>(nodes)));
      const int b = 1 + static_cast<int>(below(static_cast<uint64_t>(nodes)));
      if (a == b) return;
      set_link(a, b, false);
      if (chance(0.5)) set_link(b, a, false);
      if (trace_on_) note("  nemesis: cut " + std::to_string(a) + "-" + std::to_string(b));
      // Either end may see the connection fail (the stall sweep closes it).
      if (chance(0.5))
        schedule(now_ + between(1, 60), EventKind::link_lost, b, static_cast<size_t>(a));
      if (chance(0.5))
        schedule(now_ + between(1, 60), EventKind::link_lost, a, static_cast<size_t>(b));
      // And now and then a connection fails while its leader lives (a reset on the way): the
      // pre-vote of the node that saw it must not depose that leader.
      if (Node& c = node(1 + static_cast<int>(below(static_cast<uint64_t>(nodes))));
          c.up && c.core->leader() != kNoNode && chance(0.3)) {
        schedule(now_ + between(1, 20), EventKind::link_lost, c.id,
                 static_cast<size_t>(c.core->leader().value()));
      }
      return;
    }
    case crash_one: crash(node(1 + static_cast<int>(below(static_cast<uint64_t>(nodes))))); return;
    case power_cut:
      if (trace_on_) note("  nemesis: power cut");
      for (int id = 1; id <= nodes; ++id) {
        if (chance(0.7)) crash(node(id));
      }
      return;
    case transfer:
      for (auto& c : nodes_) {
        if (c->up && c->core->role() == Role::leader) {
          const int to = 1 + static_cast<int>(below(static_cast<uint64_t>(nodes)));
          if (trace_on_)
            note("  nemesis: transfer " + std::to_string(c->id) + " -> " + std::to_string(to));
          c->core->transfer_leadership(NodeId(to), now_);
          drive(*c);
        }
      }
      return;
  }
}

int RaftSim::some_leader() {
  int found = 0;
  for (auto& c : nodes_) {
    if (c->up && c->core->role() == Role::leader && (found == 0 || chance(0.5))) found = c->id;
  }
  return found;
}

void RaftSim::heal_everything() {
  chaos_ = false;
  std::fill(cut_.begin(), cut_.end(), false);
  for (auto& n : nodes_) {
    if (!n->up) {
      ++n->incarnation;  // its pending restart event is void
      n->up = true;
      start_core(*n);
      schedule(now_ + between(1, 20), EventKind::tick, n->id);
      schedule(now_ + between(1, 40), EventKind::flush, n->id);
    }
  }
  if (trace_on_) note("  heal everything");
}

bool RaftSim::converged() {
  const Node* leader = nullptr;
  for (auto& n : nodes_) {
    if (!n->up) return false;
    if (n->core->role() == Role::leader) {
      if (leader) return false;
      leader = n.get();
    }
  }
  if (!leader) return false;
  const Offset hw = leader->core->high_watermark();
  if (hw != leader->log.end_offset()) return false;
  for (auto& n : nodes_) {
    if (n->log.batches() != leader->log.batches()) return false;
    if (n->core->high_watermark() != hw) return false;
    if (n.get() != leader && n->core->leader() != NodeId(leader->id)) return false;
  }
  return true;
}

// ---- invariants --------------------------------------------------------------------------------

void RaftSim::check_invariants() {
  for (auto& np : nodes_) {
    Node& n = *np;
    if (!n.up) continue;
    const RaftCore& core = *n.core;
    const Offset hw = core.high_watermark();
    if (core.role() == Role::leader) {
      const LeaderEpoch epoch = core.epoch();
      const auto e = static_cast<size_t>(epoch.value());
      max_epoch_seen_ = std::max<uint64_t>(max_epoch_seen_, e);
      if (leader_of_epoch_.size() <= e) leader_of_epoch_.resize(e + 1, 0);
      if (leader_of_epoch_[e] == 0) {
        leader_of_epoch_[e] = n.id;
        if (chaos_ && chance(scenario_.kill_new_leaders)) {
          schedule(now_ + between(5, 80), EventKind::kill, n.id);
        }
        if (trace_on_)
          note("  " + std::to_string(n.id) + " leads e" + std::to_string(e) + " log " +
               describe_log(n.log));
      } else if (leader_of_epoch_[e] != n.id) {
        return fail("two leaders in e" + std::to_string(e) + ": " +
                    std::to_string(leader_of_epoch_[e]) + " and " + std::to_string(n.id));
      }
      if (n.led_epoch == epoch && hw < n.led_hw) {
        return fail("leader " + std::to_string(n.id) + "'s high watermark went down from " +
                    std::to_string(n.led_hw.value()) + " to " + std::to_string(hw.value()));
      }
      n.led_epoch = epoch;
      n.led_hw = hw;
      // Everything committed under an earlier epoch is in this leader's log.
      Offset required{0};
      for (const auto& [committing_epoch, end] : committed_end_by_epoch_) {
        if (committing_epoch >= epoch.value()) break;
        required = std::max(required, end);
      }
      if (required > Offset(0)) {
        const SimBatch* b = n.log.batch_at(required - 1);
        if (!b || !is_committed(b->id)) {
          return fail("leader " + std::to_string(n.id) + " of e" + std::to_string(e) +
                      " lacks committed offset " + std::to_string(required.value() - 1) +
                      "; its log " + describe_log(n.log));
        }
      }
      // Its high watermark commits what lies below it.
      const Offset committed_end = committed_.empty() ? Offset(0) : committed_.back().end();
      if (hw > committed_end) {
        if (committed_end > Offset(0)) {
          const SimBatch* b = n.log.batch_at(committed_end - 1);
          if (!b || b->id != committed_.back().id) {
            return fail("leader " + std::to_string(n.id) + " commits to " +
                        std::to_string(hw.value()) +
                        " over a history other than the committed one");
          }
        }
        for (const SimBatch& b : n.log.read_from(committed_end, ~size_t{0})) {
          if (b.end() > hw) break;
          committed_.push_back(b);
          committed_flag_[static_cast<size_t>(b.id)] = 1;
        }
        if (committed_.back().end() != hw) {
          return fail("leader " + std::to_string(n.id) + "'s high watermark " +
                      std::to_string(hw.value()) + " is inside a batch");
        }
        if (trace_on_)
          note("  commit to " + std::to_string(hw.value()) + " by " + std::to_string(n.id));
      }
      Offset& by_epoch = committed_end_by_epoch_[epoch.value()];
      by_epoch = std::max(by_epoch, hw);
    } else {
      n.led_epoch = kNoEpoch;
    }
    if (hw > Offset(0)) {
      const SimBatch* b = n.log.batch_at(hw - 1);
      if (!b || !is_committed(b->id)) {
        return fail("node " + std::to_string(n.id) + " (" + role_name(core.role()) +
                    ") has high watermark " + std::to_string(hw.value()) +
                    " over an uncommitted batch; its log " + describe_log(n.log));
      }
    }
  }
  // Appends acknowledged: their leader's high watermark passed them while it still led.
  for (size_t i = 0; i < pending_.size();) {
    const PendingAck& p = pending_[i];
    Node& n = node(p.node);
    const bool leads = n.up && n.core->role() == Role::leader && n.core->epoch() == p.epoch;
    if (leads && n.core->high_watermark() >= p.end) {
      acked_.emplace_back(p.id, p.end);
      ++acked_count_;
    } else if (leads) {
      ++i;
      continue;
    }
    pending_[i] = pending_.back();
    pending_.pop_back();
  }
  if ((events_ & 63) == 0) check_log_matching();
}

// Two logs holding the same epoch at an offset agree on everything below it: after the first
// batch where two logs differ, no offset may carry the same epoch in both.
void RaftSim::check_log_matching() {
  for (size_t x = 0; x < nodes_.size(); ++x) {
    for (size_t y = x + 1; y < nodes_.size(); ++y) {
      const auto& a = nodes_[x]->log.batches();
      const auto& b = nodes_[y]->log.batches();
      size_t i = 0, j = 0;
      while (i < a.size() && j < b.size() && a[i] == b[j]) {
        ++i;
        ++j;
      }
      while (i < a.size() && j < b.size()) {
        if (a[i].base < b[j].end() && b[j].base < a[i].end() && a[i].epoch == b[j].epoch) {
          return fail("log matching: nodes " + std::to_string(x + 1) + " and " +
                      std::to_string(y + 1) + " both hold e" + std::to_string(a[i].epoch.value()) +
                      " at " + std::to_string(std::max(a[i].base, b[j].base).value()) +
                      " after different histories");
        }
        if (a[i].end() <= b[j].end()) {
          ++i;
        } else {
          ++j;
        }
      }
    }
  }
}

void RaftSim::fail(const std::string& what) {
  if (!failure_.empty()) return;
  char buf[96];
  std::snprintf(buf, sizeof buf, "t=%lld ms, scenario %s: ", static_cast<long long>(now_),
                scenario_.name);
  failure_ = buf + what;
}

void RaftSim::note(const std::string& what) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "t=%lld", static_cast<long long>(now_));
  trace_.push_back(buf + what);
}

// ---- the run ----------------------------------------------------------------------------------

bool RaftSim::run(int64_t chaos_ms, int64_t settle_ms) {
  bool healed = false;
  int64_t next_convergence_check = 0;
  while (!queue_.empty() && failure_.empty()) {
    const Event e = queue_.top();
    if (!healed && e.at > chaos_ms) {
      now_ = chaos_ms;
      heal_everything();
      healed = true;
      next_convergence_check = now_;
      continue;
    }
    if (healed && e.at > chaos_ms + settle_ms) break;
    queue_.pop();
    now_ = e.at;
    ++events_;
    handle(e);
    if (!failure_.empty()) break;
    check_invariants();
    if (healed && now_ >= next_convergence_check) {
      if (converged()) break;
      next_convergence_check = now_ + 10;
    }
  }
  if (!failure_.empty()) return false;
  if (!converged()) {
    std::string state = "no convergence " + std::to_string(settle_ms) + " ms after healing:";
    for (auto& n : nodes_) {
      state += "\n  node " + std::to_string(n->id) + ": " + role_name(n->core->role()) + " e" +
               std::to_string(n->core->epoch().value()) + " leader " +
               std::to_string(n->core->leader().value()) + " hw " +
               std::to_string(n->core->high_watermark().value()) + " log " + describe_log(n->log);
    }
    fail(state);
    return false;
  }
  check_log_matching();
  // Every acknowledged append is in the converged log, below the high watermark.
  const SimLog& final_log = nodes_[0]->log;
  const Offset hw = nodes_[0]->core->high_watermark();
  for (const auto& [id, end] : acked_) {
    const SimBatch* b = final_log.batch_at(end - 1);
    if (!b || b->id != id || end > hw) {
      fail("acknowledged batch #" + std::to_string(id) + " ending at " +
           std::to_string(end.value()) + " is lost");
      return false;
    }
  }
  return failure_.empty();
}

}  // namespace ferry::cluster::test
