// The Raft payloads of the node-to-node link: every message round-trips, and truncated, padded,
// mutated or random input is an error value, never a crash. Also the hello and frame header.
#include "cluster/raft_codec.h"

#include <gtest/gtest.h>

#include <array>
#include <random>

#include "cluster/peer_wire.h"
#include "common/bytes.h"

namespace ferry::cluster {
namespace {

// raft_messages.h has no comparisons; field by field here.
bool same(const RaftMessage& a, const RaftMessage& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<VoteRequest>(&a)) {
    const auto& y = std::get<VoteRequest>(b);
    return x->epoch == y.epoch && x->candidate == y.candidate && x->last_epoch == y.last_epoch &&
           x->end_offset == y.end_offset && x->pre_vote == y.pre_vote && x->transfer == y.transfer;
  }
  if (const auto* x = std::get_if<VoteResponse>(&a)) {
    const auto& y = std::get<VoteResponse>(b);
    return x->epoch == y.epoch && x->voter == y.voter && x->granted == y.granted &&
           x->pre_vote == y.pre_vote;
  }
  if (const auto* x = std::get_if<BeginEpoch>(&a)) {
    const auto& y = std::get<BeginEpoch>(b);
    return x->epoch == y.epoch && x->leader == y.leader;
  }
  const auto& x = std::get<TimeoutNow>(a);
  const auto& y = std::get<TimeoutNow>(b);
  return x.epoch == y.epoch && x.leader == y.leader;
}

bool same(const FetchPosition& a, const FetchPosition& b) {
  return a.epoch == b.epoch && a.replica == b.replica && a.fetch_offset == b.fetch_offset &&
         a.last_fetched_epoch == b.last_fetched_epoch && a.durable_offset == b.durable_offset;
}

bool same(const FetchAnswer& a, const FetchAnswer& b) {
  return a.status == b.status && a.epoch == b.epoch && a.leader == b.leader &&
         a.diverging == b.diverging && a.high_watermark == b.high_watermark &&
         a.log_start_offset == b.log_start_offset;
}

VoteFrame sample_votes() {
  VoteFrame f;
  f.messages.push_back({metadata_group(), VoteRequest{LeaderEpoch(7), NodeId(1), LeaderEpoch(6),
                                                      Offset(1234567890123), true, false}});
  f.messages.push_back({GroupId{"sensors", PartitionId(3)},
                        VoteRequest{LeaderEpoch(8), NodeId(2), kNoEpoch, Offset(0), false, true}});
  f.messages.push_back(
      {GroupId{"sensors", PartitionId(4)}, VoteResponse{LeaderEpoch(9), NodeId(3), true, true}});
  f.messages.push_back(
      {GroupId{"a", PartitionId(0)}, VoteResponse{LeaderEpoch(2), NodeId(3), false, false}});
  f.messages.push_back({GroupId{std::string(249, 't'), PartitionId(2147483647)},
                        BeginEpoch{LeaderEpoch(10), NodeId(2)}});
  f.messages.push_back(
      {GroupId{"alarms", PartitionId(1)}, TimeoutNow{LeaderEpoch(2147483647), NodeId(1)}});
  return f;
}

FetchRequest sample_fetch() {
  FetchRequest r;
  r.replica = NodeId(3);
  r.max_wait_ms = 200;
  r.fetches.push_back({metadata_group(), FetchPosition{LeaderEpoch(4), NodeId(3), Offset(100),
                                                       LeaderEpoch(3), Offset(90)}});
  r.fetches.push_back({GroupId{"sensors", PartitionId(0)},
                       FetchPosition{LeaderEpoch(1), NodeId(3), Offset(0), kNoEpoch, Offset(0)}});
  return r;
}

FetchResponse sample_answers() {
  FetchResponse r;
  GroupAnswer data{
      GroupId{"sensors", PartitionId(0)},
      FetchAnswer{FetchStatus::ok, LeaderEpoch(1), NodeId(1), std::nullopt, Offset(77), Offset(5)},
      Buffer(300)};
  for (size_t i = 0; i < data.records.size(); ++i) data.records[i] = static_cast<std::byte>(i);
  r.answers.push_back(std::move(data));
  r.answers.push_back({metadata_group(),
                       FetchAnswer{FetchStatus::ok, LeaderEpoch(4), NodeId(1),
                                   EpochEnd{LeaderEpoch(2), Offset(60)}, Offset(60), Offset(0)},
                       Buffer()});
  r.answers.push_back({GroupId{"b", PartitionId(9)},
                       FetchAnswer{FetchStatus::not_leader, LeaderEpoch(5), kNoNode, std::nullopt,
                                   Offset(0), Offset(0)},
                       Buffer()});
  r.answers.push_back({GroupId{"c", PartitionId(1)},
                       FetchAnswer{FetchStatus::fenced_leader_epoch, LeaderEpoch(6), NodeId(2),
                                   std::nullopt, Offset(1), Offset(0)},
                       Buffer()});
  r.answers.push_back({GroupId{"c", PartitionId(2)},
                       FetchAnswer{FetchStatus::unknown_leader_epoch, LeaderEpoch(6), NodeId(2),
                                   std::nullopt, Offset(1), Offset(0)},
                       Buffer()});
  return r;
}

TEST(RaftCodec, MetadataGroupName) {
  EXPECT_EQ(metadata_group().topic, "__cluster_metadata");
  EXPECT_EQ(metadata_group().partition, PartitionId(0));
}

TEST(RaftCodec, VoteFrameRoundTrip) {
  const VoteFrame in = sample_votes();
  const Buffer bytes = encode_vote_frame(in);
  EXPECT_EQ(load_be16(bytes.data()), kRaftCodecVersion);
  Result<VoteFrame> out = decode_vote_frame(bytes);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  ASSERT_EQ(out->messages.size(), in.messages.size());
  for (size_t i = 0; i < in.messages.size(); ++i) {
    EXPECT_EQ(out->messages[i].group, in.messages[i].group) << i;
    EXPECT_TRUE(same(out->messages[i].message, in.messages[i].message)) << i;
  }
  Result<VoteFrame> empty = decode_vote_frame(encode_vote_frame(VoteFrame{}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->messages.empty());
}

TEST(RaftCodec, FetchRequestRoundTrip) {
  const FetchRequest in = sample_fetch();
  Result<FetchRequest> out = decode_fetch_request(encode_fetch_request(in));
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->replica, in.replica);
  EXPECT_EQ(out->max_wait_ms, in.max_wait_ms);
  ASSERT_EQ(out->fetches.size(), in.fetches.size());
  for (size_t i = 0; i < in.fetches.size(); ++i) {
    EXPECT_EQ(out->fetches[i].group, in.fetches[i].group);
    EXPECT_TRUE(same(out->fetches[i].position, in.fetches[i].position)) << i;
  }
}

TEST(RaftCodec, FetchResponseRoundTrip) {
  const FetchResponse in = sample_answers();
  Result<FetchResponse> out = decode_fetch_response(encode_fetch_response(in));
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  ASSERT_EQ(out->answers.size(), in.answers.size());
  for (size_t i = 0; i < in.answers.size(); ++i) {
    EXPECT_EQ(out->answers[i].group, in.answers[i].group);
    EXPECT_TRUE(same(out->answers[i].answer, in.answers[i].answer)) << i;
    EXPECT_EQ(out->answers[i].records, in.answers[i].records) << i;
  }
}

// Every proper prefix and every one-byte extension of a valid payload is refused.
template <typename Decode>
void expect_every_cut_refused(const Buffer& valid, Decode decode) {
  for (size_t n = 0; n < valid.size(); ++n) {
    auto r = decode(std::span<const std::byte>(valid.data(), n));
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes";
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), Errc::corrupt) << n;
    }
  }
  Buffer longer = valid;
  longer.push_back(std::byte{0});
  auto r = decode(longer);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("trailing"), std::string::npos);
}

