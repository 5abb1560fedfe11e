// The replica manager. See replica_manager.h.
#include "cluster/replica_manager.h"

#include <algorithm>
#include <utility>

#include "cluster/partition_log_view.h"
#include "cluster/raft_state_store.h"
#include "common/log.h"
#include "protocol/record_batch.h"

namespace ferry::cluster {

struct ReplicaManager::Group {
  GroupId id;
  std::shared_ptr<broker::Partition> partition;
  std::unique_ptr<PartitionLogView> view;
  std::unique_ptr<RaftCore> core;
  std::vector<NodeId> voters;
  // Messages waiting for the commit of the HardState they depend on (persist sequence number).
  std::vector<std::pair<uint64_t, std::pair<NodeId, RaftMessage>>> held;
  uint64_t wanted_seq = 0;  // the commit that saves its latest HardState
  bool unsaved = false;     // a HardState of this group is not committed yet
  bool applying = false;    // follower: fetched data being written
  bool flushing = false;    // leader: a flush of its writes is in flight
  bool flush_again = false;
  bool writing_epoch_start = false;
  bool epoch_start_due = false;  // leader: its epoch-start batch is still to be written
  // What the partition was last told, to tell the broker and the other nodes only of changes.
  Role role = Role::follower;
  NodeId leader = kNoNode;
  LeaderEpoch epoch{-1};
  std::vector<NodeId> isr;
  int64_t leader_since_ms = -1;  // when this node last became its leader (status only)
};

struct ReplicaManager::ParkedFetch {
  NodeId from = kNoNode;
  FetchRequest request;
  std::function<void(FetchResponse)> reply;
  std::unique_ptr<UvTimer> timer;
};

// A fetch answer being written: the next fetch to that leader goes when every part is done.
struct ReplicaManager::PendingResponse {
  NodeId leader = kNoNode;
  size_t outstanding = 0;
};

ReplicaManager::ReplicaManager(ReplicaManagerOptions options)
    : options_(std::move(options)), tick_timer_(options_.loop) {}

ReplicaManager::~ReplicaManager() {
  *alive_ = false;
  for (auto& [id, g] : groups_) g->partition->set_change_listener({});
}

ReplicaManager::Group* ReplicaManager::find(const GroupId& group) {
  auto it = groups_.find(group);
  return it == groups_.end() ? nullptr : it->second.get();
}

Status ReplicaManager::add_group(const GroupId& group, std::shared_ptr<broker::Partition> partition,
                                 std::vector<NodeId> voters) {
  if (groups_.count(group) != 0) return {};
  auto hard = load_hard_state(options_.meta->reader(), group);
  if (!hard) return std::move(hard).error();
  auto g = std::make_unique<Group>();
  g->id = group;
  g->partition = std::move(partition);
  g->voters = voters;
  g->view = std::make_unique<PartitionLogView>(g->partition->shared_log());
  RaftConfig config;
  config.self = options_.self;
  config.voters = std::move(voters);
  config.election_timeout_ms = options_.election_timeout_ms;
  config.replica_lag_time_max_ms = options_.replica_lag_time_max_ms;
  const uint64_t seed = std::hash<std::string>{}(group_name(group)) ^
                        (static_cast<uint64_t>(options_.self.value()) << 32) ^
                        static_cast<uint64_t>(now());
  g->core = std::make_unique<RaftCore>(config, *hard, *g->view, seed, now());
  Group* raw = g.get();
  g->partition->set_change_listener([this, raw, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.lock()) on_local_write(*raw);
  });
  groups_.emplace(group, std::move(g));
  sync_partition(*raw);
  process(*raw);
  flush_outbox();
  return {};
}

void ReplicaManager::remove_group(const GroupId& group) {
  auto it = groups_.find(group);
  if (it == groups_.end()) return;
  Group& g = *it->second;
  g.partition->set_change_listener({});
  g.partition->set_replicas(g.partition->replicas(), false);
  groups_.erase(it);
  remote_leaders_.erase(group);
}

void ReplicaManager::start() {
  tick_timer_.start(static_cast<uint64_t>(options_.heartbeat_interval_ms), [this] { tick(); });
}

void ReplicaManager::stop() {
  stopped_ = true;
  tick_timer_.stop();
  auto parked = std::move(parked_);
  parked_.clear();
  for (auto& p : parked) {
    bool any = false;
    p->reply(answer(p->from, p->request, &any));
  }
}

