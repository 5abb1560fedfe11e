// The metadata log's records and the link's non-Raft payloads: round trips, and malformed input
// refused (never a crash).
#include "cluster/metadata_records.h"

#include <gtest/gtest.h>

#include "cluster/cluster_codec.h"
#include "cluster/raft_state_store.h"
#include "protocol/record_batch.h"

namespace ferry::cluster {
namespace {

std::vector<std::byte> batch_of(const MetadataCommand& c) {
  auto b = encode_command_batch(c, 1234);
  EXPECT_TRUE(b.ok());
  return b.ok() ? std::move(b).value() : std::vector<std::byte>{};
}

TEST(MetadataRecords, EveryCommandRoundTrips) {
  CreateTopicCommand create;
  create.record.name = "sensors";
  create.record.topic_id = "AAAAAAAAAAAAAAAAAAAAAA";
  create.record.partitions = 2;
  create.record.created_ms = 99;
  create.record.configs = {{"cleanup.policy", "compact"}, {"retention.ms", "1000"}};
  create.assignment = {{NodeId(1), NodeId(2)}, {NodeId(2), NodeId(3)}};
  AlterConfigsCommand alter{"sensors", true, {{"retention.ms", "5"}}, {"cleanup.policy"}};
  CreatePartitionsCommand grow{"sensors", 3, {{NodeId(3), NodeId(1)}}};
  DeleteTopicCommand del{"sensors"};
  for (const MetadataCommand& c : std::vector<MetadataCommand>{create, alter, grow, del}) {
    auto decoded = decode_command_batch(batch_of(c));
    ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
    ASSERT_EQ(decoded->size(), 1u);
    ASSERT_EQ((*decoded)[0].index(), c.index());
  }
  auto d = decode_command_batch(batch_of(create));
  const auto& got = std::get<CreateTopicCommand>((*d)[0]);
  EXPECT_EQ(got.record, create.record);
  EXPECT_EQ(got.assignment, create.assignment);
  auto a = decode_command_batch(batch_of(alter));
  const auto& ga = std::get<AlterConfigsCommand>((*a)[0]);
  EXPECT_TRUE(ga.replace_all);
  EXPECT_EQ(ga.set, alter.set);
  EXPECT_EQ(ga.remove, alter.remove);
}

TEST(MetadataRecords, GroupCommandsRoundTrip) {
  CommitOffsetsCommand commit{"readers",
                              {{"sensors", PartitionId(0), Offset(42), LeaderEpoch(3), "m", 1000},
                               {"sensors", PartitionId(7), Offset(0), LeaderEpoch(-1), "", 5}}};
  auto c = decode_command_batch(batch_of(commit));
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  ASSERT_EQ(c->size(), 1u);
  const auto& gc = std::get<CommitOffsetsCommand>((*c)[0]);
  EXPECT_EQ(gc.group, "readers");
  EXPECT_EQ(gc.offsets, commit.offsets);

  DeleteOffsetsCommand dels{"readers", {{"sensors", PartitionId(7)}, {"other", PartitionId(0)}}};
  auto d = decode_command_batch(batch_of(dels));
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  const auto& gd = std::get<DeleteOffsetsCommand>((*d)[0]);
  EXPECT_EQ(gd.group, "readers");
  EXPECT_EQ(gd.partitions, dels.partitions);

  auto g = decode_command_batch(batch_of(DeleteGroupCommand{"readers"}));
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(std::get<DeleteGroupCommand>((*g)[0]).group, "readers");

  auto id = decode_command_batch(batch_of(ClusterIdCommand{"oWEm3BAcSWCuNxUCz4qN_g"}));
  ASSERT_TRUE(id.ok()) << id.error().to_string();
  EXPECT_EQ(std::get<ClusterIdCommand>((*id)[0]).cluster_id, "oWEm3BAcSWCuNxUCz4qN_g");

  // Every cut of a commit's value is refused, never read past its end.
  auto full = batch_of(commit);
  const protocol::BatchView view(full);
  std::vector<std::byte> scratch;
  auto records = protocol::decode_records(view, scratch);
  ASSERT_TRUE(records.ok());
  const auto& value = *(*records)[0].value;
  for (size_t n = 0; n < value.size(); ++n) {
    protocol::RecordInput r;
    r.key = "commit_offsets";
    r.value = std::string_view(reinterpret_cast<const char*>(value.data()), n);
    auto b = protocol::build_batch(std::span<const protocol::RecordInput>(&r, 1), {});
    ASSERT_TRUE(b.ok());
    EXPECT_FALSE(decode_command_batch(*b).ok()) << "a value cut to " << n << " bytes";
  }
}

TEST(MetadataRecords, AGroupStateRoundTripsAndEveryTruncationIsRefused) {
  GroupStateCommand state;
  state.group = "readers";
  state.snapshot.generation = 12;
  state.snapshot.protocol_type = "consumer";
  state.snapshot.protocol = "range";
  state.snapshot.leader = "a-1";
  auto b = [](std::string_view s) {
    return protocol::Bytes(reinterpret_cast<const std::byte*>(s.data()),
                           reinterpret_cast<const std::byte*>(s.data()) + s.size());
  };
  state.snapshot.members.push_back(
      {"a-1", std::nullopt, "client-a", "/10.0.0.1", 10000, 300000, b("md-a"), b("as-a")});
  state.snapshot.members.push_back(
      {"b-2", "static-b", "client-b", "/10.0.0.2", 45000, 60000, b("md-b"), {}});
  auto d = decode_command_batch(batch_of(state));
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  ASSERT_EQ(d->size(), 1u);
  const auto& got = std::get<GroupStateCommand>((*d)[0]);
  EXPECT_EQ(got.group, "readers");
  EXPECT_EQ(got.snapshot, state.snapshot);

  // An emptied group: no members, the generation kept.
  GroupStateCommand empty{"readers", {}};
  empty.snapshot.generation = 13;
  empty.snapshot.protocol_type = "consumer";
  auto e = decode_command_batch(batch_of(empty));
  ASSERT_TRUE(e.ok()) << e.error().to_string();
  EXPECT_EQ(std::get<GroupStateCommand>((*e)[0]).snapshot, empty.snapshot);

  // Every cut of the record's value, and of the snapshot alone, is refused.
  auto full = batch_of(state);
  const protocol::BatchView view(full);
  std::vector<std::byte> scratch;
  auto records = protocol::decode_records(view, scratch);
  ASSERT_TRUE(records.ok());
  const std::vector<std::byte> value((*records)[0].value->begin(), (*records)[0].value->end());
  for (size_t n = 0; n < value.size(); ++n) {
    protocol::RecordInput r;
    r.key = "group_state";
    r.value = std::string_view(reinterpret_cast<const char*>(value.data()), n);
    auto cut = protocol::build_batch(std::span<const protocol::RecordInput>(&r, 1), {});
    ASSERT_TRUE(cut.ok());
    EXPECT_FALSE(decode_command_batch(*cut).ok()) << "a value cut to " << n << " bytes";
  }
  const auto encoded = broker::encode_group_snapshot(state.snapshot);
  ASSERT_TRUE(broker::decode_group_snapshot(encoded).ok());
  for (size_t n = 0; n < encoded.size(); ++n) {
    auto s = broker::decode_group_snapshot(std::span<const std::byte>(encoded.data(), n));
    ASSERT_FALSE(s.ok()) << "a snapshot cut to " << n << " bytes";
    EXPECT_EQ(s.error().code(), Errc::corrupt);
  }
  auto longer = encoded;
  longer.push_back(std::byte{0});
  EXPECT_FALSE(broker::decode_group_snapshot(longer).ok()) << "trailing bytes";
  auto newer = encoded;
  newer[0] = std::byte{2};
  auto v = broker::decode_group_snapshot(newer);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code(), Errc::unsupported);
}

TEST(MetadataRecords, AnEpochStartBatchHoldsNoCommand) {
  auto d = decode_command_batch(protocol::build_epoch_start_batch(LeaderEpoch(3), 5));
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_TRUE(d->empty());
}

TEST(MetadataRecords, ATruncatedValueIsRefused) {
  // A create_topic whose value lost its last bytes: rebuilt by hand with a short value.
  protocol::RecordInput r;
  r.key = "create_topic";
  std::string value(
      "\x01\x00\x03"
      "abc",
      6);  // version, name, then nothing
  r.value = value;
  auto b = protocol::build_batch(std::span<const protocol::RecordInput>(&r, 1), {});
  ASSERT_TRUE(b.ok());
  auto d = decode_command_batch(*b);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code(), Errc::corrupt);
  r.key = "rename_topic";  // a command this build does not know
  auto u = protocol::build_batch(std::span<const protocol::RecordInput>(&r, 1), {});
  ASSERT_FALSE(decode_command_batch(*u).ok());
}

