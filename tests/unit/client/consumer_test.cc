// Consumer against a scripted in-process broker on the same loop (offset reset, leader errors,
// records below the fetch offset, codecs) and the consumer protocol's subscription bytes.
#include "client/consumer.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/consumer_protocol.h"
#include "common/bytes.h"
#include "protocol/compression.h"
#include "protocol/record_batch.h"
#include "unit/client/fake_broker.h"
#include "unit/client/loop_test.h"

namespace ferry::client {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;

using test::FakeBroker;

using test::encode;

// A batch of `n` records at `base` with values "v<offset>" and keys "k<offset>".
std::vector<std::byte> make_batch(int64_t base, int n,
                                  protocol::Compression codec = protocol::Compression::none) {
  std::vector<std::string> keys;
  std::vector<std::string> values;
  for (int i = 0; i < n; ++i) {
    keys.push_back("k" + std::to_string(base + i));
    values.push_back("v" + std::to_string(base + i));
  }
  std::vector<protocol::RecordInput> in;
  for (int i = 0; i < n; ++i) {
    protocol::RecordInput r;
    r.key = keys[static_cast<size_t>(i)];
    r.value = values[static_cast<size_t>(i)];
    r.timestamp_ms = 1'700'000'000'000 + i;
    if (i == 0) r.headers.push_back({"h", "x"});
    in.push_back(r);
  }
  protocol::BuildOptions o;
  o.compression = codec;
  o.base_offset = Offset(base);
  auto b = protocol::build_batch(in, o);
  EXPECT_TRUE(b.ok());
  auto bytes = std::move(b).value();
  protocol::set_base_offset(bytes, Offset(base));
  return bytes;
}

// `plain` (an uncompressed batch) with its records section compressed with `codec`: the header
// kept, the codec bits, batchLength and CRC rewritten.
std::vector<std::byte> recompress(const std::vector<std::byte>& plain,
                                  protocol::Compression codec) {
  namespace bl = protocol::batch_layout;
  protocol::BatchView v(plain);
  auto packed = protocol::compress(codec, v.records_bytes());
  EXPECT_TRUE(packed.ok());
  std::vector<std::byte> out(plain.begin(), plain.begin() + bl::kHeaderSize);
  out.insert(out.end(), packed->begin(), packed->end());
  store_be16(out.data() + bl::kAttributes,
             static_cast<uint16_t>((v.attributes() & ~protocol::batch_attr::kCompressionMask) |
                                   static_cast<uint16_t>(codec)));
  store_i32(out.data() + bl::kBatchLength, static_cast<int32_t>(out.size() - bl::kLogOverhead));
  store_be32(out.data() + bl::kCrc, protocol::compute_batch_crc(out));
  return out;
}

// One topic "t" with one partition led by node 0 (the fake broker). Fetches are answered by
// `fetch_script(call number, fetch offset)`: an error code and the records bytes.
class ConsumerTest : public test::LoopTest {
 protected:
  using Script = std::function<std::pair<ErrorCode, std::vector<std::byte>>(int, int64_t)>;

  void SetUp() override {
    LoopTest::SetUp();
    broker_ = std::make_unique<FakeBroker>(&loop_);
    broker_->versions[static_cast<int16_t>(ApiKey::metadata)] = {0, 8};
    broker_->versions[static_cast<int16_t>(ApiKey::fetch)] = {0, 11};
    broker_->versions[static_cast<int16_t>(ApiKey::list_offsets)] = {0, 5};
    broker_->handler = [this](const protocol::RequestHeader& h, std::span<const std::byte> b) {
      return handle(h, b);
    };
    ConnectionOptions o;
    o.connect_timeout_ms = 5000;
    o.request_timeout_ms = 5000;
    client_ = std::make_unique<Client>(&loop_, "127.0.0.1", broker_->port, o);
  }
  void TearDown() override {
    consumer_.reset();
    client_.reset();
    broker_.reset();
    LoopTest::TearDown();
  }

  Consumer& consumer(OffsetReset reset) {
    ConsumerConfig c;
    c.auto_offset_reset = reset;
    c.retry_backoff_ms = 10;
    c.fetch_max_wait_ms = 50;
    consumer_ = std::make_unique<Consumer>(*client_, c);
    consumer_->on_error([this](const KafkaError& e) { errors.push_back(e); });
    consumer_->on_records([this] {
      for (auto& r : consumer_->poll(100)) records.push_back(std::move(r));
    });
    return *consumer_;
  }

