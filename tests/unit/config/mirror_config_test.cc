// [[mirror]] sections: parsing, defaults, the checks across keys, topic matching and the target
// topic template.
#include "config/mirror_config.h"

#include <gtest/gtest.h>

#include "config/broker_config.h"
#include "config/keys.h"

namespace ferry::config {
namespace {

std::string parse_error(std::string_view text) {
  Result<BrokerConfig> c = parse_config(text, "ferry.toml");
  EXPECT_FALSE(c.ok());
  return c.ok() ? std::string() : c.error().message();
}

TEST(MirrorConfig, TwoSectionsWithEveryKey) {
  Result<BrokerConfig> c = parse_config(R"([broker]
node.id = 3

[[mirror]]
name = "central"
bootstrap.servers = ["k1:9092", "k2:9092"]
topics = ["sensors\\..*", "alarms"]
"topics.exclude" = ["sensors\\.debug"]
target.topic = "site{node}.{topic}"
target.topics.create = false
target.replication.factor = 3
auto.offset.reset = "latest"
security.protocol = "SASL_PLAINTEXT"
sasl.mechanism = "SCRAM-SHA-512"
sasl.username = "gw"
"sasl.password.file" = "/etc/ferry/pw"
batch.size = 65536
linger.ms = 20
max.in.flight.requests.per.connection = 2
reconnect.backoff.ms = 50
reconnect.backoff.max.ms = 5000
request.timeout.ms = 1000
enabled = false

[[mirror]]
name = "backup"
bootstrap.servers = "b:9093"
topics = ".*"
)",
                                        "ferry.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_EQ(c->mirrors.size(), 2u);
  const MirrorConfig& m = c->mirrors[0];
  EXPECT_EQ(m.name, "central");
  EXPECT_EQ(m.bootstrap_servers, (std::vector<std::string>{"k1:9092", "k2:9092"}));
  EXPECT_EQ(m.topics, (std::vector<std::string>{"sensors\\..*", "alarms"}));
  EXPECT_EQ(m.topics_exclude, (std::vector<std::string>{"sensors\\.debug"}));
  EXPECT_EQ(m.target_topic, "site{node}.{topic}");
  EXPECT_FALSE(m.create_target_topics);
  EXPECT_EQ(m.target_replication_factor, 3);
  EXPECT_EQ(m.start_position, "latest");
  EXPECT_EQ(m.security_protocol, "SASL_PLAINTEXT");
  EXPECT_EQ(m.sasl_mechanism, "SCRAM-SHA-512");
  EXPECT_EQ(m.sasl_password_file, "/etc/ferry/pw");
  EXPECT_EQ(m.batch_size, 65536);
  EXPECT_EQ(m.linger_ms, 20);
  EXPECT_EQ(m.max_in_flight, 2);
  EXPECT_EQ(m.reconnect_backoff_ms, 50);
  EXPECT_EQ(m.reconnect_backoff_max_ms, 5000);
  EXPECT_EQ(m.request_timeout_ms, 1000);
  EXPECT_FALSE(m.enabled);
  EXPECT_TRUE(mirror_matches(m, "sensors.temp"));
  EXPECT_FALSE(mirror_matches(m, "sensors.debug"));
  EXPECT_FALSE(mirror_matches(m, "xsensors.temp"));  // whole-name match
  EXPECT_TRUE(mirror_matches(m, "alarms"));
  EXPECT_EQ(target_topic_name(m, "alarms", 3), "site3.alarms");

  const MirrorConfig& d = c->mirrors[1];  // defaults
  EXPECT_EQ(d.bootstrap_servers, (std::vector<std::string>{"b:9093"}));
  EXPECT_EQ(d.target_topic, "{topic}");
  EXPECT_TRUE(d.create_target_topics);
  EXPECT_EQ(d.target_replication_factor, -1);
  EXPECT_EQ(d.start_position, "earliest");
  EXPECT_EQ(d.max_in_flight, 5);
  EXPECT_TRUE(d.enabled);
  EXPECT_FALSE(mirror_matches(d, "__consumer_offsets"));
  EXPECT_EQ(target_topic_name(d, "t", 0), "t");
}

TEST(MirrorConfig, BadValuesNamedWithLineAndKey) {
  EXPECT_EQ(parse_error("[[mirror]]\nname = \"a\"\nbootstrap.servers = \"k:1\"\n"
                        "topics = [\"(\"]\n")
                .substr(0, 26),
            "ferry.toml:4: topics: \"(\" ");
  EXPECT_EQ(parse_error("[[mirror]]\nname = \"a\"\nbootstrap.servers = \"k:1\"\ntopics = \"t\"\n"
                        "target.topic = \"x.{site}\"\n"),
            "ferry.toml:5: target.topic: unknown placeholder {site}; use {topic}, {node}, "
            "{mirror}");
  EXPECT_EQ(parse_error("[[mirror]]\nname = \"a\"\nbootstrap.servers = \"k:1\"\ntopics = \"t\"\n"
                        "target.topic = \"all\"\n"),
            "ferry.toml:5: target.topic: must contain {topic}, so that each source topic has its "
            "own target");
  EXPECT_EQ(parse_error("[[mirror]]\nname = \"a\"\nbootstrap.servers = \"k:1\"\ntopics = \"t\"\n"
                        "max.in.flight.requests.per.connection = 6\n"),
            "ferry.toml:5: max.in.flight.requests.per.connection: must be between 1 and 5 (got 6)");
  EXPECT_EQ(parse_error("[[mirror]]\nname = \"a\"\nbootstrap.servers = \"k:1\"\ntopics = \"t\"\n"
                        "security.protocol = \"PLAINTEXT\"\nssl.ca.location = \"ca.pem\"\n"),
            "ferry.toml:5: security.protocol: ssl.* keys are set but security.protocol is "
            "PLAINTEXT; use SSL or SASL_SSL");
  EXPECT_EQ(parse_error("[[mirror]]\nname = \"a\"\nbootstrap.servers = \"k\"\ntopics = \"t\"\n"),
            "ferry.toml:3: bootstrap.servers: expected host:port or [ipv6]:port (got \"k\")");
  EXPECT_EQ(parse_error("[[mirror]]\nbootstrap.servers = \"k:1\"\ntopics = \"t\"\n"),
            "ferry.toml:1: name: required: every [[mirror]] section needs a name");
  EXPECT_EQ(parse_error("[[mirror]]\nname = \"a\"\ntopics = \"t\"\nbogus = 1\n"),
            "ferry.toml:1: bootstrap.servers: required: the central cluster's host:port list\n"
            "ferry.toml:4: bogus: unknown key in [[mirror]]");
  EXPECT_EQ(parse_error("[[mirror]]\nname = \"a\"\nbootstrap.servers = \"k:1\"\ntopics = \"t\"\n"
                        "security.protocol = \"SASL_PLAINTEXT\"\nsasl.username = \"u\"\n"),
            "ferry.toml:1: sasl.password: set exactly one of sasl.password and "
            "sasl.password.file with security.protocol SASL_PLAINTEXT");
  EXPECT_EQ(parse_error("[[mirror]]\nname = \"a\"\nbootstrap.servers = \"k:1\"\ntopics = \"t\"\n"
                        "[[mirror]]\nname = \"a\"\nbootstrap.servers = \"k:1\"\ntopics = \"t\"\n"),
            "ferry.toml:6: name: mirror \"a\" is named twice (first at line 1)");
  EXPECT_EQ(parse_error("[[mirror]]\nname = \"a\"\nbootstrap.servers = \"k:1\"\ntopics = \"t\"\n"
                        "reconnect.backoff.ms = 500\nreconnect.backoff.max.ms = 100\n"),
            "ferry.toml:6: reconnect.backoff.max.ms: must be at least reconnect.backoff.ms (500)");
  EXPECT_EQ(parse_error("[mirror]\nname = \"a\"\n"),
            "ferry.toml:1: mirror: expected [[mirror]] sections (an array of tables)");
}

TEST(MirrorConfig, BandwidthCapAndPriorities) {
  Result<BrokerConfig> c = parse_config(R"([[mirror]]
name = "a"
bootstrap.servers = "k:1"
topics = ".*"
bandwidth.bytes.per.second = 500000
priorities = ["alarms\\..*=10", "debug=-1", "(?=x)x.*=3", "alarms\\.low=1"]
)",
                                        "ferry.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  const MirrorConfig& m = c->mirrors[0];
  EXPECT_EQ(m.bandwidth_bytes_per_second, 500000);
  EXPECT_EQ(topic_priority(m, "alarms.fire"), 10);
  EXPECT_EQ(topic_priority(m, "alarms.low"), 10);  // the first matching item wins
  EXPECT_EQ(topic_priority(m, "debug"), -1);
  EXPECT_EQ(topic_priority(m, "debugx"), 0);  // whole-name match
  EXPECT_EQ(topic_priority(m, "xyz"), 3);     // '=' inside the pattern: split at the last one
  EXPECT_EQ(topic_priority(m, "sensors"), 0);

  Result<BrokerConfig> d = parse_config(
      "[[mirror]]\nname = \"a\"\nbootstrap.servers = \"k:1\"\n"
      "topics = \"t\"\n",
      "ferry.toml");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->mirrors[0].bandwidth_bytes_per_second, 0);  // unlimited
  EXPECT_TRUE(d->mirrors[0].priorities.empty());
  EXPECT_EQ(topic_priority(d->mirrors[0], "t"), 0);

