// GroupCoordinator: see group_coordinator.h for the state machine.
#include "broker/groups/group_coordinator.h"

#include <algorithm>
#include <random>
#include <set>

#include "broker/groups/group_snapshot.h"
#include "common/clock.h"
#include "common/log.h"

namespace ferry::broker {
namespace {

// Kafka's group.min.session.timeout.ms / group.max.session.timeout.ms defaults.
constexpr int32_t kMinSessionTimeoutMs = 6000;
constexpr int32_t kMaxSessionTimeoutMs = 1800000;
// Kafka's offset.metadata.max.bytes.
constexpr size_t kMaxOffsetMetadata = 4096;

using Protocols = std::vector<std::pair<std::string, protocol::Bytes>>;
using TopicPartitionKey = std::pair<std::string, PartitionId>;

bool same_protocols(const Protocols& a, const Protocols& b) { return a == b; }

}  // namespace

const char* group_state_name(GroupState s) noexcept {
  switch (s) {
    case GroupState::empty: return "Empty";
    case GroupState::preparing_rebalance: return "PreparingRebalance";
    case GroupState::completing_rebalance: return "CompletingRebalance";
    case GroupState::stable: return "Stable";
    case GroupState::dead: return "Dead";
  }
  return "Dead";
}

struct GroupCoordinator::Member {
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  Protocols protocols;
  protocol::Bytes assignment;
  std::function<void(JoinResult)> join_waiter;  // set while its JoinGroup is parked
  std::function<void(SyncResult)> sync_waiter;  // set while its SyncGroup is parked
  int64_t session_deadline_ms = 0;              // steady clock; 0 while parked in a join

  // Answers this member's parked JoinGroup and SyncGroup, if any, with `e`.
  void fail_parked(ErrorCode e) {
    if (join_waiter) {
      auto w = std::move(join_waiter);
      join_waiter = nullptr;
      JoinResult r;
      r.error = e;
      r.member_id = id;
      w(std::move(r));
    }
    if (sync_waiter) {
      auto w = std::move(sync_waiter);
      sync_waiter = nullptr;
      w({e, {}});
    }
  }

