// [cluster]: peers items, storing checked values, and the checks across keys. See
// cluster_config.h.
#include "config/cluster_config.h"

#include <charconv>

#include "config/broker_config.h"
#include "config/keys.h"

namespace ferry::config {
namespace {

bool wildcard(std::string_view host) { return host == "0.0.0.0" || host == "::"; }

std::vector<std::string_view> items(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    out.push_back(trim(text.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

int64_t to_int(std::string_view text) {
  int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// Two bind addresses that cannot both be bound: the same port on the same host, or on any host
// when either is a wildcard.
bool same_socket(std::string_view host_a, uint16_t port_a, std::string_view host_b,
                 uint16_t port_b) {
  if (port_a != port_b) return false;
  return host_a == host_b || wildcard(host_a) || wildcard(host_b);
}

}  // namespace

std::string ClusterPeer::address() const { return HostPort{host, port}.to_string(); }

const ClusterPeer* ClusterConfig::peer(NodeId id) const {
  for (const ClusterPeer& p : peers) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

Result<ClusterPeer> parse_cluster_peer(std::string_view raw) {
  const std::string_view text = trim(raw);
  auto bad = [&](const std::string& what) {
    return Error(Errc::invalid_argument, "\"" + std::string(text) + "\": " + what);
  };
  const size_t at = text.find('@');
  if (at == std::string_view::npos) return bad("expected id@host:port");
  const std::string_view id_text = text.substr(0, at);
  int32_t id = -1;
  const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (id_text.empty() || ec != std::errc() || end != id_text.data() + id_text.size() || id < 0) {
    return bad("the node id must be an integer between 0 and 2147483647");
  }
  Result<HostPort> hp = parse_host_port(text.substr(at + 1));
  if (!hp) return bad(hp.error().message());
  if (wildcard(hp->host)) return bad("a wildcard address cannot be dialled");
  if (hp->port == 0) return bad("port must be between 1 and 65535");
  return ClusterPeer{NodeId(id), hp->host, hp->port};
}

void assign_cluster_field(const KeySpec& key, std::string_view raw, ClusterConfig& out) {
  const std::string_view text = trim(raw);
  const std::string_view n = key.name;
  if (n == "peers") {
    out.peers.clear();
    for (std::string_view item : items(text)) {
      if (Result<ClusterPeer> p = parse_cluster_peer(item); p) out.peers.push_back(std::move(*p));
    }
  } else if (n == "listen") {
    if (Result<HostPort> hp = parse_host_port(text); hp) {
      out.listen_host = hp->host;
      out.listen_port = hp->port;
    }
  } else if (n == "election.timeout.ms") {
    out.election_timeout_ms = static_cast<int32_t>(to_int(text));
  } else if (n == "heartbeat.interval.ms") {
    out.heartbeat_interval_ms = static_cast<int32_t>(to_int(text));
  } else if (n == "replica.lag.time.max.ms") {
    out.replica_lag_time_max_ms = to_int(text);
  }
}

std::vector<std::pair<std::string, std::string>> cluster_problems(const ClusterConfig& c,
                                                                  std::string_view peers_text,
                                                                  bool listen_set,
                                                                  const BrokerConfig& broker) {
  std::vector<std::pair<std::string, std::string>> out;
  auto problem = [&](const char* key, std::string what) { out.emplace_back(key, std::move(what)); };

  // peers: each item, then ids and addresses across items.
  std::vector<ClusterPeer> seen;
  for (std::string_view item : items(peers_text)) {
    if (item.empty()) continue;  // "a,,b": refused by the table's list check already
    Result<ClusterPeer> p = parse_cluster_peer(item);
    if (!p) {
      problem("peers", p.error().message());
      continue;
    }
    for (const ClusterPeer& other : seen) {
      if (other.id == p->id) {
        problem("peers", "node id " + std::to_string(p->id.value()) + " is named twice");
      } else if (other.host == p->host && other.port == p->port) {
        problem("peers", "nodes " + std::to_string(other.id.value()) + " and " +
                             std::to_string(p->id.value()) + " have the same address " +
                             p->address());
      }
    }
    seen.push_back(std::move(*p));
  }
  if (c.peers.empty()) {
    if (out.empty()) problem("peers", "must name at least one node (id@host:port)");
    return out;
  }
  const ClusterPeer* self = c.peer(NodeId(broker.node_id));
  if (self == nullptr) {
    problem("peers",
            "this node (node.id " + std::to_string(broker.node_id) + ") is not among the peers");
  }

  // listen: this node's port; not a Kafka listener's socket.
  if (listen_set && self != nullptr && c.listen_port != self->port) {
    problem("listen", "port " + std::to_string(c.listen_port) +
                          " differs from this node's entry in peers (" +
                          std::to_string(self->id.value()) + "@" + self->address() +
                          "): the others dial that port");
  }
  if (!c.listen_host.empty()) {
    for (const ListenerConfig& l : listener_configs(broker)) {
      if (same_socket(c.listen_host, c.listen_port, l.bind.host, l.bind.port)) {
        problem("listen", HostPort{c.listen_host, c.listen_port}.to_string() +
                              " is also the address of the Kafka listener " + l.name + " (" +
                              l.bind.to_string() + ")");
      }
    }
  }

  if (int64_t{c.heartbeat_interval_ms} * 2 >= int64_t{c.election_timeout_ms}) {
    problem("heartbeat.interval.ms", "must be below half of election.timeout.ms (" +
                                         std::to_string(c.election_timeout_ms) + "), got " +
                                         std::to_string(c.heartbeat_interval_ms));
  }
  return out;
}

}  // namespace ferry::config
