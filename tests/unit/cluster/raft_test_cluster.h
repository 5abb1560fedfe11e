// A hand-driven group of Raft cores for the scenario tests: each node a core over a SimLog with
// its persisted HardState; messages delivered on request over links that can be cut; fetches
// made one round trip at a time; time moved by the test.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "cluster/raft_core.h"
#include "sim_log.h"

namespace ferry::cluster::test {

class TestCluster {
 public:
  struct Node {
    NodeId id;
    SimLog log;
    HardState persisted;  // what survives a restart
    std::unique_ptr<RaftCore> core;
    std::vector<Ready> readies;  // every Ready taken, in order (for ordering checks)
  };

  // Nodes 1..n, all voters.
  explicit TestCluster(int n, int64_t election_timeout_ms = 100,
                       int64_t replica_lag_time_max_ms = 1000)
      : election_timeout_ms_(election_timeout_ms), lag_ms_(replica_lag_time_max_ms) {
    for (int i = 1; i <= n; ++i) voters_.push_back(NodeId(i));
    for (int i = 1; i <= n; ++i) {
      auto node = std::make_unique<Node>();
      node->id = NodeId(i);
      nodes_.push_back(std::move(node));
      start(*nodes_.back(), HardState{});
    }
  }

  int64_t now() const { return now_; }
  Node& node(int id) { return *nodes_[static_cast<size_t>(id - 1)]; }
  RaftCore& core(int id) { return *node(id).core; }
  SimLog& log(int id) { return node(id).log; }
  size_t size() const { return nodes_.size(); }

