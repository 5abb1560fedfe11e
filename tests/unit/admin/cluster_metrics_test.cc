// The cluster's part of /metrics: per-replica series only for the partitions this node leads,
// none for a follower it has not heard from in the epoch, link series per peer (not self).
#include <gtest/gtest.h>

#include <string>

#include "admin/admin_view.h"
#include "admin/metrics_text.h"

namespace ferry::admin {
namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ClusterMetrics, ReplicaSeriesOnlyOnTheLeader) {
  cluster::NodeView v;
  v.node_id = 2;
  v.controller = 2;
  v.leader_elections = 4;
  for (int32_t n : {1, 2, 3}) {
    cluster::LinkView l;
    l.node = n;
    l.self = n == 2;
    l.up = n == 1;
    l.bytes_sent = 10;
    v.nodes.push_back(l);
  }
  cluster::PartitionView led;
  led.topic = "t";
  led.partition = 0;
  led.leader = 2;
  led.replicas = {2, 1, 3};
  led.isr = {2, 1};
  led.role = "leader";
  led.lag = {{1, 5, 2, 40, 0, true}, {3, -1, -1, -1, 7000, false}};
  cluster::PartitionView followed = led;
  followed.partition = 1;
  followed.leader = 1;
  followed.role = "follower";
  followed.lag.clear();
  v.partitions = {led, followed};

  MetricsText m;
  write_cluster(m, v);
  const std::string text = m.take();
  EXPECT_NE(text.find("ferry_cluster_is_controller 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ferry_cluster_leader_elections_total 4\n"), std::string::npos);
  EXPECT_NE(text.find("ferry_cluster_link_up{peer=\"1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("ferry_cluster_link_up{peer=\"3\"} 0\n"), std::string::npos);
  EXPECT_EQ(text.find("ferry_cluster_link_up{peer=\"2\"}"), std::string::npos);  // self
  EXPECT_NE(text.find("ferry_cluster_under_replicated_partitions 1\n"), std::string::npos);
  EXPECT_NE(text.find("ferry_partition_under_replicated{topic=\"t\",partition=\"0\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(text.find("partition=\"1\""), std::string::npos);  // followed here: no series
  EXPECT_NE(text.find("ferry_replica_lag_records{topic=\"t\",partition=\"0\",replica=\"1\"} 2\n"),
            std::string::npos);
  // Replica 3 never fetched in the epoch: no lag in records nor fetch age, but its time behind
  // (since the epoch began) and its ISR state are there.
  EXPECT_EQ(count(text, "ferry_replica_lag_records{"), 1u);
  EXPECT_EQ(count(text, "ferry_replica_last_fetch_age_seconds{"), 1u);
  EXPECT_NE(text.find("ferry_replica_lag_seconds{topic=\"t\",partition=\"0\",replica=\"3\"} 7\n"),
            std::string::npos);
  EXPECT_NE(text.find("ferry_replica_in_sync{topic=\"t\",partition=\"0\",replica=\"3\"} 0\n"),
            std::string::npos);
  // Every family once.
  EXPECT_EQ(count(text, "# TYPE ferry_replica_lag_records "), 1u);
}

}  // namespace
}  // namespace ferry::admin