void ReplicaManager::tick() {
  if (stopped_) return;
  const int64_t t = now();
  for (auto& [id, g] : groups_) {
    g->core->tick(t);
    process(*g);
    write_epoch_start(*g);
  }
  if (t - last_broadcast_ms_ >= kLeaderBroadcastMs) {
    last_broadcast_ms_ = t;
    broadcast_leaders(true);
  } else {
    broadcast_leaders(false);
  }
  if (t - last_preferred_ms_ >= kPreferredCheckMs) {
    last_preferred_ms_ = t;
    check_preferred();
  }
  flush_outbox();
  persist();
  maybe_fetch_all();
  tick_timer_.start(static_cast<uint64_t>(options_.heartbeat_interval_ms), [this] { tick(); });
}

// Takes the core's output: HardState to save, messages (held until it is saved), the
// epoch-start batch, and what the broker's partition must know.
void ReplicaManager::process(Group& g) {
  Ready r = g.core->take_ready();
  if (r.hard_state) {
    to_persist_.emplace_back(g.id, *r.hard_state);
    // The commit in flight has number persist_seq_; the next one takes what waits now.
    g.wanted_seq = persist_seq_ + (persisting_ ? 1 : 0);
    g.unsaved = true;
  }
  if (!r.messages.empty()) queue_messages(g, std::move(r.messages));
  if (r.append_epoch_start) g.epoch_start_due = true;
  write_epoch_start(g);
  if (r.state_changed || r.hard_state) sync_partition(g);
}

// A new leader's first write: the record-less batch of its epoch. Waits for a write job still in
// flight (a follower's copy, or the previous epoch's produce); retried from tick() after an error.
void ReplicaManager::write_epoch_start(Group& g) {
  if (!g.epoch_start_due || g.writing_epoch_start || g.core->role() != Role::leader ||
      g.partition->write_in_flight()) {
    return;
  }
  g.writing_epoch_start = true;
  const LeaderEpoch epoch = g.core->epoch();
  Group* raw = &g;
  g.partition->append_epoch_start(
      epoch, now(),
      [this, raw, epoch, id = g.id,
       alive = std::weak_ptr<bool>(alive_)](Result<storage::AppendInfo> written) {
        if (!alive.lock() || find(id) != raw) return;
        raw->writing_epoch_start = false;
        if (!written) {
          FERRY_LOG(warn, "replication", "%s: the start of epoch %d was not written: %s",
                    group_name(id).c_str(), epoch.value(), written.error().to_string().c_str());
          return;
        }
        if (raw->core->epoch() == epoch) raw->epoch_start_due = false;
        on_local_write(*raw);
      });
}

void ReplicaManager::queue_messages(Group& g,
                                    std::vector<std::pair<NodeId, RaftMessage>> messages) {
  for (auto& m : messages) {
    if (g.unsaved) {
      g.held.emplace_back(g.wanted_seq, std::move(m));
    } else {
      outbox_[m.first].messages.push_back({g.id, std::move(m.second)});
    }
  }
}

void ReplicaManager::flush_outbox() {
  if (outbox_.empty()) return;
  auto out = std::move(outbox_);
  outbox_.clear();
  for (auto& [to, frame] : out) {
    if (to == options_.self || frame.messages.empty()) continue;
    options_.transport->send_votes(to, std::move(frame));
  }
}

// Saves every pending HardState in one meta.db commit; releases the messages that waited for it.
void ReplicaManager::persist() {
  if (persisting_ || to_persist_.empty()) return;
  persisting_ = true;
  const uint64_t seq = persist_seq_;
  auto batch = std::move(to_persist_);
  to_persist_.clear();
  std::vector<GroupId> ids;
  for (const auto& p : batch) ids.push_back(p.first);
  options_.meta->submit(
      {save_hard_states(batch)},
      [this, seq, batch, ids = std::move(ids), alive = std::weak_ptr<bool>(alive_)](Status st) {
        if (!alive.lock()) return;
        persisting_ = false;
        if (!st) {
          // The messages stay held; the states are saved with the next commit (next tick).
          FERRY_LOG(error, "replication", "saving Raft state failed (votes held): %s",
                    st.error().to_string().c_str());
          to_persist_.insert(to_persist_.begin(), batch.begin(), batch.end());
          return;
        }
        persist_seq_ = seq + 1;
        for (const GroupId& id : ids) {
          Group* g = find(id);
          if (g == nullptr) continue;
          if (g->wanted_seq <= seq) g->unsaved = false;
          auto held = std::move(g->held);
          g->held.clear();
          for (auto& [need, m] : held) {
            if (need <= seq) {
              outbox_[m.first].messages.push_back({g->id, std::move(m.second)});
            } else {
              g->held.emplace_back(need, std::move(m));
            }
          }
        }
        flush_outbox();
        persist();
      });
}

