// The [cluster] table: peers as an array or a string, defaults, the listen default, and each
// refusal with its file:line:key message.
#include "config/cluster_config.h"

#include <gtest/gtest.h>

#include "config/broker_config.h"
#include "config/keys.h"

namespace ferry::config {
namespace {

std::string parse_error(std::string_view text) {
  Result<BrokerConfig> c = parse_config(text, "ferry.toml");
  if (c.ok()) return "(parsed)";
  EXPECT_EQ(c.error().code(), Errc::invalid_argument);
  return c.error().message();
}

TEST(ClusterConfig, AbsentTableIsASingleNode) {
  Result<BrokerConfig> c = parse_config("[broker]\nnode.id = 1\n", "ferry.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_FALSE(c->cluster.has_value());
}

TEST(ClusterConfig, EveryKeyAndPeersAsArray) {
  Result<BrokerConfig> c = parse_config(R"([broker]
node.id = 2
listen = "10.0.0.2:9092"

[cluster]
peers = ["1@10.0.0.1:9093", "2@10.0.0.2:9093", "3@[fd00::3]:9093"]
listen = "0.0.0.0:9093"
election.timeout.ms = 1500
heartbeat.interval.ms = 300
replica.lag.time.max.ms = 20000
)",
                                        "ferry.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_TRUE(c->cluster.has_value());
  const ClusterConfig& k = *c->cluster;
  ASSERT_EQ(k.peers.size(), 3u);
  EXPECT_EQ(k.peers[0], (ClusterPeer{NodeId(1), "10.0.0.1", 9093}));
  EXPECT_EQ(k.peers[2], (ClusterPeer{NodeId(3), "fd00::3", 9093}));
  EXPECT_EQ(k.peers[2].address(), "[fd00::3]:9093");
  EXPECT_EQ(k.listen_host, "0.0.0.0");
  EXPECT_EQ(k.listen_port, 9093);
  EXPECT_EQ(k.election_timeout_ms, 1500);
  EXPECT_EQ(k.heartbeat_interval_ms, 300);
  EXPECT_EQ(k.replica_lag_time_max_ms, 20000);
  EXPECT_EQ(k.line, 5u);
  ASSERT_NE(k.peer(NodeId(2)), nullptr);
  EXPECT_EQ(k.peer(NodeId(2))->host, "10.0.0.2");
  EXPECT_EQ(k.peer(NodeId(4)), nullptr);
}

TEST(ClusterConfig, PeersAsStringDefaultsAndListenFromOwnEntry) {
  Result<BrokerConfig> c = parse_config(R"([broker]
node.id = 1
[cluster]
peers = "1@127.0.0.1:19093, 2@127.0.0.1:19094"
)",
                                        "ferry.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  const ClusterConfig& k = *c->cluster;
  EXPECT_EQ(k.peers.size(), 2u);
  EXPECT_EQ(k.listen_host, "127.0.0.1");
  EXPECT_EQ(k.listen_port, 19093);
  EXPECT_EQ(k.election_timeout_ms, 1000);
  EXPECT_EQ(k.heartbeat_interval_ms, 200);
  EXPECT_EQ(k.replica_lag_time_max_ms, 10000);
  // The defaults of the struct are the key table's.
  ClusterConfig defaults;
  for (const KeySpec& key : all_keys()) {
    if (key.section == Section::cluster && !key.default_value.empty()) {
      assign_cluster_field(key, key.default_value, defaults);
    }
  }
  EXPECT_EQ(defaults, ClusterConfig{});
}

TEST(ClusterConfig, OnePeerIsEnough) {
  Result<BrokerConfig> c = parse_config(
      "[broker]\nnode.id = 7\n[cluster]\npeers = [\"7@127.0.0.1:9093\"]\n", "ferry.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->cluster->peers.size(), 1u);
}

TEST(ClusterConfig, MalformedPeers) {
  const char* head = "[broker]\nnode.id = 1\n[cluster]\n";
  EXPECT_EQ(
      parse_error(std::string(head) + "peers = [\"1@127.0.0.1:9093\", \"2-127.0.0.1:9094\"]\n"),
      "ferry.toml:4: peers: \"2-127.0.0.1:9094\": expected id@host:port");
  EXPECT_EQ(parse_error(std::string(head) + "peers = \"1@127.0.0.1:9093,x@h:1\"\n"),
            "ferry.toml:4: peers: \"x@h:1\": the node id must be an integer between 0 and "
            "2147483647");
  EXPECT_EQ(parse_error(std::string(head) + "peers = \"1@127.0.0.1:9093,-2@h:1\"\n"),
            "ferry.toml:4: peers: \"-2@h:1\": the node id must be an integer between 0 and "
            "2147483647");
  EXPECT_EQ(parse_error(std::string(head) + "peers = \"1@127.0.0.1:9093,2@h\"\n"),
            "ferry.toml:4: peers: \"2@h\": expected host:port or [ipv6]:port");
  EXPECT_EQ(parse_error(std::string(head) + "peers = \"1@127.0.0.1:9093,2@h:0\"\n"),
            "ferry.toml:4: peers: \"2@h:0\": port must be between 1 and 65535");
  EXPECT_EQ(parse_error(std::string(head) + "peers = \"1@127.0.0.1:9093,2@0.0.0.0:9\"\n"),
            "ferry.toml:4: peers: \"2@0.0.0.0:9\": a wildcard address cannot be dialled");
  EXPECT_EQ(parse_error(std::string(head) + "peers = [1, 2]\n"),
            "ferry.toml:4: peers: expected a string or an array of strings, got an array");
  EXPECT_EQ(parse_error(std::string(head) + "peers = \"1@127.0.0.1:9093,,2@h:1\"\n"),
            "ferry.toml:4: peers: has an empty item (got \"1@127.0.0.1:9093,,2@h:1\")");
}

TEST(ClusterConfig, DuplicateIdsAndAddresses) {
  EXPECT_EQ(parse_error("[broker]\nnode.id = 1\n[cluster]\npeers = [\"1@a:9093\", \"2@b:9093\", "
                        "\"2@c:9093\"]\n"),
            "ferry.toml:4: peers: node id 2 is named twice");
  EXPECT_EQ(parse_error("[broker]\nnode.id = 1\n[cluster]\npeers = [\"1@a:9093\", \"2@b:9093\", "
                        "\"3@b:9093\"]\n"),
            "ferry.toml:4: peers: nodes 2 and 3 have the same address b:9093");
}

TEST(ClusterConfig, ThisNodeMissingFromPeers) {
  EXPECT_EQ(parse_error("[broker]\nnode.id = 4\n[cluster]\npeers = [\"1@a:9093\", \"2@b:9093\"]\n"),
            "ferry.toml:4: peers: this node (node.id 4) is not among the peers");
}

TEST(ClusterConfig, NoPeers) {
  EXPECT_EQ(parse_error("[broker]\nnode.id = 1\n[cluster]\npeers = []\n"),
            "ferry.toml:4: peers: must name at least one node (id@host:port)");
  EXPECT_EQ(parse_error("[broker]\nnode.id = 1\n[cluster]\npeers = \"\"\n"),
            "ferry.toml:4: peers: must name at least one node (id@host:port)");
  EXPECT_EQ(parse_error("[broker]\nnode.id = 1\n\n[cluster]\nelection.timeout.ms = 900\n"),
            "ferry.toml:4: peers: required in [cluster]: every node as id@host:port");
}

TEST(ClusterConfig, ListenPortMustBeThisNodesPeerPort) {
  EXPECT_EQ(parse_error(R"([broker]
node.id = 2
[cluster]
peers = ["1@10.0.0.1:9093", "2@10.0.0.2:9093"]
listen = "0.0.0.0:9094"
)"),
            "ferry.toml:5: listen: port 9094 differs from this node's entry in peers "
            "(2@10.0.0.2:9093): the others dial that port");
  EXPECT_EQ(parse_error("[broker]\nnode.id = 1\n[cluster]\npeers = [\"1@a:9093\"]\nlisten = "
                        "\"a\"\n"),
            "ferry.toml:5: listen: expected host:port or [ipv6]:port (got \"a\")");
}

TEST(ClusterConfig, ListenOnAKafkaListenerIsRefused) {
  EXPECT_EQ(parse_error(R"([broker]
node.id = 1
listen = "127.0.0.1:9092"
[cluster]
peers = ["1@127.0.0.1:9092", "2@127.0.0.2:9092"]
)"),
            "ferry.toml:4: listen: 127.0.0.1:9092 is also the address of the Kafka listener "
            "PLAINTEXT (127.0.0.1:9092)");
  // A wildcard on either side takes the port on every address.
  EXPECT_EQ(parse_error(R"([broker]
node.id = 1
listeners = ["PLAINTEXT://10.0.0.1:9092", "SSL://0.0.0.0:9095"]
advertised.listeners = ["SSL://gw:9095"]
ssl.certificate.location = "c.pem"
ssl.key.location = "k.pem"
[cluster]
peers = ["1@10.0.0.1:9095", "2@10.0.0.2:9095"]
listen = "10.0.0.1:9095"
)"),
            "ferry.toml:9: listen: 10.0.0.1:9095 is also the address of the Kafka listener SSL "
            "(0.0.0.0:9095)");
}

TEST(ClusterConfig, HeartbeatBelowHalfTheElectionTimeout) {
  const char* head = "[broker]\nnode.id = 1\n[cluster]\npeers = [\"1@a:9093\"]\n";
  EXPECT_EQ(parse_error(std::string(head) + "election.timeout.ms = 1000\nheartbeat.interval.ms = "
                                            "500\n"),
            "ferry.toml:6: heartbeat.interval.ms: must be below half of election.timeout.ms "
            "(1000), got 500");
  EXPECT_EQ(parse_error(std::string(head) + "election.timeout.ms = 300\n"),
            "ferry.toml:3: heartbeat.interval.ms: must be below half of election.timeout.ms "
            "(300), got 200");
  Result<BrokerConfig> ok =
      parse_config(std::string(head) + "heartbeat.interval.ms = 499\n", "ferry.toml");
  EXPECT_TRUE(ok.ok());
}

TEST(ClusterConfig, UnknownKeysTypesAndRanges) {
  const char* head = "[broker]\nnode.id = 1\n[cluster]\npeers = [\"1@a:9093\"]\n";
  EXPECT_EQ(parse_error(std::string(head) + "node.id = 3\n"),
            "ferry.toml:5: node.id: unknown key in [cluster]");
  EXPECT_EQ(parse_error(std::string(head) + "election.timeout.ms = \"1s\"\n"),
            "ferry.toml:5: election.timeout.ms: expected an integer, got a string");
  EXPECT_EQ(parse_error(std::string(head) + "replica.lag.time.max.ms = 0\n"),
            "ferry.toml:5: replica.lag.time.max.ms: must be at least 1 (got 0)");
  EXPECT_EQ(parse_error("[broker]\nnode.id = 1\ncluster = 3\n"),
            "ferry.toml:3: cluster: unknown key in [broker]");
  EXPECT_EQ(parse_error("cluster = 3\n"),
            "ferry.toml:1: cluster: expected a table, got an integer");
}

TEST(ClusterConfig, SeveralProblemsEachOnItsLine) {
  EXPECT_EQ(parse_error(R"([broker]
node.id = 9
[cluster]
peers = ["1@a:9093", "1@b:9093"]
heartbeat.interval.ms = 600
)"),
            "ferry.toml:4: peers: node id 1 is named twice\n"
            "ferry.toml:4: peers: this node (node.id 9) is not among the peers\n"
            "ferry.toml:5: heartbeat.interval.ms: must be below half of election.timeout.ms "
            "(1000), got 600");
}

}  // namespace
}  // namespace ferry::config
