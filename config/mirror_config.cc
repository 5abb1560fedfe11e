// [[mirror]] sections: storing checked values, the checks across keys, topic matching and the
// target topic template. See mirror_config.h.
#include "config/mirror_config.h"

#include <charconv>
#include <regex>

#include "config/broker_config.h"
#include "config/keys.h"

namespace ferry::config {
namespace {

std::vector<std::string> items(std::string_view text, char sep) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t cut = text.find(sep);
    std::string_view item = trim(text.substr(0, cut));
    if (!item.empty()) out.emplace_back(item);
    text = cut == std::string_view::npos ? std::string_view() : text.substr(cut + 1);
  }
  return out;
}

int64_t to_int(std::string_view text) {
  int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

bool full_match(const std::vector<std::string>& patterns, std::string_view topic) {
  for (const std::string& p : patterns) {
    try {
      if (std::regex_match(topic.begin(), topic.end(), std::regex(p))) return true;
    } catch (const std::regex_error&) {
      // Refused by the loader; an unchecked pattern matches nothing.
    }
  }
  return false;
}

}  // namespace

void assign_mirror_field(const KeySpec& key, std::string_view raw, MirrorConfig& out) {
  const std::string_view text = trim(raw);
  const std::string_view n = key.name;
  const std::string s(text);
  if (n == "name")
    out.name = s;
  else if (n == "enabled")
    out.enabled = text == "true";
  else if (n == "bootstrap.servers")
    out.bootstrap_servers = items(text, ',');
  else if (n == "topics")
    out.topics = items(text, '\n');
  else if (n == "topics.exclude")
    out.topics_exclude = items(text, '\n');
  else if (n == "target.topic")
    out.target_topic = s;
  else if (n == "target.topics.create")
    out.create_target_topics = text == "true";
  else if (n == "target.replication.factor")
    out.target_replication_factor = static_cast<int16_t>(to_int(text));
  else if (n == "auto.offset.reset")
    out.start_position = s;
  else if (n == "security.protocol")
    out.security_protocol = s;
  else if (n == "sasl.mechanism")
    out.sasl_mechanism = s;
  else if (n == "sasl.username")
    out.sasl_username = s;
  else if (n == "sasl.password")
    out.sasl_password = s;
  else if (n == "sasl.password.file")
    out.sasl_password_file = s;
  else if (n == "ssl.ca.location")
    out.ssl_ca_location = s;
  else if (n == "ssl.certificate.location")
    out.ssl_certificate_location = s;
  else if (n == "ssl.key.location")
    out.ssl_key_location = s;
  else if (n == "ssl.endpoint.identification.algorithm")
    out.ssl_endpoint_identification = s;
  else if (n == "batch.size")
    out.batch_size = static_cast<int32_t>(to_int(text));
  else if (n == "linger.ms")
    out.linger_ms = static_cast<int32_t>(to_int(text));
  else if (n == "max.in.flight.requests.per.connection")
    out.max_in_flight = static_cast<int32_t>(to_int(text));
  else if (n == "bandwidth.bytes.per.second")
    out.bandwidth_bytes_per_second = to_int(text);
  else if (n == "priorities")
    out.priorities = items(text, '\n');
  else if (n == "reconnect.backoff.ms")
    out.reconnect_backoff_ms = static_cast<int32_t>(to_int(text));
  else if (n == "reconnect.backoff.max.ms")
    out.reconnect_backoff_max_ms = static_cast<int32_t>(to_int(text));
  else if (n == "request.timeout.ms")
    out.request_timeout_ms = static_cast<int32_t>(to_int(text));
  else if (n == "reconnect.backoff.jitter")
    out.reconnect_backoff_jitter = parse_fraction(text).value_or(0.2);
  else if (n == "watchdog.timeout.ms")
    out.watchdog_timeout_ms = static_cast<int32_t>(to_int(text));
  else if (n == "heartbeats.interval.ms")
    out.heartbeats_interval_ms = static_cast<int32_t>(to_int(text));
  else if (n == "heartbeats.topic")
    out.heartbeats_topic = s;
  else if (n == "target.lost.policy")
    out.target_lost_policy = s;
}

std::optional<std::string> check_pattern(std::string_view text) {
  try {
    std::regex re{std::string(text)};
  } catch (const std::regex_error& e) {
    return "\"" + std::string(text) + "\" is not a regular expression: " + e.what();
  }
  return std::nullopt;
}

std::optional<std::string> check_target_template(std::string_view text) {
  bool has_topic = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '}') return "a '}' without its '{'";
    if (text[i] != '{') continue;
    const size_t close = text.find('}', i);
    if (close == std::string_view::npos) return "a '{' without its '}'";
    const std::string_view name = text.substr(i + 1, close - i - 1);
    if (name == "topic") {
      has_topic = true;
    } else if (name != "node" && name != "mirror") {
      return "unknown placeholder {" + std::string(name) + "}; use {topic}, {node}, {mirror}";
    }
    i = close;
  }
  // Two source topics into one target partition would interleave their sequences.
  if (!has_topic) return "must contain {topic}, so that each source topic has its own target";
  return std::nullopt;
}

