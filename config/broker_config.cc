// Loading ferry.toml: TOML parsing (toml++), flattening of dotted keys, and validation of every
// value against the key table. Errors read "<file>:<line>: <key>: <what is wrong>".
#include "config/broker_config.h"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <optional>
#include <vector>

#include "config/keys.h"

namespace ferry::config {

std::string HostPort::to_string() const {
  std::string out;
  if (host.find(':') != std::string::npos) {
    out = "[" + host + "]";
  } else {
    out = host;
  }
  return out + ":" + std::to_string(port);
}

Result<HostPort> parse_host_port(std::string_view text) {
  auto bad = [&](std::string what) { return Error(Errc::invalid_argument, std::move(what)); };
  HostPort hp;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == text.npos) return bad("missing ']' after the IPv6 address");
    hp.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return bad("expected host:port or [ipv6]:port");
    port_text = rest.substr(1);
    if (hp.host.empty()) return bad("missing host");
  } else {
    size_t colon = text.rfind(':');
    if (colon == text.npos) return bad("expected host:port or [ipv6]:port");
    hp.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (hp.host.find(':') != std::string::npos) {
      return bad("an IPv6 address needs brackets, as in [::1]:9092");
    }
    if (hp.host.empty()) return bad("missing host");
  }
  if (hp.host.find_first_of(" \t[]/") != std::string::npos) return bad("bad host");
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ptr != port_text.data() + port_text.size() ||
      ec == std::errc::invalid_argument) {
    return bad("bad port \"" + std::string(port_text) + "\"");
  }
  if (ec != std::errc() || port > 65535) return bad("port must be between 0 and 65535");
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

