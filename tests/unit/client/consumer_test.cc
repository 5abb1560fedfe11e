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
#include "protocol/record_batch.h"
#include "unit/client/fake_broker.h"

namespace ferry::client {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;

using test::FakeBroker;

template <typename M>
std::vector<std::byte> encode_body(const M& m, int16_t version) {
  std::vector<std::byte> out;
  protocol::Writer w(out);
  protocol::encode_message(m, version, false, w);
  return out;
}

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

// One topic "t" with one partition led by node 0 (the fake broker). Fetches are answered by
// `fetch_script(call number, fetch offset)`: an error code and the records bytes.
class ConsumerTest : public ::testing::Test {
 protected:
  using Script = std::function<std::pair<ErrorCode, std::vector<std::byte>>(int, int64_t)>;

  void SetUp() override {
    uv_loop_init(&loop_);
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
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open";
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
      return encode_body(resp, h.api_version);
    }
    if (key == ApiKey::list_offsets) {
      protocol::ListOffsetsRequest req;
      EXPECT_TRUE(protocol::decode_message(body, h.api_version, false, req).ok());
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
      return encode_body(resp, h.api_version);
    }
    if (key == ApiKey::fetch) {
      protocol::FetchRequest req;
      EXPECT_TRUE(protocol::decode_message(body, h.api_version, false, req).ok());
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
      return encode_body(resp, h.api_version);
    }
    return std::nullopt;
  }

  void run_until(const std::function<bool()>& done) {
    uv_timer_t guard;
    uv_timer_init(&loop_, &guard);
    bool expired = false;
    guard.data = &expired;
    uv_timer_start(
        &guard, [](uv_timer_t* t) { *static_cast<bool*>(t->data) = true; }, 5000, 0);
    while (!done() && !expired) uv_run(&loop_, UV_RUN_ONCE);
    EXPECT_TRUE(done()) << "timed out";
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
  }

  std::vector<int64_t> offsets() const {
    std::vector<int64_t> out;
    for (const auto& r : records) out.push_back(r.offset);
    return out;
  }

  uv_loop_t loop_{};
  std::unique_ptr<FakeBroker> broker_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Consumer> consumer_;
  Script fetch_script = [](int, int64_t) {
    return std::make_pair(ErrorCode::none, std::vector<std::byte>{});
  };
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
  c.seek(kTp, SeekTarget::at(100));
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
  run_until([&] { return c.position(kTp) == 8; });
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
  c.seek(kTp, SeekTarget::at(100));
  run_until([&] { return std::count(fetch_offsets.begin(), fetch_offsets.end(), 42) > 0; });
  EXPECT_EQ(timestamps_asked, std::vector<int64_t>{-1});
  EXPECT_EQ(c.position(kTp), 42);
}

TEST_F(ConsumerTest, OffsetOutOfRangeWithResetNoneIsAnError) {
  fetch_script = [](int, int64_t) {
    return std::make_pair(ErrorCode::offset_out_of_range, std::vector<std::byte>{});
  };
  auto& c = consumer(OffsetReset::none);
  c.assign({kTp});
  c.seek(kTp, SeekTarget::at(100));
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
  c.seek(kTp, SeekTarget::at(0));
  run_until([&] { return records.size() >= 2; });
  EXPECT_EQ(offsets(), (std::vector<int64_t>{0, 1}));
  EXPECT_GE(metadata_calls, 3);  // the first lookup, then one per leader error
  EXPECT_TRUE(errors.empty());   // retriable: not reported by default
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
  c.seek(kTp, SeekTarget::at(7));
  run_until([&] { return records.size() >= 3; });
  EXPECT_EQ(offsets(), (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(records.at(0).value, "v7");
  run_until([&] { return c.position(kTp) == 10; });
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
  c.seek(kTp, SeekTarget::at(0));
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
  c.seek(kTp, SeekTarget::at(0));
  run_until([&] { return records.size() >= 5; });
  EXPECT_EQ(offsets(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(c.has_records());
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