void ReplicaManager::sync_partition(Group& g) {
  const RaftCore& c = *g.core;
  const int64_t t = now();
  broker::Partition::Replicas r;
  r.leader = c.leader();
  r.replicas = g.voters;
  if (c.role() == Role::leader) {
    r.isr = c.in_sync_replicas(t);
  } else if (auto info = leader_of(g.id)) {
    r.isr = info->isr;
  }
  for (NodeId v : g.voters) {
    if (c.role() == Role::leader && std::find(r.isr.begin(), r.isr.end(), v) == r.isr.end()) {
      // Out of sync and silent for an election timeout: reported offline.
      for (const auto& p : c.progress(t)) {
        if (p.node == v &&
            (p.last_fetch_ms < 0 || t - p.last_fetch_ms > options_.election_timeout_ms)) {
          r.offline.push_back(v);
        }
      }
    }
  }
  const bool leads = c.role() == Role::leader;
  if (leads) g.partition->set_leader_epoch(c.epoch());
  const bool changed = g.role != c.role() || g.leader != c.leader() || g.epoch != c.epoch() ||
                       (leads && g.isr != r.isr);
  g.partition->set_replicas(r, leads);
  g.partition->advance_high_watermark(c.high_watermark());
  if (changed) {
    if (g.role != c.role() || g.leader != c.leader() || g.epoch != c.epoch()) {
      FERRY_LOG(info, "replication", "%s: epoch %d, %s, leader %d, high watermark %lld",
                group_name(g.id).c_str(), c.epoch().value(),
                leads ? "leader" : (c.role() == Role::follower ? "follower" : "candidate"),
                c.leader().value(), static_cast<long long>(c.high_watermark().value()));
    }
    if (leads && (g.role != Role::leader || g.epoch != c.epoch())) {
      ++leader_elections_;
      g.leader_since_ms = t;
    }
    g.role = c.role();
    g.leader = c.leader();
    g.epoch = c.epoch();
    g.isr = r.isr;
    if (leads) leader_updates_.push_back({g.id, c.epoch(), c.leader(), r.isr});
    if (!leads) wake_parked(g.id);
    if (c.role() == Role::follower && c.leader() != kNoNode) maybe_fetch(c.leader());
  }
  if (options_.on_change) options_.on_change(g.id);
}

// A leader write (or truncation) finished: fsync it at once — the high watermark counts durable
// offsets only — and wake the follower fetches waiting for data.
void ReplicaManager::on_local_write(Group& g) {
  if (g.core->role() != Role::leader) return;
  write_epoch_start(g);
  g.core->log_changed(now());
  process(g);
  wake_parked(g.id);
  if (g.flushing) {
    g.flush_again = true;
    return;
  }
  g.flushing = true;
  Group* raw = &g;
  g.partition->flush([this, raw, id = g.id, alive = std::weak_ptr<bool>(alive_)](Status st) {
    if (!alive.lock() || find(id) != raw) return;
    raw->flushing = false;
    if (!st) {
      FERRY_LOG(error, "replication", "%s: fsync failed: %s", group_name(id).c_str(),
                st.error().to_string().c_str());
    }
    raw->core->log_changed(now());
    process(*raw);
    flush_outbox();
    if (raw->flush_again) {
      raw->flush_again = false;
      on_local_write(*raw);
    }
  });
}

void ReplicaManager::on_votes(NodeId from, VoteFrame frame) {
  if (stopped_) return;
  const int64_t t = now();
  for (auto& m : frame.messages) {
    Group* g = find(m.group);
    if (g == nullptr) continue;
    g->core->receive(from, m.message, t);
    process(*g);
  }
  flush_outbox();
  persist();
}

