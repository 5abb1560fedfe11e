// Replication's rows in meta.db. See raft_state_store.h.
#include "cluster/raft_state_store.h"

#include <charconv>

namespace ferry::cluster {

Result<HardState> load_hard_state(meta::Db& db, const GroupId& group) {
  auto s = db.cached("SELECT epoch, voted_for FROM raft_state WHERE topic = ? AND partition = ?");
  if (!s) return std::move(s).error();
  (*s)->bind(1, group.topic).bind(2, group.partition.value());
  auto row = (*s)->step();
  if (!row) return std::move(row).error();
  HardState h;
  if (*row) {
    h.epoch = LeaderEpoch(static_cast<int32_t>((*s)->col_int(0)));
    h.voted_for = NodeId(static_cast<int32_t>((*s)->col_int(1)));
  }
  return h;
}

meta::Mutation save_hard_states(std::vector<std::pair<GroupId, HardState>> states) {
  return meta::Mutation::apply([states = std::move(states)](meta::Db& db) -> Status {
    auto put = db.cached(
        "INSERT OR REPLACE INTO raft_state (topic, partition, epoch, voted_for)"
        " VALUES (?, ?, ?, ?)");
    if (!put) return std::move(put).error();
    for (const auto& [g, h] : states) {
      (*put)->reset();
      (*put)->bind(1, g.topic).bind(2, g.partition.value()).bind(3, h.epoch.value());
      FERRY_TRY((*put)->bind(4, h.voted_for.value()).run());
    }
    return {};
  });
}

meta::Mutation delete_group_state(std::string topic) {
  return meta::Mutation::apply([topic = std::move(topic)](meta::Db& db) -> Status {
    auto del = db.cached("DELETE FROM raft_state WHERE topic = ?");
    if (!del) return std::move(del).error();
    return (*del)->bind(1, topic).run();
  });
}

std::string format_nodes(const std::vector<NodeId>& nodes) {
  std::string out;
  for (NodeId n : nodes) {
    if (!out.empty()) out += ',';
    out += std::to_string(n.value());
  }
  return out;
}

Result<std::vector<NodeId>> parse_nodes(const std::string& text) {
  std::vector<NodeId> out;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    int32_t v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || v < 0) {
      return Error(Errc::corrupt, "replica list '" + text + "': not a list of node ids");
    }
    out.emplace_back(v);
    p = next;
    if (p < end) {
      if (*p != ',') return Error(Errc::corrupt, "replica list '" + text + "': expected ','");
      ++p;
    }
  }
  return out;
}

Result<std::map<std::string, Assignment>> load_assignments(meta::Db& db) {
  auto s = db.cached("SELECT topic, partition, replicas FROM partition_replicas ORDER BY 1, 2");
  if (!s) return std::move(s).error();
  std::map<std::string, Assignment> out;
  while (true) {
    auto row = (*s)->step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    auto nodes = parse_nodes((*s)->col_text(2));
    if (!nodes) return std::move(nodes).error();
    auto& a = out[(*s)->col_text(0)];
    const auto p = static_cast<size_t>((*s)->col_int(1));
    if (a.size() <= p) a.resize(p + 1);
    a[p] = std::move(*nodes);
  }
  return out;
}

meta::Mutation put_assignment(std::string topic, int32_t first, Assignment assignment) {
  return meta::Mutation::apply([topic = std::move(topic), first,
                                assignment = std::move(assignment)](meta::Db& db) -> Status {
    auto put = db.cached(
        "INSERT OR REPLACE INTO partition_replicas (topic, partition, replicas)"
        " VALUES (?, ?, ?)");
    if (!put) return std::move(put).error();
    for (size_t i = 0; i < assignment.size(); ++i) {
      (*put)->reset();
      (*put)->bind(1, topic).bind(2, first + static_cast<int64_t>(i));
      FERRY_TRY((*put)->bind(3, format_nodes(assignment[i])).run());
    }
    return {};
  });
}

meta::Mutation delete_assignment(std::string topic) {
  return meta::Mutation::apply([topic = std::move(topic)](meta::Db& db) -> Status {
    auto del = db.cached("DELETE FROM partition_replicas WHERE topic = ?");
    if (!del) return std::move(del).error();
    return (*del)->bind(1, topic).run();
  });
}

Result<Offset> load_applied(meta::Db& db) {
  auto s = db.cached("SELECT offset FROM cluster_applied WHERE id = 0");
  if (!s) return std::move(s).error();
  auto row = (*s)->step();
  if (!row) return std::move(row).error();
  return *row ? Offset((*s)->col_int(0)) : Offset(0);
}

Result<std::string> load_cluster_identity(meta::Db& db) {
  auto s = db.cached("SELECT cluster_id FROM cluster_identity WHERE id = 0");
  if (!s) return std::move(s).error();
  auto row = (*s)->step();
  if (!row) return std::move(row).error();
  return *row ? (*s)->col_text(0) : std::string();
}

meta::Mutation put_cluster_identity(std::string cluster_id) {
  return meta::Mutation::apply([cluster_id = std::move(cluster_id)](meta::Db& db) -> Status {
    auto put = db.cached("INSERT OR IGNORE INTO cluster_identity (id, cluster_id) VALUES (0, ?)");
    if (!put) return std::move(put).error();
    return (*put)->bind(1, std::string_view(cluster_id)).run();
  });
}

meta::Mutation put_applied(Offset applied) {
  return meta::Mutation::apply([applied](meta::Db& db) -> Status {
    auto put = db.cached("INSERT OR REPLACE INTO cluster_applied (id, offset) VALUES (0, ?)");
    if (!put) return std::move(put).error();
    return (*put)->bind(1, applied.value()).run();
  });
}

}  // namespace ferry::cluster