  const protocol::Bytes* metadata_for(const std::string& name) const {
    for (const auto& [n, md] : protocols) {
      if (n == name) return &md;
    }
    return nullptr;
  }
};

struct GroupCoordinator::Group {
  std::string id;
  GroupState state = GroupState::empty;
  int32_t generation = 0;
  std::string protocol_type;
  std::string protocol;  // selected in the last completed join
  std::string leader;
  std::map<std::string, std::unique_ptr<Member>> members;
  std::map<std::string, std::string> static_members;  // instance id -> member id
  // Ids given out with MEMBER_ID_REQUIRED, valid until the session timeout of the join that
  // asked (Kafka's pending members): a client that never comes back is forgotten.
  std::map<std::string, int64_t> pending;
  std::map<TopicPartitionKey, meta::OffsetCommit> offsets;
  int64_t join_deadline_ms = 0;  // steady clock; end of the join phase, 0 outside one
  bool initial_delay = false;
  int64_t empty_since_ms = 0;       // when the last member left (or the group was loaded)
  int32_t storing_generation = -1;  // in a cluster: the generation whose snapshot is proposed
};

GroupCoordinator::GroupCoordinator(uv_loop_t* loop, const config::BrokerConfig& config,
                                   meta::MetaStore& meta, const Clock& clock)
    : config_(config), meta_(meta), clock_(clock), deadline_timer_(loop) {}

GroupCoordinator::~GroupCoordinator() = default;

Status GroupCoordinator::load() {
  auto names = meta_.list_groups();
  if (!names) return std::move(names).error();
  for (const auto& name : *names) {
    auto offsets = meta_.committed_offsets(name);
    if (!offsets) return std::move(offsets).error();
    Group& g = get_or_create(name);
    g.empty_since_ms = clock_.now_ms();
    for (auto& o : *offsets) g.offsets[{o.topic, o.partition}] = o;
  }
  FERRY_LOG(info, "groups", "loaded committed offsets of %zu groups", groups_.size());
  // Membership stored through the metadata log (a cluster; a single node stores none).
  auto snapshots = load_group_snapshots(meta_.reader());
  if (!snapshots) return std::move(snapshots).error();
  for (auto& [name, snap] : *snapshots) restore(name, std::move(snap));
  if (!snapshots->empty()) {
    FERRY_LOG(info, "groups", "loaded the membership of %zu groups", snapshots->size());
  }
  return ok_status();
}

void GroupCoordinator::restore(const std::string& group_id, GroupSnapshot snap) {
  Group& g = get_or_create(group_id);
  g.generation = snap.generation;
  g.protocol_type = std::move(snap.protocol_type);
  g.protocol = std::move(snap.protocol);
  g.leader = std::move(snap.leader);
  for (auto& sm : snap.members) {
    auto m = std::make_unique<Member>();
    m->id = std::move(sm.member_id);
    m->instance_id = std::move(sm.group_instance_id);
    m->client_id = std::move(sm.client_id);
    m->client_host = std::move(sm.client_host);
    m->session_timeout_ms = sm.session_timeout_ms;
    m->rebalance_timeout_ms = sm.rebalance_timeout_ms;
    m->protocols.emplace_back(g.protocol, std::move(sm.metadata));
    m->assignment = std::move(sm.assignment);
    if (m->instance_id) g.static_members[*m->instance_id] = m->id;
    // A member that died meanwhile expires, and the group rebalances, as it would have here.
    touch(*m);
    g.members[m->id] = std::move(m);
  }
  if (g.members.empty()) {
    g.state = GroupState::empty;
    g.protocol.clear();
    g.leader.clear();
    return;
  }
  if (g.members.count(g.leader) == 0) g.leader = g.members.begin()->first;
  g.state = GroupState::stable;
}

GroupSnapshot GroupCoordinator::snapshot_of(
    const Group& g, const std::map<std::string, protocol::Bytes>* assignments) const {
  GroupSnapshot s;
  s.generation = g.generation;
  s.protocol_type = g.protocol_type;
  s.protocol = g.protocol;
  s.leader = g.leader;
  for (const auto& [id, m] : g.members) {
    GroupSnapshot::Member sm;
    sm.member_id = id;
    sm.group_instance_id = m->instance_id;
    sm.client_id = m->client_id;
    sm.client_host = m->client_host;
    sm.session_timeout_ms = m->session_timeout_ms;
    sm.rebalance_timeout_ms = m->rebalance_timeout_ms;
    if (const protocol::Bytes* md = m->metadata_for(g.protocol)) sm.metadata = *md;
    if (assignments != nullptr) {
      auto a = assignments->find(id);
      if (a != assignments->end()) sm.assignment = a->second;
    } else {
      sm.assignment = m->assignment;
    }
    s.members.push_back(std::move(sm));
  }
  return s;
}

ErrorCode GroupCoordinator::availability() const {
  return quorum_ == nullptr ? ErrorCode::none : quorum_->coordinator_state();
}

void GroupCoordinator::drop_all_groups() {
  for (auto& [gid, g] : groups_) {
    for (auto& [mid, m] : g->members) m->fail_parked(ErrorCode::not_coordinator);
  }
  groups_.clear();
  deadline_timer_.stop();
  armed_for_ms_ = 0;
}

void GroupCoordinator::coordinator_changed(bool coordinating) {
  drop_all_groups();
  if (!coordinating) {
    FERRY_LOG(info, "groups", "no longer the group coordinator");
    return;
  }
  // The store holds every commit the metadata log applied here: the previous coordinator's too.
  if (auto st = load(); !st) {
    FERRY_LOG(error, "groups", "loading committed offsets failed: %s",
              st.error().to_string().c_str());
  }
}

void GroupCoordinator::store_offsets(const std::string& group_id,
                                     std::vector<meta::OffsetCommit> rows,
                                     std::function<void(ErrorCode)> done) {
  if (quorum_ != nullptr) {
    quorum_->commit_offsets(group_id, std::move(rows),
                            [done = std::move(done)](KafkaError e) { done(e.code()); });
    return;
  }
  meta_.submit({meta::Mutation::commit_offsets(group_id, std::move(rows))},
               [done = std::move(done)](Status st) {
                 done(st ? ErrorCode::none : to_kafka_error(st.error()).code());
               });
}

GroupCoordinator::Group* GroupCoordinator::find(const std::string& id) {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

const GroupCoordinator::Group* GroupCoordinator::find(const std::string& id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

GroupCoordinator::Group& GroupCoordinator::get_or_create(const std::string& id) {
  auto& slot = groups_[id];
  if (!slot) {
    slot = std::make_unique<Group>();
    slot->id = id;
    slot->empty_since_ms = clock_.now_ms();
  }
  return *slot;
}

std::string GroupCoordinator::new_member_id(const std::string& client_id) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = (client_id.empty() ? std::string("member") : client_id) + "-";
  const uint64_t a = rng();
  const uint64_t b = rng() ^ ++next_member_;
  for (uint64_t v : {a, b}) {
    for (int i = 0; i < 16; ++i) id.push_back(kHex[(v >> (4 * i)) & 15]);
  }
  return id;
}

void GroupCoordinator::touch(Member& m) {
  m.session_deadline_ms = clock_.steady_ms() + m.session_timeout_ms;
  arm(m.session_deadline_ms);
}

void GroupCoordinator::arm(int64_t deadline_ms) {
  if (armed_for_ms_ != 0 && armed_for_ms_ <= deadline_ms) return;
  armed_for_ms_ = deadline_ms;
  const int64_t wait = std::max<int64_t>(deadline_ms - clock_.steady_ms(), 0);
  deadline_timer_.start(static_cast<uint64_t>(wait), [this] {
    armed_for_ms_ = 0;
    check_deadlines();
  });
}

void GroupCoordinator::check_deadlines() {
  const int64_t now = clock_.steady_ms();
  // Collected first: expiring a member answers parked requests, whose callbacks may call back.
  std::vector<std::string> joins_due;
  std::vector<std::pair<std::string, std::string>> sessions_due;
  for (const auto& [gid, g] : groups_) {
    if (g->state == GroupState::preparing_rebalance && g->join_deadline_ms != 0 &&
        g->join_deadline_ms <= now) {
      joins_due.push_back(gid);
    }
    for (const auto& [mid, m] : g->members) {
      if (m->session_deadline_ms != 0 && m->session_deadline_ms <= now)
        sessions_due.emplace_back(gid, mid);
    }
  }
  for (const auto& [gid, mid] : sessions_due) {
    Group* g = find(gid);
    if (g == nullptr) continue;
    auto it = g->members.find(mid);
    // Still due: an earlier expiry's rebalance may have parked or touched it since.
    if (it == g->members.end() || it->second->session_deadline_ms == 0 ||
        it->second->session_deadline_ms > now) {
      continue;
    }
    expire(*g, mid);
  }
  for (const auto& gid : joins_due) {
    Group* g = find(gid);
    if (g == nullptr || g->state != GroupState::preparing_rebalance || g->join_deadline_ms == 0 ||
        g->join_deadline_ms > now) {
      continue;
    }
    g->initial_delay = false;
    complete_join(*g);
  }
  // Re-arm for the earliest deadline left.
  int64_t next = 0;
  auto earliest = [&next](int64_t d) {
    if (d != 0 && (next == 0 || d < next)) next = d;
  };
  for (const auto& [gid, g] : groups_) {
    if (g->state == GroupState::preparing_rebalance) earliest(g->join_deadline_ms);
    for (const auto& [mid, m] : g->members) earliest(m->session_deadline_ms);
  }
  armed_for_ms_ = 0;
  deadline_timer_.stop();
  if (next != 0) arm(next);
}

void GroupCoordinator::expire(Group& g, const std::string& member_id) {
  FERRY_LOG(info, "groups", "group %s: member %s expired (no heartbeat within its session)",
            g.id.c_str(), member_id.c_str());
  remove_member(g, member_id);
  if (g.state == GroupState::stable || g.state == GroupState::completing_rebalance) {
    prepare_rebalance(g, "member expired");
  } else if (g.state == GroupState::preparing_rebalance) {
    maybe_complete_join(g);
  }
}

void GroupCoordinator::remove_member(Group& g, const std::string& member_id) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  std::unique_ptr<Member> m = std::move(it->second);
  g.members.erase(it);
  if (m->instance_id) g.static_members.erase(*m->instance_id);
  if (g.leader == member_id) g.leader.clear();
  m->fail_parked(ErrorCode::unknown_member_id);
}

void GroupCoordinator::prepare_rebalance(Group& g, const char* why) {
  if (g.state == GroupState::completing_rebalance) {
    for (auto& [id, m] : g.members) {
      if (m->sync_waiter) {
        auto w = std::move(m->sync_waiter);
        m->sync_waiter = nullptr;
        w({ErrorCode::rebalance_in_progress, {}});
      }
    }
  }
  const bool was_empty = g.state == GroupState::empty;
  g.state = GroupState::preparing_rebalance;
  int32_t rebalance_timeout = 0;
  for (const auto& [id, m] : g.members)
    rebalance_timeout = std::max(rebalance_timeout, m->rebalance_timeout_ms);
  FERRY_LOG(debug, "groups", "group %s: preparing rebalance (%s)", g.id.c_str(), why);
  uint64_t wait = static_cast<uint64_t>(std::max(rebalance_timeout, 0));
  g.initial_delay = was_empty;
  if (was_empty) {
    wait = static_cast<uint64_t>(
        std::min(std::max(config_.group_initial_rebalance_delay_ms, 0), rebalance_timeout));
  }
  g.join_deadline_ms = clock_.steady_ms() + static_cast<int64_t>(wait);
  arm(g.join_deadline_ms);
  if (!was_empty) maybe_complete_join(g);
}

void GroupCoordinator::maybe_complete_join(Group& g) {
  if (g.state != GroupState::preparing_rebalance || g.initial_delay) return;
  for (const auto& [id, m] : g.members) {
    if (!m->join_waiter) return;
  }
  complete_join(g);
}

void GroupCoordinator::complete_join(Group& g) {
  g.join_deadline_ms = 0;
  // Members that did not rejoin in time leave the group.
  std::vector<std::string> gone;
  for (const auto& [id, m] : g.members) {
    if (!m->join_waiter) gone.push_back(id);
  }
  for (const auto& id : gone) {
    FERRY_LOG(info, "groups", "group %s: member %s did not rejoin in time", g.id.c_str(),
              id.c_str());
    remove_member(g, id);
  }
  ++g.generation;
  if (g.members.empty()) {
    g.state = GroupState::empty;
    g.empty_since_ms = clock_.now_ms();
    g.protocol.clear();
    g.leader.clear();
    FERRY_LOG(info, "groups", "group %s is empty (generation %d)", g.id.c_str(), g.generation);
    if (quorum_ != nullptr) {
      // The next coordinator learns that the members are gone (the generation stays).
      const std::string gid = g.id;
      quorum_->store_group(gid, snapshot_of(g, nullptr), [gid](KafkaError e) {
        if (!e.ok()) {
          FERRY_LOG(warn, "groups", "group %s: storing its empty membership failed: %s",
                    gid.c_str(), e.message().c_str());
        }
      });
    }
    return;
  }
  // Protocol: among the names every member supports, the one most members list first.
  std::map<std::string, int> votes;
  std::vector<std::string> candidates;
  for (const auto& [name, md] : g.members.begin()->second->protocols) {
    bool everyone = true;
    for (const auto& [id, m] : g.members) everyone &= m->metadata_for(name) != nullptr;
    if (everyone) candidates.push_back(name);
  }
  for (const auto& [id, m] : g.members) {
    for (const auto& [name, md] : m->protocols) {
      if (std::find(candidates.begin(), candidates.end(), name) != candidates.end()) {
        ++votes[name];
        break;
      }
    }
  }
  g.protocol.clear();
  int best = -1;
  for (const auto& name : candidates) {
    if (votes[name] > best) {
      best = votes[name];
      g.protocol = name;
    }
  }
  if (g.leader.empty() || g.members.count(g.leader) == 0) g.leader = g.members.begin()->first;
  g.state = GroupState::completing_rebalance;
  FERRY_LOG(info, "groups", "group %s: generation %d with %zu members, protocol %s, leader %s",
            g.id.c_str(), g.generation, g.members.size(), g.protocol.c_str(), g.leader.c_str());
  std::vector<std::pair<std::function<void(JoinResult)>, JoinResult>> answers;
  for (auto& [id, m] : g.members) {
    touch(*m);
    answers.emplace_back(std::move(m->join_waiter), join_result(g, *m));
    m->join_waiter = nullptr;
  }
  for (auto& [waiter, result] : answers) waiter(std::move(result));
}

JoinResult GroupCoordinator::join_result(const Group& g, const Member& m) const {
  JoinResult r;
  r.generation_id = g.generation;
  r.protocol_name = g.protocol;
  r.leader = g.leader;
  r.member_id = m.id;
  if (m.id == g.leader) {
    for (const auto& [id, other] : g.members) {
      const protocol::Bytes* md = other->metadata_for(g.protocol);
      r.members.push_back({id, other->instance_id, md ? *md : protocol::Bytes{}});
    }
  }
  return r;
}

void GroupCoordinator::add_member(Group& g, JoinRequest& req, const std::string& member_id,
                                  std::function<void(JoinResult)> done) {
  auto m = std::make_unique<Member>();
  m->id = member_id;
  m->instance_id = req.group_instance_id;
  m->client_id = req.client_id;
  m->client_host = req.client_host;
  m->session_timeout_ms = req.session_timeout_ms;
  m->rebalance_timeout_ms = req.rebalance_timeout_ms;
  m->protocols = std::move(req.protocols);
  m->join_waiter = std::move(done);
  if (g.members.empty()) g.protocol_type = req.protocol_type;
  if (m->instance_id) g.static_members[*m->instance_id] = member_id;
  g.members[member_id] = std::move(m);
  if (g.state == GroupState::preparing_rebalance) {
    maybe_complete_join(g);
  } else {
    prepare_rebalance(g, "member joined");
  }
}

void GroupCoordinator::join(JoinRequest req, std::function<void(JoinResult)> done) {
  auto fail = [&](ErrorCode e) {
    JoinResult r;
    r.error = e;
    r.member_id = req.member_id;
    done(std::move(r));
  };
  if (auto e = availability(); e != ErrorCode::none) return fail(e);
  if (req.group_id.empty()) return fail(ErrorCode::invalid_group_id);
  if (req.session_timeout_ms < kMinSessionTimeoutMs ||
      req.session_timeout_ms > kMaxSessionTimeoutMs) {
    return fail(ErrorCode::invalid_session_timeout);
  }
  if (req.rebalance_timeout_ms <= 0) req.rebalance_timeout_ms = req.session_timeout_ms;
  Group* existing = find(req.group_id);
  if (existing == nullptr && !req.member_id.empty()) return fail(ErrorCode::unknown_member_id);
  Group& g = existing != nullptr ? *existing : get_or_create(req.group_id);
  if (req.protocols.empty()) return fail(ErrorCode::inconsistent_group_protocol);
  if (!g.members.empty()) {
    if (req.protocol_type != g.protocol_type) return fail(ErrorCode::inconsistent_group_protocol);
    bool shared = false;
    for (const auto& [name, md] : req.protocols) {
      bool everyone = true;
      for (const auto& [id, m] : g.members) {
        if (id != req.member_id) everyone &= m->metadata_for(name) != nullptr;
      }
      shared |= everyone;
    }
    if (!shared) return fail(ErrorCode::inconsistent_group_protocol);
  }

  if (req.member_id.empty()) {
    if (req.group_instance_id) {
      auto it = g.static_members.find(*req.group_instance_id);
      if (it != g.static_members.end()) {
        // A static member restarting: its new id replaces the old one.
        auto node = g.members.extract(it->second);
        std::unique_ptr<Member> m = std::move(node.mapped());
        const std::string old_id = m->id;
        m->fail_parked(ErrorCode::fenced_instance_id);
        m->id = new_member_id(req.client_id);
        m->client_id = req.client_id;
        m->client_host = req.client_host;
        m->session_timeout_ms = req.session_timeout_ms;
        m->rebalance_timeout_ms = req.rebalance_timeout_ms;
        const bool unchanged = same_protocols(m->protocols, req.protocols);
        m->protocols = std::move(req.protocols);
        it->second = m->id;
        if (g.leader == old_id) g.leader = m->id;
        Member& ref = *m;
        g.members[m->id] = std::move(m);
        FERRY_LOG(info, "groups", "group %s: static member %s rejoined as %s", g.id.c_str(),
                  req.group_instance_id->c_str(), ref.id.c_str());
        if (g.state == GroupState::stable && unchanged) {
          touch(ref);
          if (quorum_ == nullptr) {
            done(join_result(g, ref));
            return;
          }
          // In a cluster the new member id is stored before it is handed out.
          const std::string gid = g.id;
          const std::string mid = ref.id;
          quorum_->store_group(gid, snapshot_of(g, nullptr),
                               [this, gid, mid, done = std::move(done)](KafkaError e) {
                                 Group* grp = find(gid);
                                 if (e.ok() && grp != nullptr && grp->members.count(mid) != 0) {
                                   done(join_result(*grp, *grp->members.at(mid)));
                                   return;
                                 }
                                 JoinResult r;
                                 r.error = e.ok() ? ErrorCode::unknown_member_id : e.code();
                                 r.member_id = mid;
                                 done(std::move(r));
                               });
          return;
        }
        ref.join_waiter = std::move(done);
        ref.session_deadline_ms = 0;
        if (g.state == GroupState::preparing_rebalance) {
          maybe_complete_join(g);
        } else {
          prepare_rebalance(g, "static member rejoined with new metadata");
        }
        return;
      }
      add_member(g, req, new_member_id(req.client_id), std::move(done));
      return;
    }
    const std::string id = new_member_id(req.client_id);
    if (req.require_known_member_id) {
      g.pending[id] = clock_.now_ms() + req.session_timeout_ms;
      JoinResult r;
      r.error = ErrorCode::member_id_required;
      r.member_id = id;
      done(std::move(r));
      return;
    }
    add_member(g, req, id, std::move(done));
    return;
  }

  if (auto p = g.pending.find(req.member_id);
      p != g.pending.end() && p->second >= clock_.now_ms()) {
    g.pending.erase(p);
    add_member(g, req, req.member_id, std::move(done));
    return;
  }
  auto it = g.members.find(req.member_id);
  if (it == g.members.end()) return fail(ErrorCode::unknown_member_id);
  Member& m = *it->second;
  if (req.group_instance_id) {
    auto s = g.static_members.find(*req.group_instance_id);
    if (s == g.static_members.end() || s->second != req.member_id)
      return fail(ErrorCode::fenced_instance_id);
  }
  const bool unchanged = same_protocols(m.protocols, req.protocols);
  m.protocols = std::move(req.protocols);
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  switch (g.state) {
    case GroupState::preparing_rebalance:
      m.join_waiter = std::move(done);
      m.session_deadline_ms = 0;
      maybe_complete_join(g);
      return;
    case GroupState::completing_rebalance:
      if (unchanged) {
        touch(m);
        done(join_result(g, m));
        return;
      }
      break;
    case GroupState::stable:
      if (unchanged && m.id != g.leader) {
        touch(m);
        done(join_result(g, m));
        return;
      }
      break;
    default: return fail(ErrorCode::unknown_member_id);
  }
  m.join_waiter = std::move(done);
  m.session_deadline_ms = 0;
  prepare_rebalance(g, "member rejoined");
}

void GroupCoordinator::sync(const std::string& group_id, int32_t generation,
                            const std::string& member_id,
                            const std::optional<std::string>& instance_id,
                            std::map<std::string, protocol::Bytes> assignments,
                            std::function<void(SyncResult)> done) {
  if (auto e = availability(); e != ErrorCode::none) return done({e, {}});
  Group* g = find(group_id);
  if (g == nullptr) return done({ErrorCode::unknown_member_id, {}});
  auto it = g->members.find(member_id);
  if (it == g->members.end()) return done({ErrorCode::unknown_member_id, {}});
  Member& m = *it->second;
  if (instance_id && (g->static_members.count(*instance_id) == 0 ||
                      g->static_members.at(*instance_id) != member_id)) {
    return done({ErrorCode::fenced_instance_id, {}});
  }
  if (generation != g->generation) return done({ErrorCode::illegal_generation, {}});
  switch (g->state) {
    case GroupState::preparing_rebalance: return done({ErrorCode::rebalance_in_progress, {}});
    case GroupState::stable: touch(m); return done({ErrorCode::none, m.assignment});
    case GroupState::completing_rebalance: break;
    default: return done({ErrorCode::unknown_member_id, {}});
  }
  touch(m);
  m.sync_waiter = std::move(done);
  if (member_id != g->leader) return;
  if (quorum_ == nullptr) return complete_sync(*g, std::move(assignments));
  // In a cluster the generation is answered once its membership is committed, so that the
  // next coordinator knows every member's generation and assignment.
  if (g->storing_generation == g->generation) return;  // the leader's SyncGroup again
  g->storing_generation = g->generation;
  const int32_t gen = g->generation;
  GroupSnapshot snapshot = snapshot_of(*g, &assignments);  // before `assignments` moves
  quorum_->store_group(
      group_id, std::move(snapshot),
      [this, group_id, gen, assignments = std::move(assignments)](KafkaError e) mutable {
        Group* grp = find(group_id);
        // A rebalance (or stepping down) since answered the parked SyncGroups already.
        if (grp == nullptr || grp->generation != gen ||
            grp->state != GroupState::completing_rebalance) {
          return;
        }
        grp->storing_generation = -1;
        if (e.ok()) return complete_sync(*grp, std::move(assignments));
        FERRY_LOG(warn, "groups", "group %s: storing generation %d failed: %s", group_id.c_str(),
                  gen, e.message().c_str());
        const ErrorCode code =
            e.code() == ErrorCode::none ? ErrorCode::unknown_server_error : e.code();
        for (auto& [id, member] : grp->members) {
          if (member->sync_waiter) {
            auto w = std::move(member->sync_waiter);
            member->sync_waiter = nullptr;
            w({code, {}});
          }
        }
        if (Group* again = find(group_id); again != nullptr && again->generation == gen &&
                                           again->state == GroupState::completing_rebalance) {
          prepare_rebalance(*again, "storing the generation failed");
        }
      });
}

void GroupCoordinator::complete_sync(Group& grp,
                                     std::map<std::string, protocol::Bytes> assignments) {
  Group* g = &grp;
  for (auto& [id, member] : g->members) {
    auto a = assignments.find(id);
    member->assignment = a != assignments.end() ? std::move(a->second) : protocol::Bytes{};
  }
  g->state = GroupState::stable;
  FERRY_LOG(debug, "groups", "group %s: generation %d is stable", g->id.c_str(), g->generation);
  std::vector<std::pair<std::function<void(SyncResult)>, SyncResult>> answers;
  for (auto& [id, member] : g->members) {
    if (member->sync_waiter) {
      answers.emplace_back(std::move(member->sync_waiter),
                           SyncResult{ErrorCode::none, member->assignment});
      member->sync_waiter = nullptr;
    }
  }
  for (auto& [waiter, result] : answers) waiter(std::move(result));
}

ErrorCode GroupCoordinator::heartbeat(const std::string& group_id, int32_t generation,
                                      const std::string& member_id,
                                      const std::optional<std::string>& instance_id) {
  if (auto e = availability(); e != ErrorCode::none) return e;
  Group* g = find(group_id);
  if (g == nullptr || g->state == GroupState::empty) return ErrorCode::unknown_member_id;
  auto it = g->members.find(member_id);
  if (instance_id) {
    auto s = g->static_members.find(*instance_id);
    if (s != g->static_members.end() && s->second != member_id)
      return ErrorCode::fenced_instance_id;
  }
  if (it == g->members.end()) return ErrorCode::unknown_member_id;
  if (generation != g->generation) return ErrorCode::illegal_generation;
  touch(*it->second);
  if (g->state == GroupState::preparing_rebalance) return ErrorCode::rebalance_in_progress;
  return ErrorCode::none;
}

ErrorCode GroupCoordinator::leave(const std::string& group_id,
                                  const std::vector<MemberRef>& members,
                                  std::vector<ErrorCode>& member_errors) {
  member_errors.assign(members.size(), ErrorCode::none);
  if (auto e = availability(); e != ErrorCode::none) {
    member_errors.assign(members.size(), e);
    return e;
  }
  Group* g = find(group_id);
  if (g == nullptr) {
    member_errors.assign(members.size(), ErrorCode::unknown_member_id);
    return ErrorCode::unknown_member_id;
  }
  bool removed = false;
  for (size_t i = 0; i < members.size(); ++i) {
    std::string id = members[i].member_id;
    if (members[i].group_instance_id) {
      auto s = g->static_members.find(*members[i].group_instance_id);
      if (s == g->static_members.end()) {
        member_errors[i] = ErrorCode::unknown_member_id;
        continue;
      }
      if (!id.empty() && s->second != id) {
        member_errors[i] = ErrorCode::fenced_instance_id;
        continue;
      }
      id = s->second;
    }
    if (g->members.count(id) == 0) {
      member_errors[i] = ErrorCode::unknown_member_id;
      continue;
    }
    FERRY_LOG(info, "groups", "group %s: member %s left", g->id.c_str(), id.c_str());
    remove_member(*g, id);
    removed = true;
  }
  if (removed) {
    if (g->state == GroupState::stable || g->state == GroupState::completing_rebalance) {
      prepare_rebalance(*g, "member left");
    } else if (g->state == GroupState::preparing_rebalance) {
      maybe_complete_join(*g);
    }
  }
  return ErrorCode::none;
}

void GroupCoordinator::commit(const std::string& group_id, int32_t generation,
                              const std::string& member_id,
                              const std::optional<std::string>& instance_id,
                              std::vector<CommitEntry> entries,
                              std::function<void(std::vector<CommitEntry>)> done) {
  auto fail_all = [&](ErrorCode e) {
    for (auto& c : entries) c.error = e;
    done(std::move(entries));
  };
  if (auto e = availability(); e != ErrorCode::none) return fail_all(e);
  if (group_id.empty()) return fail_all(ErrorCode::invalid_group_id);
  Group* g = find(group_id);
  const bool simple = generation < 0 && member_id.empty() && !instance_id;
  if (simple) {
    // A commit from outside any generation (an "assign" consumer, an admin tool) is allowed
    // while the group has no members.
    if (g != nullptr && !g->members.empty()) return fail_all(ErrorCode::unknown_member_id);
    if (g == nullptr) g = &get_or_create(group_id);
  } else {
    if (g == nullptr) return fail_all(ErrorCode::unknown_member_id);
    if (instance_id) {
      auto s = g->static_members.find(*instance_id);
      if (s == g->static_members.end() || s->second != member_id)
        return fail_all(ErrorCode::fenced_instance_id);
    }
    auto it = g->members.find(member_id);
    if (it == g->members.end()) return fail_all(ErrorCode::unknown_member_id);
    if (generation != g->generation) return fail_all(ErrorCode::illegal_generation);
    if (g->state == GroupState::completing_rebalance)
      return fail_all(ErrorCode::rebalance_in_progress);
    touch(*it->second);
  }
  std::vector<meta::OffsetCommit> rows;
  const int64_t now = clock_.now_ms();
  for (auto& c : entries) {
    if (c.metadata && c.metadata->size() > kMaxOffsetMetadata) {
      c.error = ErrorCode::offset_metadata_too_large;
      continue;
    }
    rows.push_back({c.topic, PartitionId(c.partition), Offset(c.offset),
                    LeaderEpoch(c.leader_epoch), c.metadata.value_or(""), now});
  }
  if (rows.empty()) return done(std::move(entries));
  store_offsets(group_id, rows,
                [this, group_id, rows, entries = std::move(entries),
                 done = std::move(done)](ErrorCode e) mutable {
                  if (e != ErrorCode::none) {
                    for (auto& c : entries) {
                      if (c.error == ErrorCode::none) c.error = e;
                    }
                  } else if (Group* grp = find(group_id); grp != nullptr) {
                    for (const auto& r : rows) grp->offsets[{r.topic, r.partition}] = r;
                  }
                  done(std::move(entries));
                });
}

const meta::OffsetCommit* GroupCoordinator::committed(const std::string& group_id,
                                                      const std::string& topic,
                                                      int32_t partition) const {
  const Group* g = find(group_id);
  if (g == nullptr) return nullptr;
  auto it = g->offsets.find({topic, PartitionId(partition)});
  return it == g->offsets.end() ? nullptr : &it->second;
}

std::vector<meta::OffsetCommit> GroupCoordinator::committed_all(const std::string& group_id) const {
  std::vector<meta::OffsetCommit> out;
  if (const Group* g = find(group_id)) {
    for (const auto& [key, o] : g->offsets) out.push_back(o);
  }
  return out;
}

void GroupCoordinator::delete_offsets(
    const std::string& group_id, std::vector<CommitEntry> entries,
    std::function<void(ErrorCode, std::vector<CommitEntry>)> done) {
  if (auto e = availability(); e != ErrorCode::none) return done(e, std::move(entries));
  Group* g = find(group_id);
  if (g == nullptr) return done(ErrorCode::group_id_not_found, std::move(entries));
  std::vector<meta::Mutation> mutations;
  std::vector<std::pair<std::string, PartitionId>> partitions;
  for (auto& c : entries) {
    if (!g->members.empty()) {
      c.error = ErrorCode::group_subscribed_to_topic;
      continue;
    }
    mutations.push_back(
        meta::Mutation::delete_offsets(group_id, c.topic, PartitionId(c.partition)));
    partitions.emplace_back(c.topic, PartitionId(c.partition));
  }
  if (mutations.empty()) return done(ErrorCode::none, std::move(entries));
  auto finish = [this, group_id, entries = std::move(entries),
                 done = std::move(done)](ErrorCode e) mutable {
    if (e != ErrorCode::none) return done(e, std::move(entries));
    if (Group* grp = find(group_id)) {
      for (const auto& c : entries) {
        if (c.error == ErrorCode::none) grp->offsets.erase({c.topic, PartitionId(c.partition)});
      }
    }
    done(ErrorCode::none, std::move(entries));
  };
  if (quorum_ != nullptr) {
    quorum_->delete_offsets(
        group_id, std::move(partitions),
        [finish = std::move(finish)](KafkaError e) mutable { finish(e.code()); });
    return;
  }
  meta_.submit(std::move(mutations), [finish = std::move(finish)](Status st) mutable {
    finish(st ? ErrorCode::none : to_kafka_error(st.error()).code());
  });
}

std::vector<std::pair<std::string, std::string>> GroupCoordinator::list() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (availability() != ErrorCode::none) return out;  // coordinates none of them
  for (const auto& [id, g] : groups_) {
    if (g->state != GroupState::dead) out.emplace_back(id, g->protocol_type);
  }
  return out;
}