namespace {

// One value of the file after flattening nested tables into dotted names.
struct Leaf {
  Section section;
  std::string name;
  const toml::node* node;
  uint32_t line;
};

uint32_t line_of(const toml::node& node, const toml::key& key) {
  uint32_t line = node.source().begin.line;
  return line != 0 ? line : key.source().begin.line;
}

const char* type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// Appends the leaves under `table`, their names prefixed with `prefix.`.
void flatten(const toml::table& table, Section section, const std::string& prefix,
             std::vector<Leaf>& out) {
  for (auto&& [key, node] : table) {
    std::string name =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (const toml::table* sub = node.as_table()) {
      flatten(*sub, section, name, out);
    } else {
      out.push_back(Leaf{section, std::move(name), &node, line_of(node, key)});
    }
  }
}

// The strings of a TOML array joined with `sep`, or nullopt when an item is not a string.
std::optional<std::string> join_strings(const toml::array& a, char sep) {
  std::string joined;
  for (const toml::node& item : a) {
    const auto* s = item.as_string();
    if (!s) return std::nullopt;
    if (!joined.empty()) joined += sep;
    joined += s->get();
  }
  return joined;
}

// The wire text of a TOML value for a key of the given type, or what is wrong with its type.
// A list may be written as one string or as an array of strings (joined with its separator).
Result<std::string> value_text(const KeySpec& key, const toml::node& node) {
  auto expected = [&](const char* what) {
    return Error(Errc::invalid_argument,
                 std::string("expected ") + what + ", got " + type_name(node.type()));
  };
  auto string_or_array = [&](char sep) -> Result<std::string> {
    if (const auto* s = node.as_string()) return s->get();
    if (const auto* a = node.as_array()) {
      if (std::optional<std::string> joined = join_strings(*a, sep)) return *joined;
    }
    return expected("a string or an array of strings");
  };
  switch (key.type) {
    case Type::boolean:
      if (const auto* b = node.as_boolean()) return std::string(b->get() ? "true" : "false");
      return expected("a boolean");
    case Type::int16:
    case Type::int32:
    case Type::int64:
      if (const auto* i = node.as_integer()) return std::to_string(i->get());
      return expected("an integer");
    case Type::string:
    case Type::host_port:
    case Type::choice:
      if (key.list_separator != 0) return string_or_array(key.list_separator);
      if (const auto* s = node.as_string()) return s->get();
      return expected("a string");
    case Type::list: return string_or_array(',');
    case Type::patterns: return string_or_array('\n');
    case Type::fraction: {
      char buf[40];
      if (const auto* f = node.as_floating_point()) {
        std::snprintf(buf, sizeof buf, "%.15g", f->get());
        return std::string(buf);
      }
      if (const auto* i = node.as_integer()) return std::to_string(i->get());
      return expected("a number");
    }
  }
  return expected("a value");
}

// How a rejected value is quoted in a message.
std::string shown(const KeySpec& key, const std::string& text) {
  bool quoted = key.type != Type::boolean && key.type != Type::int16 && key.type != Type::int32 &&
                key.type != Type::int64 && key.type != Type::fraction;
  return quoted ? "\"" + text + "\"" : text;
}

bool is_wildcard(const HostPort& hp) { return hp.host == "0.0.0.0" || hp.host == "::"; }

constexpr std::string_view kProtocols[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};

// Splits a validated listeners/advertised.listeners text into its items.
std::vector<std::string_view> listener_items(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// Validates listeners and advertised.listeners together (names unique, bind ports distinct,
// every advertised name a listener, no wildcard or port 0 advertised); problems are reported
// at the line of the key they concern.
template <typename Problem>
void check_listeners(const BrokerConfig& config, uint32_t listeners_line, uint32_t advertised_line,
                     Problem&& problem) {
  std::vector<ListenerConfig> bound;
  if (listeners_line == 0) {
    bound.push_back({"PLAINTEXT", config.listen, config.listen});
  }
  for (std::string_view item : listener_items(config.listeners)) {
    Result<ListenerConfig> l = parse_listener(item);
    if (!l) {
      problem(listeners_line, "listeners", l.error().message());
      continue;
    }
    for (const ListenerConfig& other : bound) {
      if (other.name == l->name) {
        problem(listeners_line, "listeners", "listener " + l->name + " is named twice");
      } else if (l->bind.port != 0 && other.bind.port == l->bind.port) {
        problem(listeners_line, "listeners",
                "listeners " + other.name + " and " + l->name + " both bind port " +
                    std::to_string(l->bind.port));
      }
    }
    bound.push_back(std::move(*l));
  }
  std::vector<std::string> advertised;
  for (std::string_view item : listener_items(config.advertised_listeners)) {
    Result<ListenerConfig> l = parse_listener(item);
    if (!l) {
      problem(advertised_line, "advertised.listeners", l.error().message());
      continue;
    }
    bool known = false;
    for (const ListenerConfig& b : bound) known = known || b.name == l->name;
    if (!known) {
      problem(advertised_line, "advertised.listeners",
              "no listener named " + l->name + " in listeners");
    } else if (is_wildcard(l->bind)) {
      problem(advertised_line, "advertised.listeners",
              l->name + ": clients cannot connect to a wildcard address");
    } else if (l->bind.port == 0) {
      problem(advertised_line, "advertised.listeners", l->name + ": port 0 cannot be advertised");
    }
    for (const std::string& name : advertised) {
      if (name == l->name) {
        problem(advertised_line, "advertised.listeners", l->name + " is advertised twice");
      }
    }
    advertised.push_back(l->name);
  }
  for (const ListenerConfig& b : bound) {
    bool has = false;
    for (const std::string& name : advertised) has = has || name == b.name;
    if (!has && is_wildcard(b.bind)) {
      problem(listeners_line != 0 ? listeners_line : advertised_line, "advertised.listeners",
              "required for listener " + b.name + " on a wildcard address (" + b.bind.to_string() +
                  "): add " + b.name + "://HOST:PORT for clients");
    }
  }
}

bool is_loopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host.substr(0, 4) == "127.";
}

// admin.listen: a host:port or empty; beyond loopback only with admin.allow.remote; basic
// authentication needs both its user and its password file.
template <typename LineOf, typename Problem>
void check_admin(const BrokerConfig& config, const LineOf& line_of, const Problem& problem) {
  if (!config.admin_listen.empty()) {
    Result<HostPort> hp = parse_host_port(config.admin_listen);
    if (!hp) {
      problem(line_of("admin.listen"), "admin.listen", hp.error().message());
    } else if (!is_loopback(hp->host) && !config.admin_allow_remote) {
      problem(line_of("admin.listen"), "admin.listen",
              hp->host +
                  " is not a loopback address: the admin API would be reachable from "
                  "the network; set admin.allow.remote = true to allow it");
    }
  }
  const bool user = !config.admin_basic_auth_user.empty();
  const bool file = !config.admin_basic_auth_password_file.empty();
  if (user && !file) {
    problem(line_of("admin.basic.auth.user"), "admin.basic.auth.user",
            "needs admin.basic.auth.password.file");
  } else if (file && !user) {
    problem(line_of("admin.basic.auth.password.file"), "admin.basic.auth.password.file",
            "needs admin.basic.auth.user");
  }
}

// Reads the [[mirror]] array of tables into `out`, reporting each problem with its line.
template <class Problem>
void parse_mirrors(const toml::node& node, uint32_t line, std::vector<MirrorConfig>& out,
                   Problem problem) {
  const toml::array* sections = node.as_array();
  if (!sections || !sections->is_array_of_tables()) {
    problem(line, "mirror", "expected [[mirror]] sections (an array of tables)");
    return;
  }
  for (const toml::node& section : *sections) {
    const toml::table& table = *section.as_table();
    MirrorConfig m;
    m.line = table.source().begin.line != 0 ? table.source().begin.line : line;
    for (const KeySpec& key : all_keys()) {
      if (key.section == Section::mirror && !key.default_value.empty()) {
        assign_mirror_field(key, key.default_value, m);
      }
    }
    std::vector<Leaf> leaves;
    flatten(table, Section::mirror, "", leaves);
    std::map<std::string, uint32_t> seen;
    for (const Leaf& leaf : leaves) {
      const KeySpec* key = find_key(Section::mirror, leaf.name);
      if (!key) {
        problem(leaf.line, leaf.name, "unknown key in [[mirror]]");
        continue;
      }
      auto [it, fresh] = seen.emplace(leaf.name, leaf.line);
      if (!fresh) {
        problem(leaf.line, leaf.name,
                "set twice (first at line " + std::to_string(it->second) + ")");
        continue;
      }
      Result<std::string> text = value_text(*key, *leaf.node);
      if (!text) {
        problem(leaf.line, leaf.name, text.error().message());
        continue;
      }
      if (std::optional<std::string> what = check_value(*key, *text)) {
        problem(leaf.line, leaf.name, *what + " (got " + shown(*key, *text) + ")");
        continue;
      }
      assign_mirror_field(*key, *text, m);
    }
    for (const auto& [key, what] : mirror_problems(m)) {
      auto it = seen.find(key);
      problem(it == seen.end() ? m.line : it->second, key, what);
    }
    for (const MirrorConfig& other : out) {
      if (!m.name.empty() && other.name == m.name) {
        auto it = seen.find("name");
        problem(it == seen.end() ? m.line : it->second, "name",
                "mirror \"" + m.name + "\" is named twice (first at line " +
                    std::to_string(other.line) + ")");
      }
    }
    out.push_back(std::move(m));
  }
}

// Reads the [cluster] table into `out.cluster`, once [broker] is read (the checks need node.id
// and the Kafka listeners), reporting each problem with the line of its key.
template <class Problem>
void parse_cluster(const toml::node& node, uint32_t line, BrokerConfig& out, Problem problem) {
  const toml::table* table = node.as_table();
  if (!table) {
    problem(line, "cluster", std::string("expected a table, got ") + type_name(node.type()));
    return;
  }
  ClusterConfig c;
  c.line = table->source().begin.line != 0 ? table->source().begin.line : line;
  for (const KeySpec& key : all_keys()) {
    if (key.section == Section::cluster && !key.default_value.empty()) {
      assign_cluster_field(key, key.default_value, c);
    }
  }
  std::vector<Leaf> leaves;
  flatten(*table, Section::cluster, "", leaves);
  std::map<std::string, uint32_t> seen;
  std::string peers_text;
  bool bad_value = false;
  for (const Leaf& leaf : leaves) {
    const KeySpec* key = find_key(Section::cluster, leaf.name);
    if (!key) {
      problem(leaf.line, leaf.name, "unknown key in [cluster]");
      continue;
    }
    auto [it, fresh] = seen.emplace(leaf.name, leaf.line);
    if (!fresh) {
      problem(leaf.line, leaf.name, "set twice (first at line " + std::to_string(it->second) + ")");
      continue;
    }
    Result<std::string> text = value_text(*key, *leaf.node);
    if (!text) {
      problem(leaf.line, leaf.name, text.error().message());
      bad_value = true;
      continue;
    }
    if (leaf.name == "peers" && trim(*text).empty()) {
      problem(leaf.line, leaf.name, "must name at least one node (id@host:port)");
      bad_value = true;
      continue;
    }
    if (std::optional<std::string> what = check_value(*key, *text)) {
      problem(leaf.line, leaf.name, *what + " (got " + shown(*key, *text) + ")");
      bad_value = true;
      continue;
    }
    if (leaf.name == "peers") peers_text = *text;
    assign_cluster_field(*key, *text, c);
  }
  const auto line_of_key = [&](const std::string& key) {
    auto it = seen.find(key);
    return it == seen.end() ? c.line : it->second;
  };
  if (!seen.contains("peers")) {
    problem(c.line, "peers", "required in [cluster]: every node as id@host:port");
    return;
  }
  if (bad_value) return;
  const bool listen_set = seen.contains("listen");
  if (!listen_set) {
    if (const ClusterPeer* self = c.peer(NodeId(out.node_id))) {
      c.listen_host = self->host;
      c.listen_port = self->port;
    }
  }
  std::vector<std::pair<std::string, std::string>> found =
      cluster_problems(c, peers_text, listen_set, out);
  for (const auto& [key, what] : found) problem(line_of_key(key), key, what);
  if (found.empty()) out.cluster = std::move(c);
}

}  // namespace

