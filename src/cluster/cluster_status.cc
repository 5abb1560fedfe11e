// A node's view of its cluster as JSON, read back, merged over several nodes and printed. See
// cluster_status.h.
#include "cluster/cluster_status.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "common/json_text.h"

namespace ferry::cluster {

namespace {

std::string num(int64_t v) { return std::to_string(v); }
std::string num(uint64_t v) { return std::to_string(v); }
// -1 (unknown) as null.
std::string opt(int64_t v) { return v < 0 ? std::string("null") : std::to_string(v); }
std::string ids(const std::vector<int32_t>& v) {
  std::string o = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) o += ',';
    o += std::to_string(v[i]);
  }
  return o + "]";
}
const char* boolean(bool b) { return b ? "true" : "false"; }

void partition_json(std::string& o, const PartitionView& p) {
  o += "{\"topic\":" + json_quote(p.topic) + ",\"partition\":" + std::to_string(p.partition);
  o += ",\"leader\":" + opt(p.leader) + ",\"leader_epoch\":" + opt(p.leader_epoch);
  o += ",\"replicas\":" + ids(p.replicas) + ",\"isr\":" + ids(p.isr) +
       ",\"offline\":" + ids(p.offline);
  o += ",\"under_replicated\":";
  o += boolean(p.under_replicated());
  o += ",\"role\":" + (p.role.empty() ? std::string("null") : json_quote(p.role));
  o += ",\"high_watermark\":" + opt(p.high_watermark) + ",\"log_end\":" + opt(p.log_end);
  o += ",\"lag\":";
  if (p.role != "leader") {
    o += "null}";
    return;
  }
  o += '[';
  for (size_t i = 0; i < p.lag.size(); ++i) {
    const ReplicaLag& l = p.lag[i];
    if (i > 0) o += ',';
    o += "{\"replica\":" + std::to_string(l.replica) + ",\"fetch_offset\":" + opt(l.fetch_offset) +
         ",\"records_behind\":" + opt(l.records_behind) +
         ",\"last_fetch_ms_ago\":" + opt(l.last_fetch_ms_ago) +
         ",\"caught_up_ms_ago\":" + opt(l.caught_up_ms_ago) + ",\"in_sync\":" + boolean(l.in_sync) +
         "}";
  }
  o += "]}";
}

int64_t int_or(const JsonValue& v, int64_t missing) { return v.is_null() ? missing : v.as_int(); }

std::vector<int32_t> read_ids(const JsonValue& v) {
  std::vector<int32_t> out;
  for (const JsonValue& i : v.items()) out.push_back(static_cast<int32_t>(i.as_int(-1)));
  return out;
}

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Ids as "1,2,3", "-" when empty.
std::string id_list(const std::vector<int32_t>& v) {
  if (v.empty()) return "-";
  std::string o;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) o += ',';
    o += std::to_string(v[i]);
  }
  return o;
}

std::string fmt(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* format, ...) {
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  return buf;
}

// "topic-partition", cut to `width` columns.
std::string short_name(const PartitionView& p, size_t width = 22) {
  std::string name = p.topic + "-" + std::to_string(p.partition);
  if (name.size() > width) name = name.substr(0, width - 2) + "..";
  return name;
}

}  // namespace

std::string render_node_view_json(const NodeView& v) {
  std::string o = "{\"node_id\":" + std::to_string(v.node_id) +
                  ",\"controller\":" + opt(v.controller) + ",\"now_ms\":" + num(v.now_ms) +
                  ",\"leader_elections\":" + num(v.leader_elections) + ",\"nodes\":[";
  for (size_t i = 0; i < v.nodes.size(); ++i) {
    const LinkView& l = v.nodes[i];
    if (i > 0) o += ',';
    o += "{\"id\":" + std::to_string(l.node) + ",\"address\":" + json_quote(l.address) +
         ",\"link\":" + (l.self ? "\"self\"" : (l.up ? "\"up\"" : "\"down\"")) +
         ",\"bytes_sent\":" + num(l.bytes_sent) + ",\"bytes_received\":" + num(l.bytes_received) +
         ",\"connects\":" + num(l.connects) + ",\"reconnects\":" + num(l.reconnects) +
         ",\"dial_failures\":" + num(l.dial_failures) + ",\"stalls\":" + num(l.stalls) + "}";
  }
  o += "],\"partitions\":[";
  int64_t under = 0;
  for (size_t i = 0; i < v.partitions.size(); ++i) {
    if (i > 0) o += ',';
    partition_json(o, v.partitions[i]);
    if (v.partitions[i].role == "leader" && v.partitions[i].under_replicated()) ++under;
  }
  o += "],\"under_replicated_led\":" + num(under) + "}";
  return o;
}

