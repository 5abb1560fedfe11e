// `ferry cluster status`'s logic: a node's view round-trips through its /v1/status JSON; the
// merge takes each partition from its leader (newest epoch), the lag from the leader only, the
// link states from every node, and reports the nodes that did not answer; the text fits 80
// columns and the merged JSON parses.
#include "cluster/cluster_status.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace ferry::cluster {
namespace {

PartitionView part(std::string topic, int32_t p, int32_t leader, int32_t epoch,
                   std::vector<int32_t> isr, std::string role) {
  PartitionView v;
  v.topic = std::move(topic);
  v.partition = p;
  v.leader = leader;
  v.leader_epoch = epoch;
  v.replicas = {1, 2, 3};
  v.isr = std::move(isr);
  v.role = std::move(role);
  v.high_watermark = 10;
  v.log_end = 10;
  return v;
}

NodeView node(int32_t id, int32_t controller, std::vector<int32_t> links_up) {
  NodeView v;
  v.node_id = id;
  v.controller = controller;
  v.now_ms = 1000;
  v.leader_elections = static_cast<uint64_t>(id);
  for (int32_t n : {1, 2, 3}) {
    LinkView l;
    l.node = n;
    l.address = "127.0.0.1:910" + std::to_string(n);
    l.self = n == id;
    l.up = std::find(links_up.begin(), links_up.end(), n) != links_up.end();
    l.bytes_sent = 100;
    v.nodes.push_back(l);
  }
  return v;
}

SourceResult source(const NodeView& v) {
  // Through the JSON the admin listener serves, as the CLI reads it.
  auto doc = JsonValue::parse("{\"cluster\":" + render_node_view_json(v) + "}");
  EXPECT_TRUE(doc.ok());
  SourceResult s;
  s.admin = "127.0.0.1:800" + std::to_string(v.node_id);
  s.view = parse_node_view((*doc)["cluster"]);
  EXPECT_TRUE(s.view.ok()) << s.view.error().message();
  return s;
}

TEST(ClusterStatus, NodeViewRoundTripsThroughJson) {
  NodeView v = node(2, 1, {1});
  PartitionView p = part("t", 0, 2, 7, {2, 3}, "leader");
  p.offline = {1};
  p.lag = {{1, -1, -1, -1, 5000, false}, {3, 9, 1, 12, 40, true}};
  v.partitions = {part("__cluster_metadata", 0, 1, 3, {1, 2, 3}, "follower"), p,
                  part("u", 1, -1, -1, {}, "")};
  auto doc = JsonValue::parse(render_node_view_json(v));
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  EXPECT_EQ((*doc)["under_replicated_led"].as_int(), 1);
  EXPECT_TRUE((*doc)["partitions"].items()[2]["leader"].is_null());
  EXPECT_TRUE((*doc)["partitions"].items()[0]["lag"].is_null());  // lag only on the leader
  auto back = parse_node_view(*doc);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->node_id, 2);
  EXPECT_EQ(back->controller, 1);
  EXPECT_EQ(back->leader_elections, 2u);
  ASSERT_EQ(back->nodes.size(), 3u);
  EXPECT_TRUE(back->nodes[1].self);
  EXPECT_TRUE(back->nodes[0].up);
  EXPECT_FALSE(back->nodes[2].up);
  EXPECT_EQ(back->nodes[0].bytes_sent, 100u);
  ASSERT_EQ(back->partitions.size(), 3u);
  EXPECT_EQ(back->partitions[1], p);
  EXPECT_EQ(back->partitions[2].leader, -1);
  EXPECT_EQ(back->partitions[2].role, "");
}

TEST(ClusterStatus, RefusesAStatusWithoutCluster) {
  auto doc = JsonValue::parse(R"({"cluster":null})");
  ASSERT_TRUE(doc.ok());
  EXPECT_FALSE(parse_node_view((*doc)["cluster"]).ok());
}