bool mirror_matches(const MirrorConfig& m, std::string_view topic) {
  if (topic.substr(0, 2) == "__") return false;
  return full_match(m.topics, topic) && !full_match(m.topics_exclude, topic);
}

std::optional<std::pair<std::string, int32_t>> parse_priority_item(std::string_view item) {
  const size_t eq = item.rfind('=');
  if (eq == std::string_view::npos) return std::nullopt;
  const std::string_view pattern = trim(item.substr(0, eq));
  const std::string_view number = trim(item.substr(eq + 1));
  if (pattern.empty() || number.empty() || check_pattern(pattern)) return std::nullopt;
  int32_t n = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
  if (ec != std::errc() || end != number.data() + number.size()) return std::nullopt;
  return std::make_pair(std::string(pattern), n);
}

int32_t topic_priority(const MirrorConfig& m, std::string_view topic) {
  for (const std::string& item : m.priorities) {
    auto parsed = parse_priority_item(item);
    if (parsed && full_match({parsed->first}, topic)) return parsed->second;
  }
  return 0;
}

std::string target_topic_name(const MirrorConfig& m, std::string_view topic, int32_t node_id) {
  std::string out;
  const std::string_view t = m.target_topic;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '{') {
      const size_t close = t.find('}', i);
      if (close != std::string_view::npos) {
        const std::string_view name = t.substr(i + 1, close - i - 1);
        if (name == "topic") out += topic;
        if (name == "node") out += std::to_string(node_id);
        if (name == "mirror") out += m.name;
        i = close;
        continue;
      }
    }
    out += t[i];
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> mirror_problems(const MirrorConfig& m) {
  std::vector<std::pair<std::string, std::string>> out;
  if (m.name.empty()) {
    out.emplace_back("name", "required: every [[mirror]] section needs a name");
  } else if (m.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789._-") != std::string::npos) {
    out.emplace_back("name", "use only letters, digits, '.', '_' and '-' (got \"" + m.name + "\")");
  }
  if (m.bootstrap_servers.empty()) {
    out.emplace_back("bootstrap.servers", "required: the central cluster's host:port list");
  }
  for (const std::string& s : m.bootstrap_servers) {
    Result<HostPort> hp = parse_host_port(s);
    if (!hp) {
      out.emplace_back("bootstrap.servers", hp.error().message() + " (got \"" + s + "\")");
    } else if (hp->port == 0) {
      out.emplace_back("bootstrap.servers", "port 0 cannot be connected to (got \"" + s + "\")");
    }
  }
  if (m.topics.empty()) out.emplace_back("topics", "required: regular expressions of topics");
  if (auto what = check_target_template(m.target_topic)) out.emplace_back("target.topic", *what);
  for (const std::string& item : m.priorities) {
    if (!parse_priority_item(item)) {
      out.emplace_back("priorities", "\"" + item +
                                         "\" is not REGEX=N (a regular expression, '=', an "
                                         "integer)");
    }
  }
  if (m.heartbeats_interval_ms > 0 &&
      m.heartbeats_topic.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789._-") != std::string::npos) {
    out.emplace_back("heartbeats.topic",
                     "not a valid topic name (letters, digits, '.', '_', "
                     "'-'; got \"" +
                         m.heartbeats_topic + "\")");
  }
  if (m.reconnect_backoff_max_ms < m.reconnect_backoff_ms) {
    out.emplace_back("reconnect.backoff.max.ms", "must be at least reconnect.backoff.ms (" +
                                                     std::to_string(m.reconnect_backoff_ms) + ")");
  }
  const bool tls = m.security_protocol == "SSL" || m.security_protocol == "SASL_SSL";
  const bool sasl = m.security_protocol.rfind("SASL_", 0) == 0;
  if (!tls && (!m.ssl_ca_location.empty() || !m.ssl_certificate_location.empty() ||
               !m.ssl_key_location.empty())) {
    out.emplace_back("security.protocol", "ssl.* keys are set but security.protocol is " +
                                              m.security_protocol + "; use SSL or SASL_SSL");
  }
  if (m.ssl_certificate_location.empty() != m.ssl_key_location.empty()) {
    out.emplace_back(m.ssl_key_location.empty() ? "ssl.key.location" : "ssl.certificate.location",
                     "a client certificate needs both ssl.certificate.location and "
                     "ssl.key.location");
  }
  if (sasl) {
    if (m.sasl_username.empty()) {
      out.emplace_back("sasl.username", "required with security.protocol " + m.security_protocol);
    }
    if (m.sasl_password.empty() == m.sasl_password_file.empty()) {
      out.emplace_back(m.sasl_password.empty() ? "sasl.password" : "sasl.password.file",
                       "set exactly one of sasl.password and sasl.password.file with "
                       "security.protocol " +
                           m.security_protocol);
    }
  }
  return out;
}

}  // namespace ferry::config