Result<NodeView> parse_node_view(const JsonValue& c) {
  auto bad = [](const std::string& what) {
    return Error(Errc::invalid_argument, "cluster status: " + what);
  };
  if (c.kind() != JsonValue::Kind::object)
    return bad("no \"cluster\" object (not a cluster node?)");
  if (!c["node_id"].is_number()) return bad("no node_id");
  NodeView v;
  v.node_id = static_cast<int32_t>(c["node_id"].as_int());
  v.controller = static_cast<int32_t>(int_or(c["controller"], -1));
  v.now_ms = c["now_ms"].as_int();
  v.leader_elections = static_cast<uint64_t>(c["leader_elections"].as_int());
  for (const JsonValue& n : c["nodes"].items()) {
    LinkView l;
    l.node = static_cast<int32_t>(n["id"].as_int(-1));
    l.address = n["address"].as_string();
    const std::string& link = n["link"].as_string();
    l.self = link == "self";
    l.up = link == "up";
    l.bytes_sent = static_cast<uint64_t>(n["bytes_sent"].as_int());
    l.bytes_received = static_cast<uint64_t>(n["bytes_received"].as_int());
    l.connects = static_cast<uint64_t>(n["connects"].as_int());
    l.reconnects = static_cast<uint64_t>(n["reconnects"].as_int());
    l.dial_failures = static_cast<uint64_t>(n["dial_failures"].as_int());
    l.stalls = static_cast<uint64_t>(n["stalls"].as_int());
    v.nodes.push_back(std::move(l));
  }
  for (const JsonValue& p : c["partitions"].items()) {
    PartitionView pv;
    if (p["topic"].kind() != JsonValue::Kind::string || !p["partition"].is_number()) {
      return bad("a partition without topic or number");
    }
    pv.topic = p["topic"].as_string();
    pv.partition = static_cast<int32_t>(p["partition"].as_int());
    pv.leader = static_cast<int32_t>(int_or(p["leader"], -1));
    pv.leader_epoch = static_cast<int32_t>(int_or(p["leader_epoch"], -1));
    pv.replicas = read_ids(p["replicas"]);
    pv.isr = read_ids(p["isr"]);
    pv.offline = read_ids(p["offline"]);
    pv.role = p["role"].as_string();
    pv.high_watermark = int_or(p["high_watermark"], -1);
    pv.log_end = int_or(p["log_end"], -1);
    for (const JsonValue& l : p["lag"].items()) {
      ReplicaLag r;
      r.replica = static_cast<int32_t>(l["replica"].as_int(-1));
      r.fetch_offset = int_or(l["fetch_offset"], -1);
      r.records_behind = int_or(l["records_behind"], -1);
      r.last_fetch_ms_ago = int_or(l["last_fetch_ms_ago"], -1);
      r.caught_up_ms_ago = int_or(l["caught_up_ms_ago"], -1);
      r.in_sync = l["in_sync"].as_bool();
      pv.lag.push_back(r);
    }
    v.partitions.push_back(std::move(pv));
  }
  return v;
}