  const std::string head =
      "[[mirror]]\nname = \"a\"\nbootstrap.servers = \"k:1\"\ntopics = \"t\"\n";
  EXPECT_EQ(parse_error(head + "bandwidth.bytes.per.second = -1\n"),
            "ferry.toml:5: bandwidth.bytes.per.second: must be between 0 and 1000000000000 (got "
            "-1)");
  EXPECT_EQ(parse_error(head + "priorities = [\"a=1\", \"b\"]\n"),
            "ferry.toml:5: priorities: \"b\" is not REGEX=N (a regular expression, '=', an "
            "integer)");
  EXPECT_EQ(parse_error(head + "\npriorities = \"a=high\"\n"),
            "ferry.toml:6: priorities: \"a=high\" is not REGEX=N (a regular expression, '=', an "
            "integer)");
  EXPECT_EQ(parse_error(head + "priorities = \"=1\"\n"),
            "ferry.toml:5: priorities: \"=1\" is not REGEX=N (a regular expression, '=', an "
            "integer)");
  EXPECT_EQ(parse_error(head + "priorities = \"(a=1\"\n").substr(0, 40),
            "ferry.toml:5: priorities: \"(a=1\" is not ");
  EXPECT_EQ(parse_error(head + "priorities = \"a=99999999999\"\n").substr(0, 48),
            "ferry.toml:5: priorities: \"a=99999999999\" is not");
}

TEST(MirrorConfig, LivenessKeys) {
  const std::string head =
      "[[mirror]]\nname = \"a\"\nbootstrap.servers = \"k:1\"\ntopics = \"t\"\n";
  Result<BrokerConfig> c = parse_config(head + R"(heartbeats.interval.ms = 0
heartbeats.topic = "site.beats"
watchdog.timeout.ms = 2500
reconnect.backoff.jitter = 0.5
target.lost.policy = "resend"
)",
                                        "ferry.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  const MirrorConfig& m = c->mirrors[0];
  EXPECT_EQ(m.heartbeats_interval_ms, 0);
  EXPECT_EQ(m.heartbeats_topic, "site.beats");
  EXPECT_EQ(m.watchdog_timeout_ms, 2500);
  EXPECT_DOUBLE_EQ(m.reconnect_backoff_jitter, 0.5);
  EXPECT_EQ(m.target_lost_policy, "resend");

  Result<BrokerConfig> d = parse_config(head + "reconnect.backoff.jitter = 1\n", "ferry.toml");
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_DOUBLE_EQ(d->mirrors[0].reconnect_backoff_jitter, 1.0);
  Result<BrokerConfig> defaults = parse_config(head, "ferry.toml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->mirrors[0].heartbeats_interval_ms, 5000);
  EXPECT_EQ(defaults->mirrors[0].heartbeats_topic, "ferry.heartbeats");
  EXPECT_EQ(defaults->mirrors[0].watchdog_timeout_ms, 15000);
  EXPECT_DOUBLE_EQ(defaults->mirrors[0].reconnect_backoff_jitter, 0.2);
  EXPECT_EQ(defaults->mirrors[0].target_lost_policy, "stop");

  EXPECT_EQ(parse_error(head + "reconnect.backoff.jitter = 1.5\n"),
            "ferry.toml:5: reconnect.backoff.jitter: must be a number between 0 and 1 (got 1.5)");
  EXPECT_EQ(parse_error(head + "reconnect.backoff.jitter = \"0.2\"\n"),
            "ferry.toml:5: reconnect.backoff.jitter: expected a number, got a string");
  EXPECT_EQ(parse_error(head + "watchdog.timeout.ms = -1\n"),
            "ferry.toml:5: watchdog.timeout.ms: must be at least 0 (got -1)");
  EXPECT_EQ(parse_error(head + "heartbeats.interval.ms = -5\n"),
            "ferry.toml:5: heartbeats.interval.ms: must be at least 0 (got -5)");
  EXPECT_EQ(parse_error(head + "target.lost.policy = \"ignore\"\n"),
            "ferry.toml:5: target.lost.policy: must be one of: stop, resend (got \"ignore\")");
  EXPECT_EQ(parse_error(head + "heartbeats.topic = \"a b\"\n"),
            "ferry.toml:5: heartbeats.topic: not a valid topic name (letters, digits, '.', '_', "
            "'-'; got \"a b\")");
}

TEST(MirrorConfig, EveryMirrorKeyDefaultIsValid) {
  size_t n = 0;
  for (const KeySpec& key : all_keys()) {
    if (key.section != Section::mirror || key.default_value.empty()) continue;
    ++n;
    EXPECT_EQ(check_value(key, key.default_value), std::nullopt) << key.name;
  }
  EXPECT_GT(n, 10u);
}

}  // namespace
}  // namespace ferry::config
