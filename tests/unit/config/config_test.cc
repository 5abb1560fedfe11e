// Unit tests for the config module: ferry.toml parsing, topic configs, DescribeConfigs entries,
// and the generated files (config/ferry.toml, docs/CONFIG.md) against the key table.
//
// To regenerate the shipped files after changing the key table, run this test with
// FERRY_UPDATE_GENERATED=1 in the environment.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "config/broker_config.h"
#include "config/keys.h"
#include "config/topic_config.h"

namespace ferry::config {
namespace {

BrokerConfig parse_ok(std::string_view text) {
  Result<BrokerConfig> c = parse_config(text, "ferry.toml");
  EXPECT_TRUE(c.ok()) << c.error().message();
  return c.ok() ? *c : BrokerConfig{};
}

std::string parse_error(std::string_view text) {
  Result<BrokerConfig> c = parse_config(text, "ferry.toml");
  if (c.ok()) return "(parsed)";
  EXPECT_EQ(c.error().code(), Errc::invalid_argument);
  return c.error().message();
}

// ---- defaults and every key ---------------------------------------------------------------

TEST(BrokerConfig, EmptyFileGivesDefaults) {
  BrokerConfig c = parse_ok("");
  EXPECT_EQ(c, BrokerConfig{});
  EXPECT_EQ(c.node_id, 0);
  EXPECT_EQ(c.data_dir, "ferry-data");
  EXPECT_EQ(c.listen.to_string(), "127.0.0.1:9092");
  EXPECT_EQ(c.advertised.to_string(), "127.0.0.1:9092");
  EXPECT_EQ(c.log_level, log::Level::info);
  EXPECT_TRUE(c.auto_create_topics);
  EXPECT_EQ(c.num_partitions, 1);
  EXPECT_EQ(c.default_replication_factor, 1);
  EXPECT_EQ(c.socket_request_max_bytes, 104857600);
  EXPECT_EQ(c.connection_max_pending_bytes, 16 << 20);
  EXPECT_EQ(c.queued_max_request_bytes, 4 << 20);  // the bound that sets the peak under produce
  EXPECT_EQ(c.max_connections, 1024);
  EXPECT_EQ(c.fetch_max_bytes, 52428800);
  EXPECT_EQ(c.group_initial_rebalance_delay_ms, 3000);
  EXPECT_EQ(c.offsets_retention_minutes, 10080);
  EXPECT_TRUE(c.topic_defaults.empty());
  EXPECT_EQ(parse_ok("[broker]\n[topic_defaults]\n"), BrokerConfig{});
}

TEST(BrokerConfig, TableDefaultsMatchStructInitialisers) {
  // Every [broker] row's default, read back from a default-constructed BrokerConfig.
  BrokerConfig c;
  for (const KeySpec& key : all_keys()) {
    if (key.section != Section::broker || key.default_value.empty()) continue;
    EXPECT_EQ(broker_field_text(key, c), key.default_value) << key.name;
  }
}

TEST(BrokerConfig, EveryKeyParsed) {
  BrokerConfig c = parse_ok(R"(
[broker]
node.id = 7
data.dir = "/var/lib/ferry"
listen = "0.0.0.0:19092"
advertised = "gw1.example:19092"
log.level = "debug"
auto.create.topics.enable = false
num.partitions = 3
default.replication.factor = 2
socket.request.max.bytes = 2048
connection.max.pending.bytes = 1048576
max.connections = 64
fetch.max.bytes = 1000000
group.initial.rebalance.delay.ms = 0
offsets.retention.minutes = 60

[topic_defaults]
retention.ms = 3600000
retention.bytes = 1073741824
segment.bytes = 16777216
segment.ms = 600000
cleanup.policy = "delete"
compression.type = "lz4"
max.message.bytes = 2000000
flush.messages = 100
flush.ms = 50
message.timestamp.type = "LogAppendTime"
min.insync.replicas = 1
index.interval.bytes = 8192
)");
  EXPECT_EQ(c.node_id, 7);
  EXPECT_EQ(c.data_dir, "/var/lib/ferry");
  EXPECT_EQ(c.listen, (HostPort{"0.0.0.0", 19092}));
  EXPECT_EQ(c.advertised, (HostPort{"gw1.example", 19092}));
  EXPECT_EQ(c.log_level, log::Level::debug);
  EXPECT_FALSE(c.auto_create_topics);
  EXPECT_EQ(c.num_partitions, 3);
  EXPECT_EQ(c.default_replication_factor, 2);
  EXPECT_EQ(c.socket_request_max_bytes, 2048);
  EXPECT_EQ(c.connection_max_pending_bytes, 1048576);
  EXPECT_EQ(c.max_connections, 64);
  EXPECT_EQ(c.fetch_max_bytes, 1000000);
  EXPECT_EQ(c.group_initial_rebalance_delay_ms, 0);
  EXPECT_EQ(c.offsets_retention_minutes, 60);
  std::map<std::string, std::string> expected = {
      {"retention.ms", "3600000"},
      {"retention.bytes", "1073741824"},
      {"segment.bytes", "16777216"},
      {"segment.ms", "600000"},
      {"cleanup.policy", "delete"},
      {"compression.type", "lz4"},
      {"max.message.bytes", "2000000"},
      {"flush.messages", "100"},
      {"flush.ms", "50"},
      {"message.timestamp.type", "LogAppendTime"},
      {"min.insync.replicas", "1"},
      {"index.interval.bytes", "8192"},
  };
  EXPECT_EQ(c.topic_defaults, expected);
}

TEST(BrokerConfig, LogLevels) {
  for (auto [name, level] : {std::pair{"trace", log::Level::trace},
                             {"debug", log::Level::debug},
                             {"info", log::Level::info},
                             {"warn", log::Level::warn},
                             {"error", log::Level::error}}) {
    EXPECT_EQ(parse_ok(std::string("[broker]\nlog.level = \"") + name + "\"\n").log_level, level);
  }
  EXPECT_EQ(parse_error("[broker]\nlog.level = \"off\"\n"),
            "ferry.toml:2: log.level: must be one of: trace, debug, info, warn, error (got "
            "\"off\")");
}

// ---- TOML layout ----------------------------------------------------------------------------

TEST(BrokerConfig, DottedAndQuotedKeysAreFlattened) {
  const char* forms[] = {
      "[broker]\nauto.create.topics.enable = false\n",
      "[broker]\n\"auto.create.topics.enable\" = false\n",
      "[broker]\nauto.\"create.topics\".enable = false\n",
      "[broker.auto.create]\ntopics.enable = false\n",
      "broker.auto.create.topics.enable = false\n",
      "[broker]\nauto = { create = { topics = { enable = false } } }\n",
  };
  for (const char* text : forms) {
    EXPECT_FALSE(parse_ok(text).auto_create_topics) << text;
  }
  EXPECT_EQ(parse_ok("[topic_defaults]\n\"retention.ms\" = 1\n").topic_defaults.at("retention.ms"),
            "1");
  EXPECT_EQ(parse_ok("[topic_defaults.retention]\nms = 2\n").topic_defaults.at("retention.ms"),
            "2");
}

TEST(BrokerConfig, SameKeyTwiceAfterFlattening) {
  EXPECT_EQ(parse_error("[broker]\nnum.partitions = 2\n\"num.partitions\" = 3\n"),
            "ferry.toml:3: num.partitions: set twice (first at line 2)");
}

TEST(BrokerConfig, CleanupPolicyAsArray) {
  EXPECT_EQ(parse_ok("[topic_defaults]\ncleanup.policy = [\"delete\"]\n")
                .topic_defaults.at("cleanup.policy"),
            "delete");
  EXPECT_EQ(parse_ok("[topic_defaults]\ncleanup.policy = [\"delete\", \"compact\"]\n")
                .topic_defaults.at("cleanup.policy"),
            "delete,compact");
  EXPECT_EQ(parse_error("[topic_defaults]\ncleanup.policy = [1]\n"),
            "ferry.toml:2: cleanup.policy: expected a string or an array of strings, got an "
            "array");
}

// ---- errors name file:line: key -------------------------------------------------------------

TEST(BrokerConfig, SyntaxErrorReportsTomlLine) {
  std::string e = parse_error("[broker]\nnode.id = 1\nlisten = \"127.0.0.1:9092\n");
  EXPECT_EQ(e.rfind("ferry.toml:3: ", 0), 0u) << e;
  e = parse_error("[broker]\n\n\nnode.id = = 2\n");
  EXPECT_EQ(e.rfind("ferry.toml:4: ", 0), 0u) << e;
}

TEST(BrokerConfig, UnknownKeyAndSection) {
  EXPECT_EQ(parse_error("[broker]\nnode.id = 1\n\nnode.name = \"x\"\n"),
            "ferry.toml:4: node.name: unknown key in [broker]");
  EXPECT_EQ(parse_error("[topic_defaults]\nretention.hours = 1\n"),
            "ferry.toml:2: retention.hours: unknown topic config in [topic_defaults]");
  EXPECT_EQ(parse_error("[broker]\nnode.id = 1\n\n[kafka]\nx = 1\n"),
            "ferry.toml:4: kafka: unknown section; expected [broker], [topic_defaults], [[mirror]] "
            "or [cluster]");
  EXPECT_EQ(parse_error("verbose = true\n"),
            "ferry.toml:1: verbose: unknown key; keys belong in [broker] or [topic_defaults]");
  EXPECT_EQ(parse_error("broker = 1\n"), "ferry.toml:1: broker: expected a table, got an integer");
}

TEST(BrokerConfig, KnownKeyOutsideItsTable) {
  EXPECT_EQ(parse_error("\nnum.partitions = 2\n[broker]\n"),
            "ferry.toml:2: num.partitions: belongs in [broker]");
  EXPECT_EQ(parse_error("\"retention.ms\" = 2\n"),
            "ferry.toml:1: retention.ms: belongs in [topic_defaults]");
  EXPECT_EQ(parse_error("[broker]\nretention.ms = 2\n"),
            "ferry.toml:2: retention.ms: unknown key in [broker]");
}

TEST(BrokerConfig, WrongTypesNameTheExpectedType) {
  EXPECT_EQ(parse_error("[broker]\nnode.id = \"1\"\n"),
            "ferry.toml:2: node.id: expected an integer, got a string");
  EXPECT_EQ(parse_error("[broker]\n\nnum.partitions = 1.5\n"),
            "ferry.toml:3: num.partitions: expected an integer, got a floating-point number");
  EXPECT_EQ(parse_error("[broker]\nauto.create.topics.enable = \"yes\"\n"),
            "ferry.toml:2: auto.create.topics.enable: expected a boolean, got a string");
  EXPECT_EQ(parse_error("[broker]\ndata.dir = 5\n"),
            "ferry.toml:2: data.dir: expected a string, got an integer");
  EXPECT_EQ(parse_error("[broker]\nlisten = [\"a:1\"]\n"),
            "ferry.toml:2: listen: expected a string, got an array");
  EXPECT_EQ(parse_error("[topic_defaults]\nretention.ms = \"1000\"\n"),
            "ferry.toml:2: retention.ms: expected an integer, got a string");
  EXPECT_EQ(parse_error("[topic_defaults]\ncompression.type = true\n"),
            "ferry.toml:2: compression.type: expected a string, got a boolean");
  EXPECT_EQ(parse_error("[broker]\nnode.id = 1979-05-27\n"),
            "ferry.toml:2: node.id: expected an integer, got a date");
}

TEST(BrokerConfig, OutOfRange) {
  EXPECT_EQ(parse_error("[broker]\nnode.id = -1\n"),
            "ferry.toml:2: node.id: must be at least 0 (got -1)");
  EXPECT_EQ(parse_error("[broker]\nnode.id = 2147483648\n"),
            "ferry.toml:2: node.id: must be at least 0 (got 2147483648)");
  EXPECT_EQ(parse_error("[broker]\nnum.partitions = 0\n"),
            "ferry.toml:2: num.partitions: must be between 1 and 10000 (got 0)");
  EXPECT_EQ(parse_error("[broker]\nnum.partitions = 10001\n"),
            "ferry.toml:2: num.partitions: must be between 1 and 10000 (got 10001)");
  EXPECT_EQ(parse_ok("[broker]\nnum.partitions = 10000\n").num_partitions, 10000);
  EXPECT_EQ(parse_error("[broker]\ndefault.replication.factor = 8\n"),
            "ferry.toml:2: default.replication.factor: must be between 1 and 7 (got 8)");
  EXPECT_EQ(parse_ok("[broker]\ndefault.replication.factor = 7\n").default_replication_factor, 7);
  EXPECT_EQ(parse_error("[broker]\nsocket.request.max.bytes = 1023\n"),
            "ferry.toml:2: socket.request.max.bytes: must be at least 1024 (got 1023)");
  EXPECT_EQ(parse_ok("[broker]\nsocket.request.max.bytes = 1024\n").socket_request_max_bytes, 1024);
  EXPECT_EQ(parse_error("[broker]\ndata.dir = \"\"\n"),
            "ferry.toml:2: data.dir: must not be empty (got \"\")");
  EXPECT_EQ(parse_error("[topic_defaults]\nsegment.bytes = 1048575\n"),
            "ferry.toml:2: segment.bytes: must be at least 1048576 (got 1048575)");
}

TEST(BrokerConfig, SeveralProblemsOnePerLineInLineOrder) {
  EXPECT_EQ(parse_error("[broker]\nnum.partitions = 0\nnode.id = -1\nzzz = 1\n"),
            "ferry.toml:2: num.partitions: must be between 1 and 10000 (got 0)\n"
            "ferry.toml:3: node.id: must be at least 0 (got -1)\n"
            "ferry.toml:4: zzz: unknown key in [broker]");
}

TEST(BrokerConfig, AdvertisedDefaultsToListen) {
  BrokerConfig c = parse_ok("[broker]\nlisten = \"10.1.2.3:9093\"\n");
  EXPECT_EQ(c.advertised, (HostPort{"10.1.2.3", 9093}));
  c = parse_ok("[broker]\nlisten = \"[fe80::1]:9093\"\n");
  EXPECT_EQ(c.advertised.to_string(), "[fe80::1]:9093");
}

TEST(BrokerConfig, WildcardListenNeedsAdvertised) {
  EXPECT_EQ(parse_error("[broker]\nnode.id = 1\nlisten = \"0.0.0.0:9092\"\n"),
            "ferry.toml:3: advertised: required when listen is a wildcard address "
            "(0.0.0.0:9092): set the address clients should connect to");
  EXPECT_EQ(parse_error("[broker]\nlisten = \"[::]:9092\"\n"),
            "ferry.toml:2: advertised: required when listen is a wildcard address ([::]:9092): "
            "set the address clients should connect to");
  EXPECT_EQ(parse_error("[broker]\nadvertised = \"0.0.0.0:9092\"\n"),
            "ferry.toml:2: advertised: clients cannot connect to a wildcard address");
  EXPECT_EQ(parse_error("[broker]\nadvertised = \"gw:0\"\n"),
            "ferry.toml:2: advertised: port 0 cannot be advertised");
  BrokerConfig c =
      parse_ok("[broker]\nlisten = \"[::]:9092\"\nadvertised = \"[2001:db8::5]:9092\"\n");
  EXPECT_EQ(c.advertised.host, "2001:db8::5");
}

TEST(BrokerConfig, ListenersEachWithTheirAdvertisedAddress) {
  BrokerConfig c = parse_ok(
      "[broker]\nlisteners = [\"PLAINTEXT://127.0.0.1:9092\", \"SASL_SSL://0.0.0.0:9093\"]\n"
      "advertised.listeners = \"SASL_SSL://gw1.plant.example:9093\"\n"
      "ssl.certificate.location = \"/etc/ferry/broker.pem\"\n"
      "ssl.key.location = \"/etc/ferry/broker.key\"\n");
  std::vector<ListenerConfig> ls = listener_configs(c);
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[0], (ListenerConfig{"PLAINTEXT", {"127.0.0.1", 9092}, {"127.0.0.1", 9092}}));
  EXPECT_EQ(ls[1], (ListenerConfig{"SASL_SSL", {"0.0.0.0", 9093}, {"gw1.plant.example", 9093}}));
  // Without listeners: one PLAINTEXT listener from listen/advertised, as before.
  c = parse_ok("[broker]\nlisten = \"[::]:9092\"\nadvertised = \"gw:9092\"\n");
  ls = listener_configs(c);
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0], (ListenerConfig{"PLAINTEXT", {"::", 9092}, {"gw", 9092}}));
  // advertised.listeners may name the listen address's PLAINTEXT listener.
  c = parse_ok(
      "[broker]\nlisten = \"0.0.0.0:9092\"\nadvertised.listeners = \"PLAINTEXT://gw:9092\"\n");
  EXPECT_EQ(listener_configs(c).at(0).advertised, (HostPort{"gw", 9092}));
}