Result<BrokerConfig> parse_config(std::string_view toml_text, std::string_view source_name) {
  const std::string src(source_name);
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    return Error(Errc::invalid_argument, src + ":" + std::to_string(e.source().begin.line) + ": " +
                                             std::string(e.description()));
  }

  // (line, message) pairs, reported in line order.
  std::vector<std::pair<uint32_t, std::string>> problems;
  auto problem = [&](uint32_t line, std::string_view key, const std::string& what) {
    problems.emplace_back(line,
                          src + ":" + std::to_string(line) + ": " + std::string(key) + ": " + what);
  };

  std::vector<Leaf> leaves;
  std::vector<MirrorConfig> mirrors;
  const toml::node* cluster_node = nullptr;
  uint32_t cluster_line = 0;
  for (auto&& [key, node] : root) {
    const std::string name(key.str());
    const uint32_t line = line_of(node, key);
    Section section = Section::broker;
    if (name == "mirror") {
      parse_mirrors(node, line, mirrors, problem);
      continue;
    }
    if (name == "cluster") {
      cluster_node = &node;
      cluster_line = line;
      continue;
    }
    if (name == "broker") {
      section = Section::broker;
    } else if (name == "topic_defaults") {
      section = Section::topic;
    } else {
      // A known key outside its table (`num.partitions = 1` above [broker]) gets a hint.
      std::vector<Leaf> stray;
      if (const toml::table* t = node.as_table()) {
        flatten(*t, Section::broker, name, stray);
      } else {
        stray.push_back(Leaf{Section::broker, name, &node, line});
      }
      bool hinted = false;
      for (const Leaf& leaf : stray) {
        for (Section s : {Section::broker, Section::topic}) {
          if (find_key(s, leaf.name)) {
            problem(leaf.line, leaf.name,
                    s == Section::broker ? "belongs in [broker]" : "belongs in [topic_defaults]");
            hinted = true;
          }
        }
      }
      if (hinted) continue;
      if (node.is_table()) {
        problem(line, name,
                "unknown section; expected [broker], [topic_defaults], [[mirror]] or [cluster]");
      } else {
        problem(line, name, "unknown key; keys belong in [broker] or [topic_defaults]");
      }
      continue;
    }
    const toml::table* table = node.as_table();
    if (!table) {
      problem(line, name, std::string("expected a table, got ") + type_name(node.type()));
      continue;
    }
    flatten(*table, section, "", leaves);
  }
  std::stable_sort(leaves.begin(), leaves.end(),
                   [](const Leaf& a, const Leaf& b) { return a.line < b.line; });

  BrokerConfig config;
  for (const KeySpec& key : all_keys()) {
    if (key.section == Section::broker && !key.default_value.empty()) {
      assign_broker_field(key, key.default_value, config);
    }
  }
  config.topic_defaults.clear();
  config.mirrors = std::move(mirrors);

  std::map<std::pair<Section, std::string>, uint32_t> seen;
  uint32_t listen_line = 0;
  bool advertised_set = false;
  for (const Leaf& leaf : leaves) {
    const KeySpec* key = find_key(leaf.section, leaf.name);
    if (!key) {
      problem(leaf.line, leaf.name,
              leaf.section == Section::broker ? "unknown key in [broker]"
                                              : "unknown topic config in [topic_defaults]");
      continue;
    }
    auto [it, fresh] = seen.emplace(std::pair(leaf.section, leaf.name), leaf.line);
    if (!fresh) {
      problem(leaf.line, leaf.name, "set twice (first at line " + std::to_string(it->second) + ")");
      continue;
    }
    Result<std::string> text = value_text(*key, *leaf.node);
    if (!text) {
      problem(leaf.line, leaf.name, text.error().message());
      continue;
    }
    if (std::optional<std::string> what = check_value(*key, *text)) {
      problem(leaf.line, leaf.name, *what + " (got " + shown(*key, *text) + ")");
      continue;
    }
    if (leaf.section == Section::topic) {
      config.topic_defaults[leaf.name] = std::string(trim(*text));
      continue;
    }
    assign_broker_field(*key, *text, config);
    if (leaf.name == "listen") listen_line = leaf.line;
    if (leaf.name == "max.connections.per.ip.overrides") {
      if (auto parsed = parse_connection_overrides(*text); !parsed) {
        problem(leaf.line, leaf.name, parsed.error().message());
      }
    }
    if (leaf.name == "advertised") {
      advertised_set = true;
      if (is_wildcard(config.advertised)) {
        problem(leaf.line, leaf.name, "clients cannot connect to a wildcard address");
      } else if (config.advertised.port == 0) {
        problem(leaf.line, leaf.name, "port 0 cannot be advertised");
      }
    }
  }
  const auto line_of = [&](std::string_view name) -> uint32_t {
    auto it = seen.find(std::pair(Section::broker, std::string(name)));
    return it == seen.end() ? 0 : it->second;
  };
  const uint32_t listeners_line = line_of("listeners");
  const uint32_t adv_listeners_line = line_of("advertised.listeners");
  if (listeners_line != 0 || adv_listeners_line != 0) {
    if (listeners_line != 0 && listen_line != 0) {
      problem(listeners_line, "listeners",
              "set either listen (one PLAINTEXT listener) or listeners, not both (listen at line " +
                  std::to_string(listen_line) + ")");
    }
    if (adv_listeners_line != 0 && advertised_set) {
      problem(adv_listeners_line, "advertised.listeners",
              "set either advertised or advertised.listeners, not both (advertised at line " +
                  std::to_string(line_of("advertised")) + ")");
    }
    if (!advertised_set) config.advertised = config.listen;
    check_listeners(config, listeners_line, adv_listeners_line, problem);
  } else if (!advertised_set) {
    config.advertised = config.listen;
    if (is_wildcard(config.listen)) {
      problem(listen_line, "advertised",
              "required when listen is a wildcard address (" + config.listen.to_string() +
                  "): set the address clients should connect to");
    }
  }

  // TLS listeners need a certificate and key; client certificates need a CA. The files
  // themselves are read when the broker starts (and on SIGHUP). Checked once the listeners
  // themselves are valid.
  bool tls_listener = false;
  for (const ListenerConfig& l :
       problems.empty() ? listener_configs(config) : std::vector<ListenerConfig>{}) {
    if (l.name == "SSL" || l.name == "SASL_SSL") {
      tls_listener = true;
      if (config.ssl_certificate_location.empty() || config.ssl_key_location.empty()) {
        problem(listeners_line, "listeners",
                "listener " + l.name + " needs ssl.certificate.location and ssl.key.location");
      }
    }
  }
  if (tls_listener && config.ssl_client_auth != "none" && config.ssl_ca_location.empty()) {
    problem(line_of("ssl.client.auth"), "ssl.client.auth",
            config.ssl_client_auth + " needs ssl.ca.location (the CA of client certificates)");
  }
  check_admin(config, line_of, problem);
  if (cluster_node != nullptr) parse_cluster(*cluster_node, cluster_line, config, problem);

  if (!problems.empty()) {
    std::stable_sort(problems.begin(), problems.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string message;
    for (const auto& [line, text] : problems) {
      if (!message.empty()) message += "\n";
      message += text;
    }
    return Error(Errc::invalid_argument, std::move(message));
  }
  return config;
}