TEST(ClusterCodec, PayloadsRoundTripAndEveryTruncationIsRefused) {
  std::vector<LeaderInfo> leaders{
      {GroupId{"t", PartitionId(2)}, LeaderEpoch(7), NodeId(3), {NodeId(3), NodeId(1)}}};
  NodeInfo info{NodeId(2), {{"PLAINTEXT", "10.0.0.2", 9092}, {"SASL_SSL", "gw2", 9093}}};
  ProposalAnswer answer{41, "not the controller", Offset(77)};
  const std::vector<std::byte> batch(40, std::byte{7});
  auto l = decode_leaders(encode_leaders(leaders));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ((*l)[0].group, leaders[0].group);
  EXPECT_EQ((*l)[0].isr, leaders[0].isr);
  EXPECT_EQ((*l)[0].epoch, LeaderEpoch(7));
  auto n = decode_node_info(encode_node_info(info));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->listeners.size(), 2u);
  EXPECT_EQ(n->listeners[1].host, "gw2");
  EXPECT_EQ(*decode_auto_create(encode_auto_create("orders")), "orders");
  EXPECT_EQ(*decode_proposal(encode_proposal(batch)), batch);
  auto a = decode_proposal_answer(encode_proposal_answer(answer));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->end, Offset(77));
  EXPECT_EQ(a->message, answer.message);
  // Every proper prefix, and one trailing byte, is refused.
  const std::vector<Buffer> all{encode_leaders(leaders), encode_node_info(info),
                                encode_auto_create("orders"), encode_proposal(batch),
                                encode_proposal_answer(answer)};
  for (size_t k = 0; k < all.size(); ++k) {
    const Buffer& full = all[k];
    auto decode = [k](std::span<const std::byte> b) {
      switch (k) {
        case 0: return decode_leaders(b).ok();
        case 1: return decode_node_info(b).ok();
        case 2: return decode_auto_create(b).ok();
        case 3: return decode_proposal(b).ok();
        default: return decode_proposal_answer(b).ok();
      }
    };
    for (size_t cut = 0; cut < full.size(); ++cut) {
      EXPECT_FALSE(decode(std::span<const std::byte>(full.data(), cut))) << k << " at " << cut;
    }
    Buffer longer = full;
    longer.push_back(std::byte{0});
    EXPECT_FALSE(decode(longer)) << k;
  }
}

TEST(RaftStateStore, NodeListsParseAndRefuseJunk) {
  EXPECT_EQ(*parse_nodes("1,2,3"), (std::vector<NodeId>{NodeId(1), NodeId(2), NodeId(3)}));
  EXPECT_EQ(format_nodes({NodeId(4), NodeId(0)}), "4,0");
  EXPECT_FALSE(parse_nodes("1,,2").ok());
  EXPECT_FALSE(parse_nodes("1;2").ok());
  EXPECT_FALSE(parse_nodes("-1").ok());
}

}  // namespace
}  // namespace ferry::cluster