TEST(BrokerConfig, BadListenersNameFileLineAndKey) {
  EXPECT_EQ(parse_error("[broker]\nlisteners = \"INTERNAL://127.0.0.1:9092\"\n"),
            "ferry.toml:2: listeners: listener name must be a security protocol: PLAINTEXT, "
            "SSL, SASL_PLAINTEXT or SASL_SSL (got \"INTERNAL\")");
  EXPECT_EQ(parse_error("[broker]\nlisteners = \"127.0.0.1:9092\"\n"),
            "ferry.toml:2: listeners: expected NAME://host:port (got \"127.0.0.1:9092\")");
  EXPECT_EQ(parse_error("[broker]\nlisteners = \"SSL://127.0.0.1:99999\"\n"),
            "ferry.toml:2: listeners: SSL: port must be between 0 and 65535 (got "
            "\"127.0.0.1:99999\")");
  EXPECT_EQ(parse_error("[broker]\nlisteners = [\"SSL://a:1\", \"SSL://a:2\"]\n"),
            "ferry.toml:2: listeners: listener SSL is named twice");
  EXPECT_EQ(parse_error("[broker]\nlisteners = [\"SSL://a:1\", \"PLAINTEXT://b:1\"]\n"),
            "ferry.toml:2: listeners: listeners SSL and PLAINTEXT both bind port 1");
  EXPECT_EQ(parse_error("[broker]\nlisten = \"a:1\"\nlisteners = \"SSL://a:2\"\n"),
            "ferry.toml:3: listeners: set either listen (one PLAINTEXT listener) or listeners, "
            "not both (listen at line 2)");
  EXPECT_EQ(parse_error("[broker]\nlisteners = \"SSL://0.0.0.0:9093\"\n"),
            "ferry.toml:2: advertised.listeners: required for listener SSL on a wildcard "
            "address (0.0.0.0:9093): add SSL://HOST:PORT for clients");
  EXPECT_EQ(parse_error("[broker]\nlisteners = \"SSL://a:1\"\n"
                        "advertised.listeners = \"SASL_SSL://b:1\"\n"),
            "ferry.toml:3: advertised.listeners: no listener named SASL_SSL in listeners");
  EXPECT_EQ(parse_error("[broker]\nlisteners = \"SSL://a:1\"\n"
                        "advertised.listeners = \"SSL://[::]:1\"\n"),
            "ferry.toml:3: advertised.listeners: SSL: clients cannot connect to a wildcard "
            "address");
  // (Unquoted, TOML itself refuses advertised.listeners next to advertised.)
  EXPECT_EQ(parse_error("[broker]\nadvertised = \"a:1\"\n"
                        "\"advertised.listeners\" = \"PLAINTEXT://b:1\"\n"),
            "ferry.toml:3: advertised.listeners: set either advertised or "
            "advertised.listeners, not both (advertised at line 2)");
  EXPECT_EQ(parse_error("[broker]\nlisteners = []\n"),
            "ferry.toml:2: listeners: must not be empty (got \"\")");
}