MergedStatus merge_views(const std::vector<SourceResult>& sources) {
  MergedStatus m;
  std::map<int32_t, MergedNode> nodes;
  // (topic, partition) -> chosen view; the metadata log keeps its place first.
  std::map<std::pair<std::string, int32_t>, MergedPartition> parts;
  std::vector<std::pair<std::string, int32_t>> order;
  for (const SourceResult& s : sources) {
    MergedStatus::Source src;
    src.admin = s.admin;
    if (!s.view) {
      src.error = s.view.error().message();
      m.sources.push_back(std::move(src));
      continue;
    }
    const NodeView& v = *s.view;
    src.node = v.node_id;
    m.sources.push_back(std::move(src));
    for (const LinkView& l : v.nodes) {
      MergedNode& n = nodes[l.node];
      n.id = l.node;
      if (n.address.empty()) n.address = l.address;
      if (l.self) {
        n.answered = true;
        if (n.admin.empty()) n.admin = s.admin;
      } else if (l.up) {
        if (!contains(n.link_up_from, v.node_id)) n.link_up_from.push_back(v.node_id);
      } else if (!contains(n.link_down_from, v.node_id)) {
        n.link_down_from.push_back(v.node_id);
      }
    }
    for (const PartitionView& p : v.partitions) {
      const auto key = std::make_pair(p.topic, p.partition);
      auto it = parts.find(key);
      if (it == parts.end()) {
        order.push_back(key);
        parts[key] = MergedPartition{p, v.node_id};
        continue;
      }
      // The leader's own view wins (it alone knows the lag and the offline replicas); among
      // equals, the newest epoch.
      const PartitionView& have = it->second.view;
      const bool leads = p.role == "leader";
      const bool had_leader = have.role == "leader";
      if ((leads && (!had_leader || p.leader_epoch > have.leader_epoch)) ||
          (!leads && !had_leader && p.leader_epoch > have.leader_epoch)) {
        it->second = MergedPartition{p, v.node_id};
      }
    }
  }
  // Sorted: the metadata log (first in every node's list) first, then topic and partition.
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    const bool am = a.first.rfind("__cluster_metadata", 0) == 0;
    const bool bm = b.first.rfind("__cluster_metadata", 0) == 0;
    if (am != bm) return am;
    return a < b;
  });
  for (const auto& key : order) {
    MergedPartition& p = parts[key];
    if (p.view.topic == "__cluster_metadata" && p.view.leader >= 0) {
      m.controller = p.view.leader;
      m.controller_source = p.source;
    }
    if (p.view.under_replicated()) ++m.under_replicated;
    if (p.view.leader < 0) ++m.leaderless;
    m.partitions.push_back(std::move(p));
  }
  if (m.controller < 0) {
    // No metadata log row: the controller the answering nodes name, the first one's.
    for (const SourceResult& s : sources) {
      if (s.view && s.view->controller >= 0) {
        m.controller = s.view->controller;
        m.controller_source = s.view->node_id;
        break;
      }
    }
  }
  for (auto& [id, n] : nodes) {
    std::sort(n.link_up_from.begin(), n.link_up_from.end());
    std::sort(n.link_down_from.begin(), n.link_down_from.end());
    n.controller = id == m.controller;
    m.nodes.push_back(std::move(n));
  }
  return m;
}

std::string render_merged_json(const MergedStatus& m) {
  std::string o = "{\"sources\":[";
  for (size_t i = 0; i < m.sources.size(); ++i) {
    const auto& s = m.sources[i];
    if (i > 0) o += ',';
    o += "{\"admin\":" + json_quote(s.admin) + ",\"node\":" + opt(s.node) +
         ",\"error\":" + (s.error.empty() ? std::string("null") : json_quote(s.error)) + "}";
  }
  o += "],\"controller\":" + opt(m.controller) +
       ",\"controller_source\":" + opt(m.controller_source) + ",\"nodes\":[";
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const MergedNode& n = m.nodes[i];
    if (i > 0) o += ',';
    // Reachable: its admin listener answered or some node has its link to it up; unknown
    // (null) when nobody could tell.
    std::string reachable = "null";
    if (n.answered || !n.link_up_from.empty()) {
      reachable = "true";
    } else if (!n.link_down_from.empty()) {
      reachable = "false";
    }
    o += "{\"id\":" + std::to_string(n.id) + ",\"address\":" + json_quote(n.address) +
         ",\"admin\":" + (n.admin.empty() ? std::string("null") : json_quote(n.admin)) +
         ",\"answered\":" + boolean(n.answered) + ",\"reachable\":" + reachable +
         ",\"link_up_from\":" + ids(n.link_up_from) +
         ",\"link_down_from\":" + ids(n.link_down_from) +
         ",\"controller\":" + boolean(n.controller) + "}";
  }
  o += "],\"partitions\":[";
  for (size_t i = 0; i < m.partitions.size(); ++i) {
    const MergedPartition& p = m.partitions[i];
    if (i > 0) o += ',';
    partition_json(o, p.view);
    o.pop_back();  // the closing brace: add the source
    o += ",\"source\":" + std::to_string(p.source) + "}";
  }
  o += "],\"under_replicated\":{\"count\":" + num(m.under_replicated) + ",\"partitions\":[";
  bool first = true;
  for (const MergedPartition& p : m.partitions) {
    if (!p.view.under_replicated()) continue;
    if (!first) o += ',';
    first = false;
    o += "{\"topic\":" + json_quote(p.view.topic) +
         ",\"partition\":" + std::to_string(p.view.partition) + "}";
  }
  o += "]},\"leaderless\":" + num(m.leaderless) + "}\n";
  return o;
}