FetchResponse ReplicaManager::answer(NodeId from, const FetchRequest& request, bool* any_data) {
  FetchResponse out;
  const int64_t t = now();
  size_t total = 0;
  for (const auto& [id, position] : request.fetches) {
    auto& part = out.answers.emplace_back();
    part.group = id;
    Group* g = find(id);
    if (g == nullptr || stopped_) {
      part.answer.status = FetchStatus::not_leader;
      if (auto info = leader_of(id)) {
        part.answer.epoch = info->epoch;
        part.answer.leader = info->leader;
      }
      continue;
    }
    FetchPosition pos = position;
    pos.replica = from;
    part.answer = g->core->on_fetch(pos, t);
    process(*g);
    part.answer.log_start_offset = g->partition->log_start_offset();
    if (part.answer.status != FetchStatus::ok || part.answer.diverging) continue;
    if (pos.fetch_offset >= g->partition->log_end_offset() || total >= kMaxFetchBytes) continue;
    if (pos.fetch_offset < g->partition->log_start_offset()) continue;  // below: nothing to send
    auto read = g->partition->log().read(pos.fetch_offset, kMaxPartitionFetchBytes);
    if (!read) {
      FERRY_LOG(warn, "replication", "%s: reading from %lld for node %d failed: %s",
                group_name(id).c_str(), static_cast<long long>(pos.fetch_offset.value()),
                from.value(), read.error().to_string().c_str());
      continue;
    }
    total += read->data.size();
    part.records.assign(read->data.begin(), read->data.end());
    if (!part.records.empty()) *any_data = true;
  }
  return out;
}

void ReplicaManager::on_fetch(NodeId from, FetchRequest request,
                              std::function<void(FetchResponse)> reply) {
  bool any = false;
  FetchResponse out = answer(from, request, &any);
  flush_outbox();
  persist();
  if (any || request.max_wait_ms == 0 || stopped_) {
    reply(std::move(out));
    return;
  }
  auto p = std::make_unique<ParkedFetch>();
  p->from = from;
  p->request = std::move(request);
  p->reply = std::move(reply);
  p->timer = std::make_unique<UvTimer>(options_.loop);
  ParkedFetch* raw = p.get();
  p->timer->start(static_cast<uint64_t>(p->request.max_wait_ms), [this, raw] {
    auto it = std::find_if(parked_.begin(), parked_.end(),
                           [raw](const auto& q) { return q.get() == raw; });
    if (it == parked_.end()) return;
    auto parked = std::move(*it);
    parked_.erase(it);
    bool data = false;
    parked->reply(answer(parked->from, parked->request, &data));
    flush_outbox();
  });
  parked_.push_back(std::move(p));
}

void ReplicaManager::wake_parked(const GroupId& group) {
  for (size_t i = 0; i < parked_.size();) {
    const auto& positions = parked_[i]->request.fetches;
    const bool mine = std::any_of(positions.begin(), positions.end(),
                                  [&](const auto& p) { return p.group == group; });
    if (!mine) {
      ++i;
      continue;
    }
    auto parked = std::move(parked_[i]);
    parked_.erase(parked_.begin() + static_cast<std::ptrdiff_t>(i));
    bool data = false;
    parked->reply(answer(parked->from, parked->request, &data));
  }
}

void ReplicaManager::maybe_fetch_all() {
  std::vector<NodeId> leaders;
  for (auto& [id, g] : groups_) {
    if (g->core->role() == Role::follower && g->core->leader() != kNoNode &&
        g->core->leader() != options_.self &&
        std::find(leaders.begin(), leaders.end(), g->core->leader()) == leaders.end()) {
      leaders.push_back(g->core->leader());
    }
  }
  for (NodeId l : leaders) maybe_fetch(l);
}

void ReplicaManager::maybe_fetch(NodeId leader) {
  if (stopped_ || leader == options_.self || fetch_in_flight_[leader]) return;
  FetchRequest request;
  request.replica = options_.self;
  request.max_wait_ms = static_cast<int32_t>(options_.heartbeat_interval_ms);
  size_t asked = 0;
  for (auto& [id, g] : groups_) {
    if (g->applying || g->core->role() != Role::follower || g->core->leader() != leader) continue;
    auto pos = g->core->next_fetch();
    if (!pos) continue;
    request.fetches.push_back({id, *pos});
    ++asked;
  }
  if (asked == 0) return;
  fetch_in_flight_[leader] = true;
  options_.transport->fetch(
      leader, std::move(request),
      [this, leader, alive = std::weak_ptr<bool>(alive_)](Result<FetchResponse> response) {
        if (!alive.lock()) return;
        on_fetch_response(leader, std::move(response));
      });
}

// The connection to `leader` closed or could not be made, and no other is open (a killed
// node's sockets are closed by its kernel at once; the network's stall sweep closes a silent
// link): the groups following it bring their elections forward (RaftCore::leader_unreachable;
// pre-votes still protect a leader that is alive).
void ReplicaManager::leader_unreachable(NodeId leader) {
  const int64_t t = now();
  for (auto& [id, g] : groups_) {
    if (g->core->role() != Role::follower || g->core->leader() != leader) continue;
    // Not ticked now: the first pre-vote leaves at the next tick, when the other followers
    // have most likely seen the same connection close (until then they refuse it).
    g->core->leader_unreachable(t);
    process(*g);
  }
}