TEST(BrokerConfig, BadHostPortNamesKey) {
  EXPECT_EQ(parse_error("[broker]\nlisten = \"localhost\"\n"),
            "ferry.toml:2: listen: expected host:port or [ipv6]:port (got \"localhost\")");
  EXPECT_EQ(parse_error("[broker]\nlisten = \"localhost:70000\"\n"),
            "ferry.toml:2: listen: port must be between 0 and 65535 (got \"localhost:70000\")");
}

TEST(BrokerConfig, LoadFile) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("ferry-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::path path = dir / "ferry.toml";
  {
    std::ofstream f(path);
    f << "[broker]\nnode.id = 3\n\nnum.partitions = 0\n";
  }
  Result<BrokerConfig> c = load_config_file(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message(),
            path.string() + ":4: num.partitions: must be between 1 and 10000 (got 0)");
  {
    std::ofstream f(path);
    f << "[broker]\nnode.id = 3\n";
  }
  c = load_config_file(path);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->node_id, 3);
  c = load_config_file(dir / "missing.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Errc::io);
  EXPECT_NE(c.error().message().find("missing.toml"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// ---- host:port ------------------------------------------------------------------------------

TEST(HostPort, Forms) {
  struct Case {
    const char* text;
    const char* host;
    uint16_t port;
  };
  for (const Case& c :
       {Case{"127.0.0.1:9092", "127.0.0.1", 9092}, Case{"gw.local:1", "gw.local", 1},
        Case{"[::1]:9092", "::1", 9092}, Case{"[::]:65535", "::", 65535}, Case{"host:0", "host", 0},
        Case{"[fe80::1%eth0]:9092", "fe80::1%eth0", 9092}}) {
    Result<HostPort> hp = parse_host_port(c.text);
    ASSERT_TRUE(hp.ok()) << c.text << ": " << hp.error().message();
    EXPECT_EQ(hp->host, c.host);
    EXPECT_EQ(hp->port, c.port);
    EXPECT_EQ(hp->to_string(), c.text);
  }
}

TEST(HostPort, Errors) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"", "expected host:port or [ipv6]:port"},
           Case{"host", "expected host:port or [ipv6]:port"},
           Case{":9092", "missing host"},
           Case{"[]:9092", "missing host"},
           Case{"host:", "bad port \"\""},
           Case{"host:x1", "bad port \"x1\""},
           Case{"host:-1", "bad port \"-1\""},
           Case{"host:90 92", "bad port \"90 92\""},
           Case{"host:65536", "port must be between 0 and 65535"},
           Case{"host:99999999999", "port must be between 0 and 65535"},
           Case{"::1:9092", "an IPv6 address needs brackets, as in [::1]:9092"},
           Case{"[::1:9092", "missing ']' after the IPv6 address"},
           Case{"[::1]9092", "expected host:port or [ipv6]:port"},
           Case{"[::1]", "expected host:port or [ipv6]:port"},
           Case{"a b:1", "bad host"},
       }) {
    Result<HostPort> hp = parse_host_port(c.text);
    ASSERT_FALSE(hp.ok()) << c.text;
    EXPECT_EQ(hp.error().code(), Errc::invalid_argument);
    EXPECT_EQ(hp.error().message(), c.message) << c.text;
  }
}