  std::optional<std::vector<std::byte>> handle(const protocol::RequestHeader& h,
                                               std::span<const std::byte> body) {
    const auto key = static_cast<ApiKey>(h.api_key);
    if (key == ApiKey::metadata) {
      ++metadata_calls;
      protocol::MetadataResponse resp;
      protocol::MetadataResponse::Broker b;
      b.node_id = 0;
      b.host = "127.0.0.1";
      b.port = broker_->port;
      resp.brokers.push_back(b);
      protocol::MetadataResponse::Topic t;
      t.name = "t";
      protocol::MetadataResponse::Topic::Partition p;
      p.partition_index = 0;
      p.leader_id = 0;
      t.partitions.push_back(p);
      resp.topics.push_back(t);
      return encode(resp, key, h.api_version);
    }
    if (key == ApiKey::list_offsets) {
      auto req = test::decode<protocol::ListOffsetsRequest>(body, key, h.api_version);
      protocol::ListOffsetsResponse resp;
      for (const auto& t : req.topics) {
        resp.topics.push_back({t.name, {}});
        for (const auto& p : t.partitions) {
          timestamps_asked.push_back(p.timestamp);
          protocol::ListOffsetsResponse::Topic::Partition out;
          out.partition_index = p.partition_index;
          out.offset = p.timestamp == -2 ? earliest : latest;
          out.old_style_offsets = {out.offset};
          resp.topics.back().partitions.push_back(out);
        }
      }
      return encode(resp, key, h.api_version);
    }
    if (key == ApiKey::fetch) {
      auto req = test::decode<protocol::FetchRequest>(body, key, h.api_version);
      ++fetch_calls;
      protocol::FetchResponse resp;
      std::vector<std::vector<std::byte>> keep;
      for (const auto& t : req.topics) {
        resp.responses.push_back({t.topic, {}});
        for (const auto& p : t.partitions) {
          fetch_offsets.push_back(p.fetch_offset);
          auto [code, bytes] = fetch_script(fetch_calls, p.fetch_offset);
          keep.push_back(std::move(bytes));
          protocol::FetchResponse::Topic::Partition out;
          out.partition_index = p.partition;
          out.error_code = protocol::wire(code);
          out.high_watermark = latest;
          out.records.data = std::span<const std::byte>(keep.back());
          resp.responses.back().partitions.push_back(out);
        }
      }
      return encode(resp, key, h.api_version);
    }
    if (group_handler) return group_handler(h, body);
    return std::nullopt;
  }

  std::vector<int64_t> offsets() const {
    std::vector<int64_t> out;
    for (const auto& r : records) out.push_back(r.offset.value());
    return out;
  }