  // The links between a and b, both ways.
  void cut(int a, int b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  void isolate(int a) {
    for (size_t b = 1; b <= nodes_.size(); ++b) {
      if (static_cast<int>(b) != a) cut(a, static_cast<int>(b));
    }
  }
  void heal() { cut_.clear(); }
  bool linked(int a, int b) const { return cut_.count({a, b}) == 0; }

  // Time passes for everyone, ticking every node each `step_ms`.
  void advance(int64_t ms, int64_t step_ms = 10) {
    for (int64_t t = 0; t < ms; t += step_ms) {
      now_ += step_ms;
      for (auto& n : nodes_) {
        n->core->tick(now_);
        process(*n);
      }
    }
  }
  void tick(int id) {
    core(id).tick(now_);
    process(node(id));
  }
  void set_time(int64_t now_ms) { now_ = now_ms; }

  // Carries the queued messages (and the ones they cause) until none is left.
  void deliver() {
    for (int guard = 0; !in_flight_.empty() && guard < 100000; ++guard) {
      auto [from, to, message] = in_flight_.front();
      in_flight_.pop_front();
      if (!linked(from, to)) continue;
      core(to).receive(NodeId(from), message, now_);
      process(node(to));
    }
  }
  size_t in_flight() const { return in_flight_.size(); }
  void drop_in_flight() { in_flight_.clear(); }

  // One fetch round trip of `follower` with its leader; false when it has no leader, or a link
  // is cut. At most `max_batches` come back.
  FetchStep::Kind fetch(int follower, size_t max_batches = 1000) {
    last_step_ = FetchStep::Kind::ignore;
    const auto position = core(follower).next_fetch();
    if (!position) return last_step_;
    const int leader = core(follower).leader().value();
    if (!linked(follower, leader)) return last_step_;
    const FetchAnswer answer = core(leader).on_fetch(*position, now_);
    process(node(leader));
    std::vector<SimBatch> batches;
    if (answer.status == FetchStatus::ok && !answer.diverging) {
      batches = log(leader).read_from(position->fetch_offset, max_batches);
    }
    if (!linked(leader, follower)) return last_step_;
    const FetchStep step = core(follower).on_fetch_answer(NodeId(leader), answer, now_);
    if (step.kind == FetchStep::Kind::append) {
      for (const SimBatch& b : batches) log(follower).append(b);
      core(follower).log_changed(now_);
    } else if (step.kind == FetchStep::Kind::truncate) {
      log(follower).truncate_to(step.truncate_to);
      core(follower).log_changed(now_);
    }
    process(node(follower));
    last_step_ = step.kind;
    return step.kind;
  }
  // Every follower fetches (and flushes, when asked) until nothing moves.
  void replicate(bool flush_followers = true) {
    for (int round = 0; round < 50; ++round) {
      bool moved = false;
      for (size_t i = 1; i <= nodes_.size(); ++i) {
        const int id = static_cast<int>(i);
        const Offset before = log(id).end_offset();
        const auto kind = fetch(id);
        if (flush_followers) flush(id);
        if (kind == FetchStep::Kind::truncate || log(id).end_offset() != before) moved = true;
      }
      if (!moved) break;
    }
    for (size_t i = 1; i <= nodes_.size(); ++i) fetch(static_cast<int>(i));  // carry the HW
  }

  void flush(int id) {
    log(id).flush();
    core(id).log_changed(now_);
    process(node(id));
  }
  void flush_all() {
    for (size_t i = 1; i <= nodes_.size(); ++i) flush(static_cast<int>(i));
  }

  // A client batch of `count` records appended to `id` in its epoch.
  Offset append(int id, int64_t count = 1) {
    SimLog& l = log(id);
    const Offset base = l.end_offset();
    const uint64_t parent = l.batches().empty() ? 0 : l.batches().back().id;
    l.append(SimBatch{base, count, core(id).epoch(), next_batch_id_++, parent});
    core(id).log_changed(now_);
    process(node(id));
    return base;
  }
  // Places a batch directly (setting up a log before the cores run).
  void put(int id, LeaderEpoch epoch, int64_t count) {
    SimLog& l = log(id);
    const uint64_t parent = l.batches().empty() ? 0 : l.batches().back().id;
    l.append(SimBatch{l.end_offset(), count, epoch, next_batch_id_++, parent});
    l.flush();
  }

  // Crash and restart `id`: its unflushed tail is lost, its core starts from the persisted
  // HardState.
  void restart(int id, std::optional<HardState> state = std::nullopt) {
    Node& n = node(id);
    n.log.crash();
    start(n, state ? *state : n.persisted);
  }

  // The node that leads (one and only one expected), or 0.
  int leader() {
    int found = 0;
    for (size_t i = 1; i <= nodes_.size(); ++i) {
      if (core(static_cast<int>(i)).role() == Role::leader) {
        if (found != 0) return -1;
        found = static_cast<int>(i);
      }
    }
    return found;
  }

  // Makes `id` win an election now: its timer fires, everything is delivered.
  void elect(int id) {
    for (int attempt = 0; attempt < 20 && core(id).role() != Role::leader; ++attempt) {
      now_ += 3 * election_timeout_ms_;
      tick(id);
      deliver();
    }
  }

  // Every Ready taken so far from `id`.
  const std::vector<Ready>& readies(int id) { return node(id).readies; }

 private:
  struct Envelope {
    int from;
    int to;
    RaftMessage message;
  };

  void start(Node& n, HardState state) {
    RaftConfig config;
    config.self = n.id;
    config.voters = voters_;
    config.election_timeout_ms = election_timeout_ms_;
    config.replica_lag_time_max_ms = lag_ms_;
    n.persisted = state;
    n.core = std::make_unique<RaftCore>(
        config, state, n.log, static_cast<uint64_t>(n.id.value()) * 7919u + seed_salt_++, now_);
  }

  // Carries out a node's Ready: persist, append the epoch start, then queue the messages.
  void process(Node& n) {
    for (int guard = 0; guard < 100; ++guard) {
      Ready ready = n.core->take_ready();
      if (ready.empty()) return;
      if (ready.hard_state) n.persisted = *ready.hard_state;
      if (ready.append_epoch_start) {
        const uint64_t parent = n.log.batches().empty() ? 0 : n.log.batches().back().id;
        n.log.append(SimBatch{n.log.end_offset(), 1, n.core->epoch(), next_batch_id_++, parent});
        n.core->log_changed(now_);
      }
      for (const auto& [to, message] : ready.messages) {
        in_flight_.push_back(Envelope{n.id.value(), to.value(), message});
      }
      n.readies.push_back(std::move(ready));
    }
  }

  int64_t election_timeout_ms_;
  int64_t lag_ms_;
  std::vector<NodeId> voters_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::set<std::pair<int, int>> cut_;
  std::deque<Envelope> in_flight_;
  int64_t now_ = 0;
  uint64_t next_batch_id_ = 1;
  uint64_t seed_salt_ = 0;
  FetchStep::Kind last_step_ = FetchStep::Kind::ignore;
};

}  // namespace ferry::cluster::test