// ---- topic configs --------------------------------------------------------------------------

void expect_valid(std::string_view name, std::string_view value) {
  Status s = validate_topic_config(name, value);
  EXPECT_TRUE(s.ok()) << name << "=" << value << ": " << s.error().message();
}

void expect_invalid(std::string_view name, std::string_view value, std::string_view why) {
  Status s = validate_topic_config(name, value);
  ASSERT_FALSE(s.ok()) << name << "=" << value;
  EXPECT_EQ(s.error().code(), Errc::invalid_argument);
  EXPECT_EQ(s.error().message(), "Invalid value " + std::string(value) + " for configuration " +
                                     std::string(name) + ": " + std::string(why));
}

TEST(TopicConfig, UnknownName) {
  Status s = validate_topic_config("retention.hours", "1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::invalid_argument);
  EXPECT_EQ(s.error().message(), "Unknown topic config name: retention.hours");
  // Broker keys are not topic configs.
  EXPECT_EQ(validate_topic_config("num.partitions", "1").error().message(),
            "Unknown topic config name: num.partitions");
}

TEST(TopicConfig, Integers) {
  expect_valid("retention.ms", "-1");
  expect_valid("retention.ms", "0");
  expect_valid("retention.ms", "9223372036854775807");
  expect_invalid("retention.ms", "-2", "must be at least -1");
  expect_invalid("retention.ms", "9223372036854775808", "must be at least -1");
  expect_invalid("retention.ms", "1d", "expected an integer");
  expect_invalid("retention.ms", "", "expected an integer");
  expect_invalid("retention.ms", "-", "expected an integer");
  expect_valid("retention.ms", " 1000 ");  // Kafka trims values

  expect_valid("retention.bytes", "-1");
  expect_valid("retention.bytes", "1073741824");
  expect_invalid("retention.bytes", "-2", "must be at least -1");

  expect_valid("segment.bytes", "1048576");
  expect_valid("segment.bytes", "2147483647");
  expect_invalid("segment.bytes", "1048575", "must be at least 1048576");
  expect_invalid("segment.bytes", "14", "must be at least 1048576");
  expect_invalid("segment.bytes", "2147483648", "must be at least 1048576");

  expect_valid("segment.ms", "1");
  expect_invalid("segment.ms", "0", "must be at least 1");

  expect_valid("max.message.bytes", "0");
  expect_valid("max.message.bytes", "2147483647");
  expect_invalid("max.message.bytes", "-1", "must be at least 0");
  expect_invalid("max.message.bytes", "2147483648", "must be at least 0");

  expect_valid("flush.messages", "1");
  expect_valid("flush.messages", "9223372036854775807");
  expect_invalid("flush.messages", "0", "must be at least 1");

  expect_valid("flush.ms", "0");
  expect_invalid("flush.ms", "-1", "must be at least 0");

  expect_valid("min.insync.replicas", "1");
  expect_invalid("min.insync.replicas", "0", "must be at least 1");

  expect_valid("index.interval.bytes", "4");
  expect_invalid("index.interval.bytes", "3", "must be at least 4");
}

TEST(TopicConfig, CleanupPolicy) {
  expect_valid("cleanup.policy", "delete");
  expect_valid("cleanup.policy", " delete ");
  expect_valid("cleanup.policy", "compact");
  expect_valid("cleanup.policy", "compact,delete");
  expect_valid("cleanup.policy", "delete, compact");
  expect_invalid("cleanup.policy", "remove", "must be one of: delete, compact");
  expect_invalid("cleanup.policy", "", "must not be empty");
  BrokerConfig broker;
  auto d = topic_settings({}, broker).value().log;
  EXPECT_TRUE(d.cleanup_delete);
  EXPECT_FALSE(d.cleanup_compact);
  EXPECT_EQ(d.min_cleanable_dirty_ratio, 0.5);
  EXPECT_EQ(d.min_compaction_lag_ms, 0);
  EXPECT_EQ(d.max_compaction_lag_ms, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(d.delete_retention_ms, 86400000);
  auto c = topic_settings({{"cleanup.policy", "compact"},
                           {"min.cleanable.dirty.ratio", "0.1"},
                           {"min.compaction.lag.ms", "5"},
                           {"max.compaction.lag.ms", "600000"},
                           {"delete.retention.ms", "1000"}},
                          broker)
               .value()
               .log;
  EXPECT_TRUE(c.cleanup_compact);
  EXPECT_FALSE(c.cleanup_delete);
  EXPECT_EQ(c.min_cleanable_dirty_ratio, 0.1);
  EXPECT_EQ(c.min_compaction_lag_ms, 5);
  EXPECT_EQ(c.max_compaction_lag_ms, 600000);
  EXPECT_EQ(c.delete_retention_ms, 1000);
  auto both = topic_settings({{"cleanup.policy", "compact,delete"}}, broker).value().log;
  EXPECT_TRUE(both.cleanup_compact && both.cleanup_delete);
  expect_invalid("min.cleanable.dirty.ratio", "1.5", "must be a number between 0 and 1");
}

TEST(TopicConfig, CompressionType) {
  // Every value Kafka accepts: each names the codec batches are stored in (producer: as sent).
  for (const char* v : {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"}) {
    expect_valid("compression.type", v);
  }
  const char* choices = "must be one of: producer, uncompressed, gzip, snappy, lz4, zstd";
  expect_invalid("compression.type", "LZ4", choices);
  expect_invalid("compression.type", "brotli", choices);
  for (const auto& [value, codec] : std::vector<std::pair<std::string, protocol::Compression>>{
           {"uncompressed", protocol::Compression::none},
           {"gzip", protocol::Compression::gzip},
           {"snappy", protocol::Compression::snappy},
           {"lz4", protocol::Compression::lz4},
           {"zstd", protocol::Compression::zstd}}) {
    Result<TopicSettings> s = topic_settings({{"compression.type", value}}, BrokerConfig{});
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(s->store_codec, codec) << value;
  }
  Result<TopicSettings> s = topic_settings({{"compression.type", "producer"}}, BrokerConfig{});
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->store_codec.has_value());
}

// Kafka 3.x topic configs ferry has no behaviour for are accepted with Kafka's values (Kafka
// tools send them), and described; unknown names stay refused.
TEST(TopicConfig, AcceptsKafkaTopicKeysWithoutBehaviour) {
  const std::vector<std::pair<const char*, const char*>> kafka = {
      {"compression.gzip.level", "9"},
      {"compression.lz4.level", "17"},
      {"compression.zstd.level", "-5"},
      {"file.delete.delay.ms", "0"},
      {"follower.replication.throttled.replicas", "0:1,1:2"},
      {"follower.replication.throttled.replicas", ""},
      {"leader.replication.throttled.replicas", "*"},
      {"local.retention.bytes", "-2"},
      {"local.retention.ms", "3600000"},
      {"message.downconversion.enable", "false"},
      {"message.format.version", "2.8-IV1"},
      {"message.timestamp.after.max.ms", "3600000"},
      {"message.timestamp.before.max.ms", "0"},
      {"message.timestamp.difference.max.ms", "86400000"},
      {"preallocate", "true"},
      {"remote.log.copy.disable", "false"},
      {"remote.log.delete.on.disable", "true"},
      {"remote.storage.enable", "false"},
      {"segment.index.bytes", "1048576"},
      {"segment.jitter.ms", "1000"},
      {"unclean.leader.election.enable", "true"},
  };
  std::map<std::string, std::string> topic;
  for (const auto& [name, value] : kafka) {
    expect_valid(name, value);
    topic[name] = value;
  }
  Result<TopicSettings> s = topic_settings(topic, BrokerConfig{});
  ASSERT_TRUE(s.ok()) << s.error().message();
  const auto entries = describe_topic_configs(topic, BrokerConfig{});
  for (const auto& [name, value] : topic) {
    const ConfigEntry* e = nullptr;
    for (const auto& entry : entries) {
      if (entry.name == name) e = &entry;
    }
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->value, value) << name;
    EXPECT_EQ(e->source, ConfigEntry::Source::topic) << name;
    EXPECT_TRUE(e->documentation.starts_with("No effect in ferry")) << name;
  }
  expect_invalid("segment.index.bytes", "3", "must be at least 4");
  expect_invalid("compression.lz4.level", "18", "must be between 1 and 17");
  expect_invalid("preallocate", "yes", "expected true or false");
  EXPECT_EQ(validate_topic_config("retention.kilobytes", "1").error().message(),
            "Unknown topic config name: retention.kilobytes");
}

TEST(TopicConfig, TimestampType) {
  expect_valid("message.timestamp.type", "CreateTime");
  expect_valid("message.timestamp.type", "LogAppendTime");
  expect_invalid("message.timestamp.type", "createtime",
                 "must be one of: CreateTime, LogAppendTime");
}

TEST(TopicConfig, EveryTopicKeyHasAValidDefault) {
  size_t n = 0;
  for (const KeySpec& key : all_keys()) {
    if (key.section != Section::topic) continue;
    ++n;
    expect_valid(key.name, key.default_value);
  }
  EXPECT_GE(n, 33u);  // Kafka 3.x's topic configs (docs/CONFIG.md)
}

TEST(TopicConfig, DiskFullPolicy) {
  expect_valid("disk.full.policy", "refuse");
  expect_valid("disk.full.policy", "drop_oldest");
  expect_invalid("disk.full.policy", "drop", "must be one of: refuse, drop_oldest");
  BrokerConfig broker;
  EXPECT_FALSE(topic_settings({}, broker).value().drop_oldest_when_full);
  EXPECT_TRUE(
      topic_settings({{"disk.full.policy", "drop_oldest"}}, broker).value().drop_oldest_when_full);
  EXPECT_EQ(broker.log_dir_min_free_bytes, int64_t{64} << 20);
}

// ---- topic_settings -------------------------------------------------------------------------

TEST(TopicSettings, BuiltInDefaultsMatchLogConfig) {
  Result<TopicSettings> s = topic_settings({}, BrokerConfig{});
  ASSERT_TRUE(s.ok()) << s.error().message();
  storage::LogConfig d;
  EXPECT_EQ(s->log.segment_bytes, d.segment_bytes);
  EXPECT_EQ(s->log.segment_ms, d.segment_ms);
  EXPECT_EQ(s->log.retention_ms, d.retention_ms);
  EXPECT_EQ(s->log.retention_bytes, d.retention_bytes);
  EXPECT_EQ(s->log.index_interval_bytes, d.index_interval_bytes);
  EXPECT_EQ(s->log.flush_messages, d.flush_messages);
  EXPECT_EQ(s->log.flush_ms, d.flush_ms);
  EXPECT_EQ(s->log.max_batch_bytes, d.max_batch_bytes);
  EXPECT_EQ(s->store_codec, protocol::Compression::lz4);  // ferry's default for gateways
  EXPECT_EQ(s->log.preallocate_bytes, d.preallocate_bytes);
  EXPECT_FALSE(s->log_append_time);
  EXPECT_EQ(s->max_message_bytes, 1048588);
}

TEST(TopicSettings, TopicOverridesTopicDefaultsOverridesBuiltIn) {
  BrokerConfig broker = parse_ok(R"([topic_defaults]
retention.ms = 1000
segment.bytes = 2097152
compression.type = "lz4"
)");
  std::map<std::string, std::string> topic = {{"retention.ms", "5000"},
                                              {"message.timestamp.type", "LogAppendTime"},
                                              {"max.message.bytes", "100"}};
  Result<TopicSettings> s = topic_settings(topic, broker);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->log.retention_ms, 5000);       // topic
  EXPECT_EQ(s->log.segment_bytes, 2097152u);  // [topic_defaults]
  EXPECT_EQ(s->store_codec, protocol::Compression::lz4);
  EXPECT_EQ(s->log.retention_bytes, -1);  // built-in
  EXPECT_TRUE(s->log_append_time);
  EXPECT_EQ(s->max_message_bytes, 100);
  EXPECT_EQ(s->log.max_batch_bytes, 100u);

  topic = {{"compression.type", "uncompressed"},
           {"flush.messages", "1"},
           {"flush.ms", "0"},
           {"segment.ms", "60000"},
           {"retention.bytes", "4096"},
           {"index.interval.bytes", "512"}};
  s = topic_settings(topic, broker);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->store_codec, protocol::Compression::none);  // stored uncompressed
  EXPECT_EQ(s->log.flush_messages, 1);
  EXPECT_EQ(s->log.flush_ms, 0);
  EXPECT_EQ(s->log.segment_ms, 60000);
  EXPECT_EQ(s->log.retention_bytes, 4096);
  EXPECT_EQ(s->log.index_interval_bytes, 512u);
  EXPECT_EQ(s->log.retention_ms, 1000);  // [topic_defaults] again
}