Result<ListenerConfig> parse_listener(std::string_view text) {
  text = trim(text);
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    return Error(Errc::invalid_argument,
                 "expected NAME://host:port (got \"" + std::string(text) + "\")");
  }
  ListenerConfig out;
  out.name = std::string(text.substr(0, sep));
  bool known = false;
  for (std::string_view p : kProtocols) known = known || p == out.name;
  if (!known) {
    return Error(Errc::invalid_argument,
                 "listener name must be a security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or "
                 "SASL_SSL (got \"" +
                     out.name + "\")");
  }
  Result<HostPort> hp = parse_host_port(text.substr(sep + 3));
  if (!hp) {
    return Error(Errc::invalid_argument, out.name + ": " + hp.error().message() + " (got \"" +
                                             std::string(text.substr(sep + 3)) + "\")");
  }
  out.bind = *hp;
  out.advertised = *hp;
  return out;
}

std::vector<ListenerConfig> listener_configs(const BrokerConfig& config) {
  std::vector<ListenerConfig> out;
  if (config.listeners.empty()) {
    out.push_back({"PLAINTEXT", config.listen, config.advertised});
  } else {
    for (std::string_view item : listener_items(config.listeners)) {
      if (Result<ListenerConfig> l = parse_listener(item); l) out.push_back(std::move(*l));
    }
  }
  for (std::string_view item : listener_items(config.advertised_listeners)) {
    Result<ListenerConfig> adv = parse_listener(item);
    if (!adv) continue;
    for (ListenerConfig& l : out) {
      if (l.name == adv->name) l.advertised = adv->bind;
    }
  }
  return out;
}