TEST(RaftCodec, TruncatedAndPaddedInputIsAnError) {
  expect_every_cut_refused(encode_vote_frame(sample_votes()),
                           [](auto b) { return decode_vote_frame(b); });
  expect_every_cut_refused(encode_fetch_request(sample_fetch()),
                           [](auto b) { return decode_fetch_request(b); });
  expect_every_cut_refused(encode_fetch_response(sample_answers()),
                           [](auto b) { return decode_fetch_response(b); });
}

TEST(RaftCodec, OtherVersionIsUnsupported) {
  Buffer b = encode_vote_frame(sample_votes());
  store_be16(b.data(), 2);
  Result<VoteFrame> r = decode_vote_frame(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::unsupported);
  Buffer f = encode_fetch_request(sample_fetch());
  store_be16(f.data(), 0);
  EXPECT_EQ(decode_fetch_request(f).error().code(), Errc::unsupported);
}

TEST(RaftCodec, BadValuesAreErrors) {
  // A count far beyond the bytes present allocates nothing and fails.
  Buffer b = encode_vote_frame(VoteFrame{});
  store_be32(b.data() + 2, 0xffffffffu);
  EXPECT_EQ(decode_vote_frame(b).error().code(), Errc::corrupt);

  VoteFrame one;
  one.messages.push_back({GroupId{"t", PartitionId(0)}, BeginEpoch{LeaderEpoch(1), NodeId(1)}});
  const Buffer valid = encode_vote_frame(one);
  // version(2) count(4) topic length(2) "t"(1) partition(4) tag(1) ...
  Buffer tag = valid;
  tag[13] = std::byte{4};
  EXPECT_NE(decode_vote_frame(tag).error().message().find("unknown message tag"),
            std::string::npos);
  Buffer empty_topic = valid;
  store_be16(empty_topic.data() + 6, 0);
  EXPECT_FALSE(decode_vote_frame(empty_topic).ok());
  Buffer negative = valid;
  store_i32(negative.data() + 9, -1);
  EXPECT_NE(decode_vote_frame(negative).error().message().find("negative partition"),
            std::string::npos);

  VoteFrame req;
  req.messages.push_back({GroupId{"t", PartitionId(0)}, VoteResponse{}});
  Buffer flags = encode_vote_frame(req);
  flags.back() = std::byte{4};
  EXPECT_NE(decode_vote_frame(flags).error().message().find("flag"), std::string::npos);

  FetchResponse answer;
  answer.answers.push_back({GroupId{"t", PartitionId(0)}, FetchAnswer{}, Buffer()});
  Buffer status = encode_fetch_response(answer);
  status[13] = std::byte{9};  // after version, count and the group
  EXPECT_NE(decode_fetch_response(status).error().message().find("status"), std::string::npos);
  Buffer marker = encode_fetch_response(answer);
  marker[22] = std::byte{2};  // status(1) epoch(4) leader(4), then the diverging marker
  EXPECT_FALSE(decode_fetch_response(marker).ok());

  FetchRequest wait;
  wait.max_wait_ms = -1;
  EXPECT_FALSE(decode_fetch_request(encode_fetch_request(wait)).ok());
}