TEST(TopicSettings, InvalidOrUnknownValuesFail) {
  Result<TopicSettings> s = topic_settings({{"segment.bytes", "10"}}, BrokerConfig{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(),
            "Invalid value 10 for configuration segment.bytes: must be at least 1048576");
  s = topic_settings({{"foo", "1"}}, BrokerConfig{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "Unknown topic config name: foo");
}

// ---- DescribeConfigs ------------------------------------------------------------------------

const ConfigEntry* find_entry(const std::vector<ConfigEntry>& entries, std::string_view name) {
  for (const ConfigEntry& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

TEST(Describe, TopicSources) {
  BrokerConfig broker =
      parse_ok("[topic_defaults]\nretention.ms = 1000\ncleanup.policy = \"delete\"\n");
  std::vector<ConfigEntry> entries =
      describe_topic_configs({{"segment.bytes", "2097152"}, {"retention.ms", "5"}}, broker);
  EXPECT_GE(entries.size(), 33u);  // every topic key
  const ConfigEntry* e = find_entry(entries, "retention.ms");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, "5");
  EXPECT_EQ(e->source, ConfigEntry::Source::topic);
  EXPECT_EQ(e->type, config_type::long_);
  EXPECT_FALSE(e->read_only);
  EXPECT_FALSE(e->sensitive);
  EXPECT_FALSE(e->documentation.empty());

  e = find_entry(entries, "segment.bytes");
  EXPECT_EQ(e->source, ConfigEntry::Source::topic);
  EXPECT_EQ(e->type, config_type::int_);

  e = find_entry(entries, "cleanup.policy");
  EXPECT_EQ(e->value, "delete");
  EXPECT_EQ(e->source, ConfigEntry::Source::static_broker);
  EXPECT_EQ(e->type, config_type::list);

  e = find_entry(entries, "compression.type");
  EXPECT_EQ(e->value, "lz4");
  EXPECT_EQ(e->source, ConfigEntry::Source::default_config);
  EXPECT_EQ(e->type, config_type::string);

  e = find_entry(entries, "retention.bytes");
  EXPECT_EQ(e->value, "-1");
  EXPECT_EQ(e->source, ConfigEntry::Source::default_config);

  EXPECT_EQ(static_cast<int>(ConfigEntry::Source::topic), 1);
  EXPECT_EQ(static_cast<int>(ConfigEntry::Source::dynamic_broker), 2);
  EXPECT_EQ(static_cast<int>(ConfigEntry::Source::static_broker), 4);
  EXPECT_EQ(static_cast<int>(ConfigEntry::Source::default_config), 5);
}

TEST(BrokerConfig, TlsListenerNeedsCertificateAndKey) {
  EXPECT_EQ(parse_error("[broker]\nlisteners = [\"PLAINTEXT://127.0.0.1:9092\", "
                        "\"SSL://127.0.0.1:9093\"]\nssl.key.location = \"k.pem\"\n"),
            "ferry.toml:2: listeners: listener SSL needs ssl.certificate.location and "
            "ssl.key.location");
  EXPECT_EQ(parse_error("[broker]\nlisteners = \"SSL://127.0.0.1:9093\"\n"
                        "ssl.certificate.location = \"c.pem\"\nssl.key.location = \"k.pem\"\n"
                        "ssl.client.auth = \"required\"\n"),
            "ferry.toml:5: ssl.client.auth: required needs ssl.ca.location (the CA of client "
            "certificates)");
  EXPECT_EQ(parse_error("[broker]\nssl.client.auth = \"sometimes\"\n"),
            "ferry.toml:2: ssl.client.auth: must be one of: none, requested, required (got "
            "\"sometimes\")");
  BrokerConfig c = parse_ok(
      "[broker]\nlisteners = \"SSL://127.0.0.1:9093\"\nssl.certificate.location = \"c.pem\"\n"
      "ssl.key.location = \"k.pem\"\nssl.ca.location = \"ca.pem\"\n"
      "ssl.client.auth = \"requested\"\nssl.key.password = \"pw\"\n");
  EXPECT_EQ(c.ssl_certificate_location, "c.pem");
  EXPECT_EQ(c.ssl_key_location, "k.pem");
  EXPECT_EQ(c.ssl_ca_location, "ca.pem");
  EXPECT_EQ(c.ssl_client_auth, "requested");
  EXPECT_EQ(c.ssl_key_password, "pw");
}

TEST(Describe, BrokerEntries) {
  BrokerConfig broker = parse_ok(
      "[broker]\nnode.id = 4\nlog.level = \"warn\"\nauto.create.topics.enable = false\n"
      "default.replication.factor = 3\nconnection.max.pending.bytes = 4096\n");
  std::vector<ConfigEntry> entries = describe_broker_configs(broker);
  const auto broker_keys =
      std::count_if(all_keys().begin(), all_keys().end(),
                    [](const KeySpec& k) { return k.section == Section::broker; });
  EXPECT_EQ(entries.size(), static_cast<size_t>(broker_keys));
  for (const ConfigEntry& e : entries) {
    EXPECT_TRUE(e.read_only) << e.name;
    // Passwords are withheld, as Kafka does for its PASSWORD keys.
    const bool password = e.name.ends_with(".password");
    EXPECT_EQ(e.sensitive, password) << e.name;
    EXPECT_EQ(e.value.has_value(), !password) << e.name;
  }
  auto check = [&](std::string_view name, std::string_view value, ConfigEntry::Source source,
                   int8_t type) {
    const ConfigEntry* e = find_entry(entries, name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->value, value) << name;
    EXPECT_EQ(e->source, source) << name;
    EXPECT_EQ(e->type, type) << name;
  };
  using S = ConfigEntry::Source;
  check("node.id", "4", S::static_broker, config_type::int_);
  check("log.level", "warn", S::static_broker, config_type::string);
  check("auto.create.topics.enable", "false", S::static_broker, config_type::boolean);
  check("default.replication.factor", "3", S::static_broker, config_type::short_);
  check("connection.max.pending.bytes", "4096", S::static_broker, config_type::long_);
  check("listen", "127.0.0.1:9092", S::default_config, config_type::string);
  check("advertised", "127.0.0.1:9092", S::default_config, config_type::string);
  check("data.dir", "ferry-data", S::default_config, config_type::string);
  check("num.partitions", "1", S::default_config, config_type::int_);
}

// ---- generated files ------------------------------------------------------------------------

std::string read_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool update_generated() {
  const char* v = std::getenv("FERRY_UPDATE_GENERATED");
  return v != nullptr && std::string_view(v) == "1";
}

TEST(Generated, ShippedFerryTomlEqualsRenderedDefaults) {
  const std::filesystem::path path = std::filesystem::path(FERRY_SOURCE_DIR) / "config/ferry.toml";
  const std::string rendered = render_default_config();
  if (update_generated()) std::ofstream(path, std::ios::binary) << rendered;
  EXPECT_EQ(read_file(path), rendered)
      << "config/ferry.toml is out of date; rerun with FERRY_UPDATE_GENERATED=1";
  // The rendered file parses, to the defaults.
  Result<BrokerConfig> c = parse_config(rendered, "ferry.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(*c, BrokerConfig{});
}

TEST(Generated, RenderedKeysAreValidWhenUncommented) {
  // Uncommenting every key line of the rendered file (except the placeholders of derived defaults)
  // gives a valid file with the defaults.
  std::istringstream in(render_default_config());
  std::string out, line;
  bool commented_table = false;  // under "# [[mirror]]" or "# [cluster]": stays commented
  while (std::getline(in, line)) {
    size_t eq = line.find(" = ");
    if (line.rfind("# [", 0) == 0) commented_table = true;
    if (!commented_table && line.rfind("# ", 0) == 0 && eq != std::string::npos) {
      std::string name = line.substr(2, eq - 2);
      bool key = find_key(Section::broker, name) || find_key(Section::topic, name);
      // Keys whose default is derived (advertised, listeners, ...) have placeholders.
      const KeySpec* spec = find_key(Section::broker, name);
      if (key && !(spec && spec->default_value.empty())) line = line.substr(2);
    }
    out += line + "\n";
  }
  BrokerConfig c = parse_ok(out);
  BrokerConfig expected;
  for (const KeySpec& key : all_keys()) {
    if (key.section == Section::topic)
      expected.topic_defaults[std::string(key.name)] = std::string(key.default_value);
  }
  EXPECT_EQ(c, expected);
}

TEST(Generated, DocsContainRenderedReference) {
  const std::filesystem::path path = std::filesystem::path(FERRY_SOURCE_DIR) / "docs/CONFIG.md";
  const std::string begin = "<!-- BEGIN KEY REFERENCE -->\n";
  const std::string end = "<!-- END KEY REFERENCE -->";
  std::string doc = read_file(path);
  size_t b = doc.find(begin);
  size_t e = doc.find(end);
  ASSERT_NE(b, std::string::npos) << "docs/CONFIG.md lacks " << begin;
  ASSERT_NE(e, std::string::npos) << "docs/CONFIG.md lacks " << end;
  ASSERT_LT(b, e);
  b += begin.size();
  const std::string rendered = render_config_reference();
  if (update_generated()) {
    doc.replace(b, e - b, rendered);
    std::ofstream(path, std::ios::binary) << doc;
    b = doc.find(begin) + begin.size();
    e = doc.find(end);
  }
  EXPECT_EQ(doc.substr(b, e - b), rendered)
      << "docs/CONFIG.md's key reference is out of date; rerun with FERRY_UPDATE_GENERATED=1";
}

}  // namespace
}  // namespace ferry::config

namespace ferry::config {
namespace {

TEST(BrokerConfig, AuthorizerKeysAndSuperUsersAsStringOrArray) {
  BrokerConfig c =
      parse_ok("[broker]\nauthorizer.enabled = true\nsuper.users = \"User:a;User:b\"\n");
  EXPECT_TRUE(c.authorizer_enabled);
  EXPECT_EQ(c.super_users, "User:a;User:b");
  c = parse_ok("[broker]\nsuper.users = [\"User:a\", \"User:CN=x,O=y\"]\n");
  EXPECT_EQ(c.super_users, "User:a;User:CN=x,O=y");
  EXPECT_NE(parse_error("[broker]\nsuper.users = [1]\n").find("array of strings"),
            std::string::npos);
  // Other string keys still take a string only.
  EXPECT_NE(parse_error("[broker]\ndata.dir = [\"a\"]\n").find("expected a string"),
            std::string::npos);
}

}  // namespace
}  // namespace ferry::config