Result<std::map<std::string, int32_t>> parse_connection_overrides(std::string_view text) {
  std::map<std::string, int32_t> out;
  text = trim(text);
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t colon = item.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Error(Errc::invalid_argument,
                   "expected address:count, got \"" + std::string(item) + "\"");
    }
    const std::string_view host = trim(item.substr(0, colon));
    const std::string_view count_text = trim(item.substr(colon + 1));
    int32_t count = -1;
    const auto [end, ec] =
        std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
    if (ec != std::errc() || end != count_text.data() + count_text.size() || count < 0) {
      return Error(Errc::invalid_argument, "count for " + std::string(host) +
                                               " must be a non-negative integer, got \"" +
                                               std::string(count_text) + "\"");
    }
    unsigned char addr[16];
    const std::string host_str(host);
    if (inet_pton(AF_INET, host_str.c_str(), addr) != 1 &&
        inet_pton(AF_INET6, host_str.c_str(), addr) != 1) {
      return Error(Errc::invalid_argument,
                   "\"" + host_str + "\" is not a numeric IPv4 or IPv6 address");
    }
    out[host_str] = count;
  }
  return out;
}

Result<BrokerConfig> load_config_file(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Error::from_errno(errno, "cannot open " + path.string());
  std::string text;
  char buf[16384];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err != 0) return Error::from_errno(err, "cannot read " + path.string());
  return parse_config(text, path.string());
}

}  // namespace ferry::config
