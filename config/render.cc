// Text generated from the key table: config/ferry.toml (also `ferry config --print-defaults`)
// and the key reference in docs/CONFIG.md. Unit tests keep both shipped files equal to this.
#include <string>
#include <string_view>

#include "config/broker_config.h"
#include "config/keys.h"

namespace ferry::config {
namespace {

constexpr size_t kWidth = 100;

// Appends `text` as "# "-prefixed comment lines wrapped at kWidth columns.
void comment(std::string& out, std::string_view text) {
  std::string line = "#";
  while (!text.empty()) {
    size_t cut = text.find(' ');
    std::string_view word = text.substr(0, cut);
    if (line.size() > 1 && line.size() + 1 + word.size() > kWidth) {
      out += line + "\n";
      line = "#";
    }
    line += " ";
    line += word;
    text = cut == text.npos ? std::string_view() : text.substr(cut + 1);
  }
  out += line + "\n";
}

// The TOML spelling of a default value (or of a placeholder when the default is derived).
std::string toml_value(const KeySpec& key) {
  switch (key.type) {
    case Type::boolean:
    case Type::int16:
    case Type::int32:
    case Type::int64:
    case Type::fraction: return std::string(key.default_value);
    case Type::host_port:
      if (key.default_value.empty()) return "\"host:port\"";
      break;
    case Type::list:
    case Type::patterns:
      if (key.default_value.empty()) return "[]";
      break;
    case Type::string:
    case Type::choice: break;
  }
  return "\"" + std::string(key.default_value) + "\"";
}

// The key as written in the file: quoted when another key of its section extends it
// (max.connections.per.ip and max.connections.per.ip.overrides), since a dotted TOML key cannot
// be both a value and a table.
// In [[mirror]] the longer key is quoted instead: `topics` has no dot, so a quoted "topics"
// would still clash with the table a bare `topics.exclude` opens.
std::string toml_key(const KeySpec& key) {
  const std::string name(key.name);
  if (key.section == Section::mirror) {
    for (const KeySpec& other : all_keys()) {
      if (other.section == key.section && other.name.size() < name.size() &&
          name.substr(0, other.name.size() + 1) == std::string(other.name) + ".") {
        return "\"" + name + "\"";
      }
    }
    return name;
  }
  for (const KeySpec& other : all_keys()) {
    if (other.section == key.section && other.name.size() > name.size() &&
        other.name.substr(0, name.size() + 1) == name + ".") {
      return "\"" + name + "\"";
    }
  }
  return name;
}

std::string_view type_name(Type type) {
  switch (type) {
    case Type::boolean: return "boolean";
    case Type::int16: return "short";
    case Type::int32: return "int";
    case Type::int64: return "long";
    case Type::string: return "string";
    case Type::host_port: return "string";
    case Type::choice: return "string";
    case Type::list: return "list";
    case Type::patterns: return "list";
    case Type::fraction: return "double";
  }
  return "string";
}

void render_section(std::string& out, Section section) {
  for (const KeySpec& key : all_keys()) {
    if (key.section != section) continue;
    out += "\n";
    std::string text(key.doc);
    text += " Type: " + std::string(type_name(key.type)) + ", " + describe_range(key) + ".";
    if (!key.default_doc.empty()) text += " Default: " + std::string(key.default_doc) + ".";
    comment(out, text);
    out += "# " + toml_key(key) + " = " + toml_value(key) + "\n";
  }
}

void reference_table(std::string& out, Section section) {
  out += "| Key | Type | Default | Accepts | Description |\n";
  out += "|-----|------|---------|---------|-------------|\n";
  for (const KeySpec& key : all_keys()) {
    if (key.section != section) continue;
    std::string def = key.default_value.empty() ? std::string(key.default_doc)
                                                : "`" + std::string(key.default_value) + "`";
    out += "| `" + std::string(key.name) + "` | " + std::string(type_name(key.type)) + " | " + def +
           " | " + describe_range(key) + " | " + std::string(key.doc) + " |\n";
  }
}

}  // namespace

std::string render_default_config() {
  std::string out;
  comment(out,
          "ferry.toml: the broker's configuration. Every key is listed with its default, "
          "commented out; uncomment a line to change it. Keys use Kafka's names where Kafka has "
          "the setting; `a.b = 1` and `\"a.b\" = 1` mean the same. Reference: docs/CONFIG.md.");
  comment(out,
          "Generated from the key table in config/keys.cc (`ferry config --print-defaults` "
          "prints the same text); a unit test keeps this file equal to it.");
  out += "\n[broker]\n";
  render_section(out, Section::broker);
  out += "\n[topic_defaults]\n";
  comment(out,
          "Broker-wide defaults for Kafka topic configs. A topic's own configs (CreateTopics, "
          "AlterConfigs, IncrementalAlterConfigs) override them.");
  render_section(out, Section::topic);
  out += "\n# [[mirror]]\n";
  comment(out,
          "A link forwarding chosen topics to a central Kafka cluster, exactly once "
          "(docs/mirror.md). One [[mirror]] section per link; name, bootstrap.servers and topics "
          "are required.");
  render_section(out, Section::mirror);
  out += "\n# [cluster]\n";
  comment(out,
          "Quorum replication among nearby nodes (docs/replication.md): present on every node of "
          "the cluster with the same peers; absent, the broker runs alone. The node's id is "
          "[broker] node.id.");
  render_section(out, Section::cluster);
  return out;
}

std::string render_config_reference() {
  std::string out;
  out += "### `[broker]`\n\n";
  reference_table(out, Section::broker);
  out += "\n### `[topic_defaults]` and topic configs\n\n";
  reference_table(out, Section::topic);
  out += "\n### `[[mirror]]`\n\n";
  out += "One section per link to a central Kafka cluster; see docs/mirror.md.\n\n";
  reference_table(out, Section::mirror);
  out += "\n### `[cluster]`\n\n";
  out +=
      "Quorum replication among nearby nodes; see docs/replication.md. Without this table the "
      "broker runs alone.\n\n";
  reference_table(out, Section::cluster);
  return out;
}

}  // namespace ferry::config