TEST(ClusterStatus, MergeTakesEachPartitionFromItsLeader) {
  NodeView n1 = node(1, 1, {2});
  NodeView n2 = node(2, 1, {1});
  // t-0 led by 2 in epoch 5; node 1 still believes an older epoch led by 3.
  PartitionView t0_leader = part("t", 0, 2, 5, {1, 2}, "leader");
  t0_leader.offline = {3};
  t0_leader.lag = {{1, 10, 0, 3, 3, true}, {3, -1, -1, -1, 9000, false}};
  n1.partitions = {part("__cluster_metadata", 0, 1, 2, {1, 2}, "leader"),
                   part("t", 0, 3, 4, {1, 2, 3}, "follower"),
                   part("t", 1, 1, 6, {1, 2, 3}, "leader")};
  n1.partitions[0].lag = {{2, 10, 0, 1, 1, true}, {3, -1, -1, -1, 9000, false}};
  n2.partitions = {part("__cluster_metadata", 0, 1, 2, {1, 2}, "follower"), t0_leader,
                   part("t", 1, 1, 6, {1, 2}, "follower")};
  SourceResult dead;
  dead.admin = "127.0.0.1:8003";
  dead.view = Error(Errc::io, "Connection refused");
  // Node 2 answers first: the order of the sources does not decide.
  const MergedStatus m = merge_views({source(n2), dead, source(n1)});

  ASSERT_EQ(m.sources.size(), 3u);
  EXPECT_EQ(m.sources[0].node, 2);
  EXPECT_EQ(m.sources[1].node, -1);
  EXPECT_EQ(m.sources[1].error, "Connection refused");
  EXPECT_EQ(m.controller, 1);
  EXPECT_EQ(m.controller_source, 1);

  ASSERT_EQ(m.partitions.size(), 3u);
  EXPECT_EQ(m.partitions[0].view.topic, "__cluster_metadata");
  EXPECT_EQ(m.partitions[0].source, 1);
  EXPECT_EQ(m.partitions[1].view.topic, "t");
  EXPECT_EQ(m.partitions[1].view.partition, 0);
  EXPECT_EQ(m.partitions[1].source, 2);  // the leader's view, not node 1's stale one
  EXPECT_EQ(m.partitions[1].view.leader_epoch, 5);
  EXPECT_EQ(m.partitions[1].view.offline, std::vector<int32_t>{3});
  EXPECT_EQ(m.partitions[1].view.lag.size(), 2u);
  // t-1: node 1 leads and says ISR is full; node 2's older word does not win.
  EXPECT_EQ(m.partitions[2].source, 1);
  EXPECT_EQ(m.partitions[2].view.isr.size(), 3u);
  EXPECT_EQ(m.under_replicated, 2);  // the metadata log and t-0
  EXPECT_EQ(m.leaderless, 0);

  ASSERT_EQ(m.nodes.size(), 3u);
  EXPECT_TRUE(m.nodes[0].answered);
  EXPECT_TRUE(m.nodes[0].controller);
  EXPECT_EQ(m.nodes[0].admin, "127.0.0.1:8001");
  EXPECT_EQ(m.nodes[0].link_up_from, std::vector<int32_t>{2});
  EXPECT_FALSE(m.nodes[2].answered);
  EXPECT_TRUE(m.nodes[2].link_up_from.empty());
  EXPECT_EQ(m.nodes[2].link_down_from, (std::vector<int32_t>{1, 2}));

  // The merged JSON parses and says the same.
  auto doc = JsonValue::parse(render_merged_json(m));
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  EXPECT_EQ((*doc)["controller"].as_int(), 1);
  EXPECT_EQ((*doc)["under_replicated"]["count"].as_int(), 2);
  EXPECT_EQ((*doc)["under_replicated"]["partitions"].items()[1]["topic"].as_string(), "t");
  EXPECT_EQ((*doc)["partitions"].items()[1]["source"].as_int(), 2);
  EXPECT_FALSE((*doc)["nodes"].items()[2]["reachable"].as_bool(true));
  EXPECT_TRUE((*doc)["nodes"].items()[0]["reachable"].as_bool(false));
  EXPECT_EQ((*doc)["sources"].items()[1]["error"].as_string(), "Connection refused");

  // The table fits an 80-column terminal and names what is wrong.
  const std::string text = render_merged_text(m);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("no answer from", 0) == 0) continue;  // the error text is the OS's
    EXPECT_LE(line.size(), 80u) << line;
  }
  EXPECT_NE(text.find("under-replicated partitions: 2 (__cluster_metadata-0, t-0)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("no answer from 127.0.0.1:8003"), std::string::npos);
  // t-0's row: leader 2 in epoch 5, ISR 1,2, replica 3 offline, from node 2.
  EXPECT_NE(
      text.find("t-0                    2      5     1,2,3   1,2     3       2    under-repl"),
      std::string::npos)
      << text;
}

TEST(ClusterStatus, TextWrapsLongListsAt80Columns) {
  NodeView n = node(1, 1, {});
  for (int32_t i = 0; i < 30; ++i) {
    n.partitions.push_back(part("a-rather-long-topic-name-for-sensors", i, 1, 1, {1}, "leader"));
  }
  const std::string text = render_merged_text(merge_views({source(n)}));
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 80u) << line;
  for (int32_t i = 0; i < 30; ++i) {
    const std::string name = "a-rather-long-topic-name-for-sensors-" + std::to_string(i);
    EXPECT_NE(text.find(name + ",") == std::string::npos ? text.find(name + ")") : 0,
              std::string::npos)
        << name;
  }
  EXPECT_NE(text.find("under-replicated partitions: 30"), std::string::npos);
}

TEST(ClusterStatus, NoAnswerAtAllGivesAnEmptyPicture) {
  SourceResult dead;
  dead.admin = "127.0.0.1:1";
  dead.view = Error(Errc::io, "refused");
  const MergedStatus m = merge_views({dead});
  EXPECT_EQ(m.controller, -1);
  EXPECT_TRUE(m.partitions.empty());
  EXPECT_TRUE(JsonValue::parse(render_merged_json(m)).ok());
  EXPECT_EQ(render_merged_text(m), "no answer from 127.0.0.1:1: refused\n");
}

}  // namespace
}  // namespace ferry::cluster