TEST(RaftCodec, MutatedAndRandomInputNeverCrashes) {
  std::mt19937 random(15);
  const std::array<Buffer, 3> valid = {encode_vote_frame(sample_votes()),
                                       encode_fetch_request(sample_fetch()),
                                       encode_fetch_response(sample_answers())};
  size_t decoded = 0;
  for (int round = 0; round < 3000; ++round) {
    Buffer b = valid[static_cast<size_t>(round) % valid.size()];
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < flips; ++i) {
      b[random() % b.size()] = static_cast<std::byte>(random());
    }
    if (round % 5 == 0) b.resize(random() % (b.size() + 1));
    decoded +=
        decode_vote_frame(b).ok() + decode_fetch_request(b).ok() + decode_fetch_response(b).ok();
  }
  for (int round = 0; round < 1000; ++round) {
    Buffer b(random() % 64);
    for (auto& x : b) x = static_cast<std::byte>(random());
    (void)decode_vote_frame(b);
    (void)decode_fetch_request(b);
    (void)decode_fetch_response(b);
  }
  // Many mutations leave a valid payload (a changed offset is still an offset).
  EXPECT_GT(decoded, 0u);
}

TEST(PeerWire, HelloAndFrameHeader) {
  std::array<std::byte, kHelloSize> h{};
  encode_hello(Hello{kPeerProtocolVersion, HelloStatus::wrong_receiver, NodeId(3), NodeId(5)}, h);
  EXPECT_EQ(load_be32(h.data()), 0x46525259u);
  Result<Hello> back = decode_hello(h);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back,
            (Hello{kPeerProtocolVersion, HelloStatus::wrong_receiver, NodeId(3), NodeId(5)}));
  h[0] = std::byte{0};
  EXPECT_EQ(decode_hello(h).error().code(), Errc::corrupt);
  encode_hello(Hello{}, h);
  store_be16(h.data() + 6, 77);
  EXPECT_EQ(decode_hello(h).error().code(), Errc::corrupt);

  std::array<std::byte, kFrameHeaderSize> f{};
  encode_frame_header(FrameHeader{7 + 100, FrameKind::response, 42, MessageType::raft_fetch}, f);
  Result<FrameHeader> fh = decode_frame_header(f, 1000);
  ASSERT_TRUE(fh.ok());
  EXPECT_EQ(fh->payload_size(), 100u);
  EXPECT_EQ(fh->kind, FrameKind::response);
  EXPECT_EQ(fh->correlation, 42u);
  EXPECT_EQ(fh->type, MessageType::raft_fetch);
  EXPECT_EQ(decode_frame_header(f, 100).error().code(), Errc::too_large);
  store_be32(f.data(), 6);
  EXPECT_EQ(decode_frame_header(f, 1000).error().code(), Errc::corrupt);
  encode_frame_header(FrameHeader{7, FrameKind::request, 1, MessageType::raft_votes}, f);
  f[4] = std::byte{3};
  EXPECT_EQ(decode_frame_header(f, 1000).error().code(), Errc::corrupt);
}

}  // namespace
}  // namespace ferry::cluster