GroupDescription GroupCoordinator::describe(const std::string& group_id) const {
  GroupDescription d;
  d.group_id = group_id;
  if (auto e = availability(); e != ErrorCode::none) {
    d.error = e;
    d.state = "";
    return d;
  }
  const Group* g = find(group_id);
  if (g == nullptr) {
    d.state = group_state_name(GroupState::dead);
    return d;
  }
  d.state = group_state_name(g->state);
  d.protocol_type = g->protocol_type;
  if (g->state == GroupState::stable || g->state == GroupState::completing_rebalance)
    d.protocol_name = g->protocol;
  for (const auto& [id, m] : g->members) {
    const protocol::Bytes* md = m->metadata_for(g->protocol);
    d.members.push_back({id, m->instance_id, m->client_id, m->client_host,
                         md ? *md : protocol::Bytes{}, m->assignment});
  }
  return d;
}

void GroupCoordinator::delete_group(const std::string& group_id,
                                    std::function<void(ErrorCode)> done) {
  if (auto e = availability(); e != ErrorCode::none) return done(e);
  Group* g = find(group_id);
  if (g == nullptr) return done(ErrorCode::group_id_not_found);
  if (!g->members.empty()) return done(ErrorCode::non_empty_group);
  g->state = GroupState::dead;
  auto finish = [this, group_id, done = std::move(done)](ErrorCode e) {
    Group* grp = find(group_id);
    if (e != ErrorCode::none) {
      if (grp != nullptr && grp->members.empty()) grp->state = GroupState::empty;
      return done(e);
    }
    if (grp != nullptr && grp->state == GroupState::dead) groups_.erase(group_id);
    FERRY_LOG(info, "groups", "deleted group %s", group_id.c_str());
    done(ErrorCode::none);
  };
  if (quorum_ != nullptr) {
    quorum_->delete_group(group_id,
                          [finish = std::move(finish)](KafkaError e) mutable { finish(e.code()); });
    return;
  }
  meta_.submit({meta::Mutation::delete_group(group_id)},
               [finish = std::move(finish)](Status st) mutable {
                 finish(st ? ErrorCode::none : to_kafka_error(st.error()).code());
               });
}