void ReplicaManager::on_fetch_response(NodeId leader, Result<FetchResponse> response) {
  if (!response || stopped_) {
    // The link dropped or timed out: the next tick asks again (the cores' election timers run).
    fetch_in_flight_[leader] = false;
    if (!response && !stopped_ && response.error().code() == Errc::closed &&
        !options_.transport->connected(leader)) {
      leader_unreachable(leader);
    }
    return;
  }
  auto pending = std::make_shared<PendingResponse>();
  pending->leader = leader;
  pending->outstanding = 1;  // released at the end of this function
  const int64_t t = now();
  for (auto& part : response->answers) {
    Group* g = find(part.group);
    if (g == nullptr) continue;
    const FetchStep step = g->core->on_fetch_answer(leader, part.answer, t);
    switch (step.kind) {
      case FetchStep::Kind::append:
        if (!part.records.empty()) {
          ++pending->outstanding;
          apply_part(pending, *g, part);
        } else {
          g->core->log_changed(t);
        }
        break;
      case FetchStep::Kind::truncate: {
        auto end = g->partition->truncate_to(step.truncate_to);
        if (!end) {
          FERRY_LOG(error, "replication", "%s: truncating to %lld failed: %s",
                    group_name(part.group).c_str(),
                    static_cast<long long>(step.truncate_to.value()),
                    end.error().to_string().c_str());
        } else {
          FERRY_LOG(info, "replication", "%s: diverging tail cut at %lld (leader %d, epoch %d)",
                    group_name(part.group).c_str(), static_cast<long long>(end->value()),
                    leader.value(), part.answer.epoch.value());
        }
        g->core->log_changed(t);
        break;
      }
      case FetchStep::Kind::ignore: break;
    }
    process(*g);
  }
  flush_outbox();
  persist();
  part_done(pending);
}

// Writes one group's fetched batches with a write job, fsyncs them and records producer state;
// the group is "applying" (left out of fetches) until then.
void ReplicaManager::apply_part(const std::shared_ptr<PendingResponse>& pending, Group& g,
                                GroupAnswer& part) {
  auto data = std::make_shared<Buffer>(std::move(part.records));
  auto job = g.partition->begin_write();
  if (!job) {
    FERRY_LOG(warn, "replication", "%s: cannot write fetched batches: %s", group_name(g.id).c_str(),
              job.error().to_string().c_str());
    part_done(pending);
    return;
  }
  std::vector<std::pair<size_t, size_t>> batches;  // (position, size) in `data`
  size_t pos = 0;
  Offset expect = g.partition->log_end_offset();
  while (pos + protocol::batch_layout::kHeaderSize <= data->size()) {
    std::span<std::byte> rest(data->data() + pos, data->size() - pos);
    auto size = protocol::declared_batch_size(rest);
    if (!size || *size > rest.size()) break;  // a partial batch at the end of the read
    const protocol::BatchView view(rest.first(*size));
    if (view.base_offset() != expect) break;  // not where this log ends: fetch again
    auto info = g.partition->log().add(**job, rest.first(*size));
    if (!info) {
      FERRY_LOG(warn, "replication", "%s: a fetched batch at %lld was refused: %s",
                group_name(g.id).c_str(), static_cast<long long>(expect.value()),
                info.error().to_string().c_str());
      break;
    }
    batches.emplace_back(pos, *size);
    expect = info->last_offset + 1;
    pos += *size;
  }
  g.applying = true;
  Group* raw = &g;
  g.partition->submit(std::move(*job), [this, raw, id = g.id, data, batches = std::move(batches),
                                        pending, alive = std::weak_ptr<bool>(alive_)](Status st) {
    if (!alive.lock() || find(id) != raw) return;
    if (!st) {
      raw->applying = false;
      FERRY_LOG(warn, "replication", "%s: writing fetched batches failed: %s",
                group_name(id).c_str(), st.error().to_string().c_str());
      part_done(pending);
      return;
    }
    if (options_.on_replicated) {
      for (const auto& [at, size] : batches) {
        std::span<const std::byte> b(data->data() + at, size);
        options_.on_replicated(*raw->partition, b, protocol::BatchView(b).base_offset());
      }
    }
    raw->partition->flush([this, raw, id, pending, alive](Status fst) {
      if (!alive.lock() || find(id) != raw) return;
      raw->applying = false;
      if (!fst) {
        FERRY_LOG(error, "replication", "%s: fsync failed: %s", group_name(id).c_str(),
                  fst.error().to_string().c_str());
      }
      raw->core->log_changed(now());
      process(*raw);
      part_done(pending);
    });
  });
}