  std::unique_ptr<FakeBroker> broker_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Consumer> consumer_;
  Script fetch_script = [](int, int64_t) {
    return std::make_pair(ErrorCode::none, std::vector<std::byte>{});
  };
  std::function<std::optional<std::vector<std::byte>>(const protocol::RequestHeader&,
                                                      std::span<const std::byte>)>
      group_handler;
  int64_t earliest = 0;
  int64_t latest = 0;
  int metadata_calls = 0;
  int fetch_calls = 0;
  std::vector<int64_t> fetch_offsets;
  std::vector<int64_t> timestamps_asked;
  std::vector<ConsumerRecord> records;
  std::vector<KafkaError> errors;
};

const TopicPartition kTp{"t", 0};

TEST_F(ConsumerTest, OffsetOutOfRangeResetsToEarliest) {
  earliest = 5;
  latest = 8;
  fetch_script = [](int, int64_t offset) {
    if (offset == 100)
      return std::make_pair(ErrorCode::offset_out_of_range, std::vector<std::byte>{});
    if (offset == 5) return std::make_pair(ErrorCode::none, make_batch(5, 3));
    return std::make_pair(ErrorCode::none, std::vector<std::byte>{});
  };
  auto& c = consumer(OffsetReset::earliest);
  c.assign({kTp});
  c.seek(kTp, SeekTarget::at(Offset(100)));
  run_until([&] { return records.size() >= 3; });
  EXPECT_EQ(offsets(), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(timestamps_asked, std::vector<int64_t>{-2});
  EXPECT_EQ(fetch_offsets.at(0), 100);
  EXPECT_EQ(records.at(0).key, "k5");
  EXPECT_EQ(records.at(0).value, "v5");
  EXPECT_EQ(records.at(0).timestamp, 1'700'000'000'000);
  ASSERT_EQ(records.at(0).headers.size(), 1u);
  EXPECT_EQ(records.at(0).headers[0].first, "h");
  EXPECT_EQ(records.at(0).headers[0].second, "x");
  EXPECT_TRUE(errors.empty());
  run_until([&] { return c.position(kTp) == Offset(8); });
}

TEST_F(ConsumerTest, OffsetOutOfRangeResetsToLatest) {
  earliest = 0;
  latest = 42;
  fetch_script = [](int, int64_t offset) {
    if (offset == 100)
      return std::make_pair(ErrorCode::offset_out_of_range, std::vector<std::byte>{});
    return std::make_pair(ErrorCode::none, std::vector<std::byte>{});
  };
  auto& c = consumer(OffsetReset::latest);
  c.assign({kTp});
  c.seek(kTp, SeekTarget::at(Offset(100)));
  run_until([&] { return std::count(fetch_offsets.begin(), fetch_offsets.end(), 42) > 0; });
  EXPECT_EQ(timestamps_asked, std::vector<int64_t>{-1});
  EXPECT_EQ(c.position(kTp), Offset(42));
}

TEST_F(ConsumerTest, OffsetOutOfRangeWithResetNoneIsAnError) {
  fetch_script = [](int, int64_t) {
    return std::make_pair(ErrorCode::offset_out_of_range, std::vector<std::byte>{});
  };
  auto& c = consumer(OffsetReset::none);
  c.assign({kTp});
  c.seek(kTp, SeekTarget::at(Offset(100)));
  run_until([&] { return !errors.empty(); });
  EXPECT_EQ(errors.at(0).code(), ErrorCode::offset_out_of_range);
  EXPECT_TRUE(timestamps_asked.empty());
  EXPECT_EQ(fetch_calls, 1);
}

TEST_F(ConsumerTest, ALeaderErrorRefreshesMetadataAndRetries) {
  fetch_script = [](int call, int64_t offset) {
    if (call == 1)
      return std::make_pair(ErrorCode::not_leader_or_follower, std::vector<std::byte>{});
    if (call == 2)
      return std::make_pair(ErrorCode::unknown_topic_or_partition, std::vector<std::byte>{});
    if (offset == 0) return std::make_pair(ErrorCode::none, make_batch(0, 2));
    return std::make_pair(ErrorCode::none, std::vector<std::byte>{});
  };
  auto& c = consumer(OffsetReset::earliest);
  c.assign({kTp});
  c.seek(kTp, SeekTarget::at(Offset(0)));
  run_until([&] { return records.size() >= 2; });
  EXPECT_EQ(offsets(), (std::vector<int64_t>{0, 1}));
  EXPECT_GE(metadata_calls, 3);  // the first lookup, then one per leader error
  EXPECT_TRUE(errors.empty());   // retriable: not reported by default
}

// The consumer finds leaders in the Client's metadata cache: a topic some other user of the
// Client (a producer, an admin call) has looked up costs no Metadata request of its own.
TEST_F(ConsumerTest, LeadersComeFromTheClientsMetadataCache) {
  bool known = false;
  client_->topic_metadata("t", [&](KafkaResult<TopicMetadata> m) { known = m.ok(); });
  run_until([&] { return known; });
  ASSERT_EQ(metadata_calls, 1);
  fetch_script = [](int, int64_t offset) {
    if (offset == 0) return std::make_pair(ErrorCode::none, make_batch(0, 2));
    return std::make_pair(ErrorCode::none, std::vector<std::byte>{});
  };
  auto& c = consumer(OffsetReset::earliest);
  c.assign({kTp});
  c.seek(kTp, SeekTarget::at(Offset(0)));
  run_until([&] { return records.size() >= 2; });
  EXPECT_EQ(offsets(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(metadata_calls, 1);
}

// FENCED_LEADER_EPOCH and KAFKA_STORAGE_ERROR also mean "ask who leads now".
TEST_F(ConsumerTest, EveryLeaderErrorRefreshesTheCache) {
  fetch_script = [](int call, int64_t offset) {
    if (call == 1) return std::make_pair(ErrorCode::fenced_leader_epoch, std::vector<std::byte>{});
    if (call == 2) return std::make_pair(ErrorCode::kafka_storage_error, std::vector<std::byte>{});
    if (offset == 0) return std::make_pair(ErrorCode::none, make_batch(0, 1));
    return std::make_pair(ErrorCode::none, std::vector<std::byte>{});
  };
  auto& c = consumer(OffsetReset::earliest);
  c.assign({kTp});
  c.seek(kTp, SeekTarget::at(Offset(0)));
  run_until([&] { return records.size() >= 1; });
  EXPECT_GE(metadata_calls, 3);
  EXPECT_TRUE(errors.empty());
}

TEST_F(ConsumerTest, RecordsBelowTheFetchOffsetAreSkipped) {
  // A compressed batch 5..9 answers a fetch at 7, as brokers do (whole batches).
  fetch_script = [](int, int64_t offset) {
    if (offset == 7)
      return std::make_pair(ErrorCode::none, make_batch(5, 5, protocol::Compression::lz4));
    return std::make_pair(ErrorCode::none, std::vector<std::byte>{});
  };
  auto& c = consumer(OffsetReset::earliest);
  c.assign({kTp});
  c.seek(kTp, SeekTarget::at(Offset(7)));
  run_until([&] { return records.size() >= 3; });
  EXPECT_EQ(offsets(), (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(records.at(0).value, "v7");
  run_until([&] { return c.position(kTp) == Offset(10); });
}

TEST_F(ConsumerTest, SeveralBatchesAndAPartialTailInOneAnswer) {
  fetch_script = [](int, int64_t offset) {
    if (offset != 0) return std::make_pair(ErrorCode::none, std::vector<std::byte>{});
    auto a = make_batch(0, 2);
    auto b = make_batch(2, 2, protocol::Compression::lz4);
    auto tail = make_batch(4, 2);
    a.insert(a.end(), b.begin(), b.end());
    a.insert(a.end(), tail.begin(), tail.begin() + 20);  // cut by the partition's max bytes
    return std::make_pair(ErrorCode::none, a);
  };
  auto& c = consumer(OffsetReset::earliest);
  c.assign({kTp});
  c.seek(kTp, SeekTarget::at(Offset(0)));
  run_until([&] { return records.size() >= 4; });
  EXPECT_EQ(offsets(), (std::vector<int64_t>{0, 1, 2, 3}));
  run_until([&] { return std::count(fetch_offsets.begin(), fetch_offsets.end(), 4) > 0; });
}

TEST_F(ConsumerTest, RecordsLeftInTheBufferAreAnnouncedAgain) {
  fetch_script = [](int, int64_t offset) {
    if (offset == 0) return std::make_pair(ErrorCode::none, make_batch(0, 5));
    return std::make_pair(ErrorCode::none, std::vector<std::byte>{});
  };
  auto& c = consumer(OffsetReset::earliest);
  c.on_records([&] {
    for (auto& r : c.poll(2)) records.push_back(std::move(r));
  });
  c.assign({kTp});
  c.seek(kTp, SeekTarget::at(Offset(0)));
  run_until([&] { return records.size() >= 5; });
  EXPECT_EQ(offsets(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(c.has_records());
}

TEST_F(ConsumerTest, EveryCodecIsDecoded) {
  using protocol::Compression;
  // Offsets 0-1 gzip, 2-3 snappy, 4-5 lz4, 6-7 zstd, in one answer.
  fetch_script = [](int, int64_t offset) {
    std::vector<std::byte> all;
    if (offset != 0) return std::make_pair(ErrorCode::none, all);
    int64_t base = 0;
    for (auto codec :
         {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
      auto b = recompress(make_batch(base, 2), codec);
      EXPECT_TRUE(protocol::validate_batch(b).ok());
      all.insert(all.end(), b.begin(), b.end());
      base += 2;
    }
    return std::make_pair(ErrorCode::none, all);
  };
  auto& c = consumer(OffsetReset::earliest);
  c.assign({kTp});
  c.seek(kTp, SeekTarget::at(Offset(0)));
  run_until([&] { return records.size() >= 8; });
  EXPECT_EQ(offsets(), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  for (const auto& r : records) EXPECT_EQ(r.value, "v" + std::to_string(r.offset.value()));
  EXPECT_TRUE(errors.empty());
}

TEST_F(ConsumerTest, ACorruptBatchIsReportedNotDelivered) {
  fetch_script = [](int, int64_t offset) {
    auto b = make_batch(0, 2);
    b.back() ^= std::byte{1};  // the CRC no longer matches
    if (offset != 0) b.clear();
    return std::make_pair(ErrorCode::none, b);
  };
  auto& c = consumer(OffsetReset::earliest);
  c.assign({kTp});
  c.seek(kTp, SeekTarget::at(Offset(0)));
  run_until([&] { return !errors.empty(); });
  EXPECT_EQ(errors.at(0).code(), ErrorCode::corrupt_message);
  EXPECT_TRUE(records.empty());
}

// The group protocol against a scripted coordinator: MEMBER_ID_REQUIRED, the leader's range
// assignment, starting from the committed offset, a heartbeat answered UNKNOWN_MEMBER_ID (rejoin
// with a new member id), commit with the current generation, LeaveGroup on close.
TEST_F(ConsumerTest, GroupMembership) {
  for (auto k :
       {ApiKey::find_coordinator, ApiKey::join_group, ApiKey::sync_group, ApiKey::heartbeat,
        ApiKey::offset_fetch, ApiKey::offset_commit, ApiKey::leave_group})
    broker_->versions[static_cast<int16_t>(k)] = {0, 20};
  latest = 5;
  fetch_script = [](int, int64_t offset) {
    if (offset == 3) return std::make_pair(ErrorCode::none, make_batch(3, 2));
    return std::make_pair(ErrorCode::none, std::vector<std::byte>{});
  };
  std::vector<std::string> joins;      // member ids sent
  std::vector<std::string> protocols;  // assignor names offered
  std::vector<std::vector<std::byte>> sync_assignments;
  int heartbeats = 0;
  int generation = 0;
  std::vector<std::string> commits;  // "generation/member/offset"
  std::vector<std::string> leaves;
  group_handler = [&](const protocol::RequestHeader& h,
                      std::span<const std::byte> body) -> std::optional<std::vector<std::byte>> {
    const auto key = static_cast<ApiKey>(h.api_key);
    const bool flex = protocol::is_flexible(key, h.api_version);
    auto answer = [&](const auto& m) {
      std::vector<std::byte> out;
      protocol::Writer w(out);
      protocol::encode_message(m, h.api_version, flex, w);
      return out;
    };
    switch (key) {
      case ApiKey::find_coordinator: {
        protocol::FindCoordinatorResponse r;
        r.node_id = 0;
        r.host = "127.0.0.1";
        r.port = broker_->port;
        return answer(r);
      }
      case ApiKey::join_group: {
        protocol::JoinGroupRequest req;
        EXPECT_TRUE(protocol::decode_message(body, h.api_version, flex, req).ok());
        joins.push_back(req.member_id);
        protocols.push_back(req.protocols.at(0).name);
        protocol::JoinGroupResponse r;
        if (req.member_id.empty()) {
          r.error_code = protocol::wire(ErrorCode::member_id_required);
          r.member_id = "m-" + std::to_string(joins.size());
          return answer(r);
        }
        r.generation_id = ++generation;
        r.protocol_name = req.protocols.at(0).name;
        r.leader = req.member_id;
        r.member_id = req.member_id;
        r.members.push_back({req.member_id, std::nullopt, req.protocols.at(0).metadata});
        return answer(r);
      }
      case ApiKey::sync_group: {
        protocol::SyncGroupRequest req;
        EXPECT_TRUE(protocol::decode_message(body, h.api_version, flex, req).ok());
        protocol::SyncGroupResponse r;
        for (const auto& a : req.assignments) {
          if (a.member_id == req.member_id) r.assignment = a.assignment;
        }
        sync_assignments.push_back(r.assignment);
        return answer(r);
      }
      case ApiKey::heartbeat: {
        protocol::HeartbeatResponse r;
        if (++heartbeats == 2) r.error_code = protocol::wire(ErrorCode::unknown_member_id);
        return answer(r);
      }
      case ApiKey::offset_fetch: {
        protocol::OffsetFetchRequest req;
        EXPECT_TRUE(protocol::decode_message(body, h.api_version, flex, req).ok());
        protocol::OffsetFetchResponse r;
        r.topics.push_back({"t", {}});
        protocol::OffsetFetchResponse::Topic::Partition p;
        p.partition_index = 0;
        p.committed_offset = 3;
        r.topics.back().partitions.push_back(p);
        return answer(r);
      }
      case ApiKey::offset_commit: {
        protocol::OffsetCommitRequest req;
        EXPECT_TRUE(protocol::decode_message(body, h.api_version, flex, req).ok());
        protocol::OffsetCommitResponse r;
        for (const auto& t : req.topics) {
          r.topics.push_back({t.name, {}});
          for (const auto& p : t.partitions) {
            commits.push_back(std::to_string(req.generation_id_or_member_epoch) + "/" +
                              req.member_id + "/" + std::to_string(p.committed_offset));
            r.topics.back().partitions.push_back({p.partition_index, 0});
          }
        }
        return answer(r);
      }
      case ApiKey::leave_group: {
        protocol::LeaveGroupRequest req;
        EXPECT_TRUE(protocol::decode_message(body, h.api_version, flex, req).ok());
        leaves.push_back(req.members.empty() ? req.member_id : req.members.at(0).member_id);
        return answer(protocol::LeaveGroupResponse{});
      }
      default: return std::nullopt;
    }
  };
  ConsumerConfig cfg;
  cfg.group_id = "g";
  cfg.auto_offset_reset = OffsetReset::earliest;
  cfg.retry_backoff_ms = 10;
  cfg.fetch_max_wait_ms = 20;
  cfg.heartbeat_interval_ms = 20;
  cfg.enable_auto_commit = false;
  consumer_ = std::make_unique<Consumer>(*client_, cfg);
  auto& c = *consumer_;
  std::vector<std::vector<TopicPartition>> assignments;
  c.on_assignment([&](const std::vector<TopicPartition>& a) { assignments.push_back(a); });
  c.on_error([&](const KafkaError& e) { errors.push_back(e); });
  c.on_records([&] {
    for (auto& r : c.poll(100)) records.push_back(std::move(r));
  });
  c.subscribe({"t"});
  // First generation: records from the committed offset 3; then the second heartbeat's
  // UNKNOWN_MEMBER_ID makes it rejoin from scratch and read from offset 3 again.
  run_until([&] { return records.size() >= 4 && c.stable() && heartbeats >= 3; });
  EXPECT_EQ(joins, (std::vector<std::string>{"", "m-1", "", "m-3"}));
  EXPECT_EQ(protocols.at(0), "range");
  EXPECT_EQ(offsets(), (std::vector<int64_t>{3, 4, 3, 4}));
  ASSERT_GE(assignments.size(), 3u);  // [t-0], [] while rejoining, [t-0]
  EXPECT_EQ(assignments[0], std::vector<TopicPartition>{kTp});
  EXPECT_TRUE(assignments[1].empty());
  EXPECT_EQ(assignments[2], std::vector<TopicPartition>{kTp});
  auto a = decode_consumer_assignment(sync_assignments.at(0));
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->assigned.size(), 1u);
  EXPECT_EQ(a->assigned[0].topic, "t");
  EXPECT_EQ(a->assigned[0].partitions, std::vector<int32_t>{0});

  std::optional<KafkaStatus> committed;
  c.commit([&](KafkaStatus st) { committed.emplace(std::move(st)); });
  run_until([&] { return committed.has_value(); });
  EXPECT_TRUE(committed->ok());
  EXPECT_EQ(commits, std::vector<std::string>{"2/m-3/5"});
  bool closed = false;
  c.close([&] { closed = true; });
  run_until([&] { return closed; });
  EXPECT_EQ(leaves, std::vector<std::string>{"m-3"});
  EXPECT_TRUE(errors.empty());
}

// The coordinator answers NOT_COORDINATOR to the first JoinGroup and to a heartbeat: each time
// the consumer finds the coordinator again (FindCoordinator) and carries on, without reporting
// an error to the application.
TEST_F(ConsumerTest, ACoordinatorThatMovedIsFoundAgain) {
  for (auto k : {ApiKey::find_coordinator, ApiKey::join_group, ApiKey::sync_group,
                 ApiKey::heartbeat, ApiKey::offset_fetch, ApiKey::leave_group})
    broker_->versions[static_cast<int16_t>(k)] = {0, 20};
  int finds = 0;
  int joins = 0;
  int heartbeats = 0;
  group_handler = [&](const protocol::RequestHeader& h,
                      std::span<const std::byte> body) -> std::optional<std::vector<std::byte>> {
    const auto key = static_cast<ApiKey>(h.api_key);
    const bool flex = protocol::is_flexible(key, h.api_version);
    auto answer = [&](const auto& m) {
      std::vector<std::byte> out;
      protocol::Writer w(out);
      protocol::encode_message(m, h.api_version, flex, w);
      return out;
    };
    switch (key) {
      case ApiKey::find_coordinator: {
        ++finds;
        protocol::FindCoordinatorResponse r;
        r.node_id = 0;
        r.host = "127.0.0.1";
        r.port = broker_->port;
        return answer(r);
      }
      case ApiKey::join_group: {
        protocol::JoinGroupRequest req;
        EXPECT_TRUE(protocol::decode_message(body, h.api_version, flex, req).ok());
        protocol::JoinGroupResponse r;
        if (++joins == 1) {
          r.error_code = protocol::wire(ErrorCode::not_coordinator);
          return answer(r);
        }
        const std::string id = req.member_id.empty() ? "m" : req.member_id;
        r.generation_id = 1;
        r.protocol_name = req.protocols.at(0).name;
        r.leader = id;
        r.member_id = id;
        r.members.push_back({id, std::nullopt, req.protocols.at(0).metadata});
        return answer(r);
      }
      case ApiKey::sync_group: {
        protocol::SyncGroupRequest req;
        EXPECT_TRUE(protocol::decode_message(body, h.api_version, flex, req).ok());
        protocol::SyncGroupResponse r;
        for (const auto& a : req.assignments) {
          if (a.member_id == req.member_id) r.assignment = a.assignment;
        }
        return answer(r);
      }
      case ApiKey::heartbeat: {
        protocol::HeartbeatResponse r;
        if (++heartbeats == 1) r.error_code = protocol::wire(ErrorCode::not_coordinator);
        return answer(r);
      }
      case ApiKey::offset_fetch: {
        protocol::OffsetFetchResponse r;
        r.topics.push_back({"t", {}});
        protocol::OffsetFetchResponse::Topic::Partition p;
        p.partition_index = 0;
        p.committed_offset = -1;
        r.topics.back().partitions.push_back(p);
        return answer(r);
      }
      case ApiKey::leave_group: return answer(protocol::LeaveGroupResponse{});
      default: return std::nullopt;
    }
  };
  ConsumerConfig cfg;
  cfg.group_id = "g";
  cfg.retry_backoff_ms = 10;
  cfg.fetch_max_wait_ms = 20;
  cfg.heartbeat_interval_ms = 20;
  cfg.enable_auto_commit = false;
  consumer_ = std::make_unique<Consumer>(*client_, cfg);
  auto& c = *consumer_;
  c.on_error([&](const KafkaError& e) { errors.push_back(e); });
  c.subscribe({"t"});
  run_until([&] { return c.stable() && heartbeats >= 3; });
  EXPECT_TRUE(c.stable());
  EXPECT_EQ(joins, 2);
  // One lookup at the start, one after the refused join, one after the refused heartbeat.
  EXPECT_EQ(finds, 3);
  EXPECT_TRUE(errors.empty()) << errors.at(0).message();
  bool closed = false;
  c.close([&] { closed = true; });
  run_until([&] { return closed; });
}

TEST(ConsumerSubscription, RoundTripsAndToleratesNewerVersions) {
  ConsumerSubscription s;
  s.topics = {"a", "b"};
  auto bytes = encode_consumer_subscription(s);
  auto back = decode_consumer_subscription(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->topics, s.topics);
  EXPECT_FALSE(back->user_data.has_value());
  // A version-1 subscription: the same, then owned partitions (ignored).
  bytes[1] = std::byte{1};
  bytes.insert(bytes.end(), {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}});
  back = decode_consumer_subscription(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->version, 1);
  EXPECT_EQ(back->topics, s.topics);
  EXPECT_FALSE(decode_consumer_subscription(std::vector<std::byte>{std::byte{0}}).ok());
}

}  // namespace
}  // namespace ferry::client