void GroupCoordinator::forget_topic(const std::string& topic) {
  for (auto& [gid, g] : groups_) {
    std::erase_if(g->offsets, [&](const auto& kv) { return kv.first.first == topic; });
  }
}

size_t GroupCoordinator::expire_offsets(int64_t now_ms) {
  const int64_t retention_ms = static_cast<int64_t>(config_.offsets_retention_minutes) * 60000;
  // Groups left with nothing (a join that never completed, members that all left without
  // committing) are forgotten, as Kafka's periodic group cleanup does.
  for (auto& [gid, g] : groups_)
    std::erase_if(g->pending, [&](const auto& p) { return p.second < now_ms; });
  std::erase_if(groups_, [](const auto& kv) {
    const Group& g = *kv.second;
    return g.state == GroupState::empty && g.members.empty() && g.offsets.empty() &&
           g.pending.empty();
  });
  if (availability() != ErrorCode::none) return 0;  // the coordinator expires them
  std::vector<meta::Mutation> mutations;
  std::vector<std::pair<std::string, TopicPartitionKey>> dropped;
  for (auto& [gid, g] : groups_) {
    if (!g->members.empty() || g->state == GroupState::dead) continue;
    for (const auto& [key, o] : g->offsets) {
      if (now_ms - std::max(g->empty_since_ms, o.commit_ms) > retention_ms) {
        mutations.push_back(meta::Mutation::delete_offsets(gid, key.first, key.second));
        dropped.emplace_back(gid, key);
      }
    }
  }
  if (mutations.empty()) return 0;
  FERRY_LOG(info, "groups", "expiring %zu committed offsets (offsets.retention.minutes %d)",
            dropped.size(), config_.offsets_retention_minutes);
  auto forget = [this](const std::vector<std::pair<std::string, TopicPartitionKey>>& gone) {
    for (const auto& [gid, key] : gone) {
      Group* g = find(gid);
      if (g == nullptr || !g->members.empty()) continue;
      g->offsets.erase(key);
      if (g->offsets.empty() && g->state == GroupState::empty) groups_.erase(gid);
    }
  };
  if (quorum_ != nullptr) {
    // One metadata record per group.
    std::map<std::string, std::vector<std::pair<std::string, PartitionId>>> per_group;
    for (const auto& [gid, key] : dropped) per_group[gid].push_back(key);
    for (auto& [gid, keys] : per_group) {
      std::vector<std::pair<std::string, TopicPartitionKey>> gone;
      for (const auto& k : keys) gone.emplace_back(gid, k);
      quorum_->delete_offsets(gid, std::move(keys), [forget, gone](KafkaError e) {
        if (!e.ok()) {
          FERRY_LOG(warn, "groups", "expiring offsets failed: %s", e.message().c_str());
          return;
        }
        forget(gone);
      });
    }
    return dropped.size();
  }
  meta_.submit(std::move(mutations), [forget, dropped](Status st) {
    if (!st) {
      FERRY_LOG(warn, "groups", "expiring offsets failed: %s", st.error().to_string().c_str());
      return;
    }
    forget(dropped);
  });
  return dropped.size();
}

void GroupCoordinator::shutdown() {
  deadline_timer_.stop();
  armed_for_ms_ = 0;
  for (auto& [gid, g] : groups_) {
    g->join_deadline_ms = 0;
    for (auto& [mid, m] : g->members) {
      m->session_deadline_ms = 0;
      m->fail_parked(ErrorCode::not_coordinator);
    }
  }
}

}  // namespace ferry::broker