void ReplicaManager::part_done(const std::shared_ptr<PendingResponse>& pending) {
  if (--pending->outstanding > 0) return;
  fetch_in_flight_[pending->leader] = false;
  flush_outbox();
  persist();
  maybe_fetch(pending->leader);
}

void ReplicaManager::on_leaders(NodeId /*from*/, std::vector<LeaderInfo> leaders) {
  for (auto& info : leaders) {
    auto it = remote_leaders_.find(info.group);
    if (it != remote_leaders_.end() && it->second.epoch > info.epoch) continue;
    remote_leaders_[info.group] = info;
    if (Group* g = find(info.group); g != nullptr && g->core->role() != Role::leader) {
      sync_partition(*g);
    } else if (options_.on_change) {
      options_.on_change(info.group);
    }
  }
}

std::optional<LeaderInfo> ReplicaManager::leader_of(const GroupId& group) const {
  std::optional<LeaderInfo> out;
  if (auto it = groups_.find(group); it != groups_.end()) {
    const RaftCore& c = *it->second->core;
    if (c.leader() != kNoNode) {
      out = LeaderInfo{group, c.epoch(), c.leader(), it->second->isr};
      if (c.role() == Role::leader) out->isr = c.in_sync_replicas(now());
    }
  }
  if (auto it = remote_leaders_.find(group); it != remote_leaders_.end()) {
    // The leader's own word wins over a follower's view of the same epoch (it knows the ISR).
    const bool local_leads = out && out->leader == options_.self;
    if (!out || it->second.epoch > out->epoch || (it->second.epoch == out->epoch && !local_leads)) {
      out = it->second;
    }
  }
  return out;
}

void ReplicaManager::broadcast_leaders(bool everything) {
  std::vector<LeaderInfo> infos;
  if (everything) {
    for (auto& [id, g] : groups_) {
      if (g->core->role() == Role::leader) {
        infos.push_back({id, g->core->epoch(), options_.self, g->core->in_sync_replicas(now())});
      }
    }
    leader_updates_.clear();
  } else {
    // ISR changes of the groups led here.
    for (auto& [id, g] : groups_) {
      if (g->core->role() != Role::leader) continue;
      auto isr = g->core->in_sync_replicas(now());
      if (isr != g->isr) {
        g->isr = isr;
        sync_partition(*g);
      }
    }
    infos = std::move(leader_updates_);
    leader_updates_.clear();
  }
  if (infos.empty()) return;
  for (NodeId n : options_.nodes) {
    if (n != options_.self) options_.transport->send_leaders(n, infos);
  }
}

// Gives leadership back to each group's preferred replica (the first voter) once it is in sync.
void ReplicaManager::check_preferred() {
  const int64_t t = now();
  for (auto& [id, g] : groups_) {
    if (g->core->role() != Role::leader || g->voters.empty()) continue;
    const NodeId preferred = g->voters.front();
    if (preferred == options_.self) continue;
    auto isr = g->core->in_sync_replicas(t);
    if (std::find(isr.begin(), isr.end(), preferred) == isr.end()) continue;
    FERRY_LOG(info, "replication", "%s: handing leadership back to preferred replica %d",
              group_name(id).c_str(), preferred.value());
    g->core->transfer_leadership(preferred, t);
    process(*g);
  }
}

void ReplicaManager::transfer_leadership(const GroupId& group, NodeId to) {
  Group* g = find(group);
  if (g == nullptr) return;
  g->core->transfer_leadership(to, now());
  process(*g);
  flush_outbox();
  persist();
}

std::vector<ReplicaManager::GroupStatus> ReplicaManager::status() const {
  std::vector<GroupStatus> out;
  const int64_t t = now();
  for (const auto& [id, g] : groups_) {
    GroupStatus s;
    s.group = id;
    s.role = g->core->role();
    s.epoch = g->core->epoch();
    s.leader = g->core->leader();
    s.high_watermark = g->core->high_watermark();
    s.log_end = g->partition->log_end_offset();
    s.voters = g->voters;
    s.progress = g->core->progress(t);
    if (s.role == Role::leader) s.leader_since_ms = g->leader_since_ms;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ferry::cluster