std::string render_merged_text(const MergedStatus& m) {
  std::string o;
  bool any = false;
  for (const auto& s : m.sources) any = any || s.node >= 0;
  if (!any) {
    for (const auto& s : m.sources) o += "no answer from " + s.admin + ": " + s.error + "\n";
    return o;
  }
  // Nodes.
  o += fmt("%-5s %-22s %-10s %-12s %s\n", "NODE", "ADDRESS", "ADMIN", "LINKS", "ROLE");
  for (const MergedNode& n : m.nodes) {
    std::string links;
    if (!n.link_up_from.empty()) links += "up:" + id_list(n.link_up_from);
    if (!n.link_down_from.empty()) {
      if (!links.empty()) links += ' ';
      links += "down:" + id_list(n.link_down_from);
    }
    if (links.empty()) links = "-";
    std::string row =
        fmt("%-5d %-22s %-10s %-12s %s", n.id, n.address.c_str(),
            n.answered ? "answered" : "no answer", links.c_str(), n.controller ? "controller" : "");
    while (!row.empty() && row.back() == ' ') row.pop_back();
    o += row + "\n";
  }
  o += "\n";
  // Partitions: who leads what, and the node whose view each row is.
  o += fmt("%-22s %-6s %-5s %-7s %-7s %-7s %-4s %s\n", "PARTITION", "LEADER", "EPOCH", "REPLICAS",
           "ISR", "OFFLINE", "FROM", "STATE");
  for (const MergedPartition& mp : m.partitions) {
    const PartitionView& p = mp.view;
    const char* state = p.leader < 0 ? "no leader" : (p.under_replicated() ? "under-repl" : "ok");
    o += fmt("%-22s %-6s %-5s %-8s%-8s%-8s%-4d %s\n", short_name(p).c_str(),
             p.leader < 0 ? "-" : std::to_string(p.leader).c_str(),
             p.leader_epoch < 0 ? "-" : std::to_string(p.leader_epoch).c_str(),
             (id_list(p.replicas) + " ").c_str(), (id_list(p.isr) + " ").c_str(),
             (id_list(p.offline) + " ").c_str(), mp.source, state);
  }
  // Lag, from each partition's leader.
  bool header = false;
  for (const MergedPartition& mp : m.partitions) {
    const PartitionView& p = mp.view;
    if (p.role != "leader") continue;
    for (const ReplicaLag& l : p.lag) {
      if (!header) {
        o += fmt("\n%-28s %-7s %-14s %-16s %s\n", "LAG (AS THE LEADER SEES IT)", "REPLICA",
                 "RECORDS BEHIND", "LAST FETCH (MS)", "IN SYNC");
        header = true;
      }
      o += fmt("%-28s %-7d %-14s %-16s %s\n", short_name(p, 28).c_str(), l.replica,
               l.records_behind < 0 ? "?" : std::to_string(l.records_behind).c_str(),
               l.last_fetch_ms_ago < 0 ? "never" : std::to_string(l.last_fetch_ms_ago).c_str(),
               l.in_sync ? "yes" : "no");
    }
  }
  o += "\n";
  if (m.controller < 0) {
    o += "controller: unknown\n";
  } else {
    o += fmt("controller: %d (as node %d says)\n", m.controller, m.controller_source);
  }
  // The under-replicated partitions, wrapped at 80 columns.
  std::string line =
      fmt("under-replicated partitions: %lld", static_cast<long long>(m.under_replicated));
  bool first = true;
  for (const MergedPartition& mp : m.partitions) {
    if (!mp.view.under_replicated()) continue;
    std::string item =
        (first ? " (" : ", ") + mp.view.topic + "-" + std::to_string(mp.view.partition);
    first = false;
    if (line.size() + item.size() + 2 > 80) {
      o += line + (item[0] == ',' ? ",\n" : "\n");
      line = "  " + item.substr(2);
    } else {
      line += item;
    }
  }
  if (!first) line += ")";
  o += line + "\n";
  if (m.leaderless > 0)
    o += fmt("partitions without a leader: %lld\n", static_cast<long long>(m.leaderless));
  for (const auto& s : m.sources) {
    if (!s.error.empty()) o += "no answer from " + s.admin + ": " + s.error + "\n";
  }
  return o;
}

}  // namespace ferry::cluster
