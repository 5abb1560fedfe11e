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

namespace ferry::client {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;

// (The same scripted broker as connection_test.cc's; to be shared through a header.)
// A broker that answers ApiVersions from `versions` and every other request through `handler`
// (which may answer nothing). Loop thread only.
class FakeBroker {
 public:
  using Handler = std::function<std::optional<std::vector<std::byte>>(
      const protocol::RequestHeader&, std::span<const std::byte> body)>;

  explicit FakeBroker(uv_loop_t* loop) : loop_(loop) {
    uv_tcp_init(loop, &server_);
    server_.data = this;
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", 0, &addr);
    EXPECT_EQ(uv_tcp_bind(&server_, reinterpret_cast<const sockaddr*>(&addr), 0), 0);
    EXPECT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 8, &FakeBroker::on_connection),
              0);
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&server_, reinterpret_cast<sockaddr*>(&bound), &len);
    port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  ~FakeBroker() {
    drop_clients();
    uv_close(reinterpret_cast<uv_handle_t*>(&server_), nullptr);
    uv_run(loop_, UV_RUN_DEFAULT);
  }

  void drop_clients() {
    for (auto& c : clients_) {
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&c->tcp)))
        uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), nullptr);
    }
  }

  uint16_t port = 0;
  std::map<int16_t, std::pair<int16_t, int16_t>> versions;  // key -> [min, max]
  int16_t max_api_versions = 3;  // above it, ApiVersions gets UNSUPPORTED_VERSION
  std::vector<int16_t> api_versions_seen;
  Handler handler;

 private:
  struct Client {
    uv_tcp_t tcp{};
    FakeBroker* broker = nullptr;
    std::vector<std::byte> in;
    char buf[65536];
  };

  static void on_connection(uv_stream_t* s, int status) {
    auto* self = static_cast<FakeBroker*>(s->data);
    if (status < 0) return;
    auto c = std::make_unique<Client>();
    c->broker = self;
    uv_tcp_init(self->loop_, &c->tcp);
    c->tcp.data = c.get();
    uv_accept(s, reinterpret_cast<uv_stream_t*>(&c->tcp));
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&c->tcp),
        [](uv_handle_t* h, size_t, uv_buf_t* b) {
          auto* cl = static_cast<Client*>(h->data);
          *b = uv_buf_init(cl->buf, sizeof cl->buf);
        },
        [](uv_stream_t* st, ssize_t n, const uv_buf_t* b) {
          auto* cl = static_cast<Client*>(st->data);
          if (n < 0) {
            if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(st)))
              uv_close(reinterpret_cast<uv_handle_t*>(st), nullptr);
            return;
          }
          auto* p = reinterpret_cast<const std::byte*>(b->base);
          cl->in.insert(cl->in.end(), p, p + n);
          cl->broker->serve(*cl);
        });
    self->clients_.push_back(std::move(c));
  }

  void serve(Client& c) {
    size_t pos = 0;
    while (c.in.size() - pos >= 4) {
      const auto size = static_cast<size_t>(load_i32(c.in.data() + pos));
      if (c.in.size() - pos - 4 < size) break;
      std::span<const std::byte> frame(c.in.data() + pos + 4, size);
      pos += 4 + size;
      size_t header_bytes = 0;
      auto h = protocol::decode_request_header(frame, header_bytes);
      ASSERT_TRUE(h.ok());
      std::vector<std::byte> out;
      protocol::Writer w(out);
      const size_t mark = w.reserve_size();
      if (h->api_key == static_cast<int16_t>(ApiKey::api_versions)) {
        api_versions_seen.push_back(h->api_version);
        // Any version's error answer is in the v0 layout, as Kafka brokers do.
        const int16_t v = h->api_version > max_api_versions ? int16_t{0} : h->api_version;
        protocol::encode_response_header(ApiKey::api_versions, v, h->correlation_id, w);
        protocol::ApiVersionsResponse resp;
        if (h->api_version > max_api_versions)
          resp.error_code = protocol::wire(ErrorCode::unsupported_version);
        resp.api_keys.push_back({static_cast<int16_t>(ApiKey::api_versions), 0, max_api_versions});
        for (auto& [k, mm] : versions) resp.api_keys.push_back({k, mm.first, mm.second});
        protocol::encode_message(resp, v, protocol::is_flexible(ApiKey::api_versions, v), w);
      } else {
        auto body = handler ? handler(*h, frame.subspan(header_bytes)) : std::nullopt;
        if (!body) continue;  // no answer
        protocol::encode_response_header(static_cast<ApiKey>(h->api_key), h->api_version,
                                         h->correlation_id, w);
        w.raw(*body);
      }
      w.patch_size(mark);
      auto* req = new std::pair<uv_write_t, std::vector<std::byte>>();
      req->second = std::move(out);
      uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(req->second.data()),
                                 static_cast<unsigned>(req->second.size()));
      uv_write(&req->first, reinterpret_cast<uv_stream_t*>(&c.tcp), &buf, 1,
               [](uv_write_t* r, int) {
                 delete reinterpret_cast<std::pair<uv_write_t, std::vector<std::byte>>*>(r);
               });
    }
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(pos));
  }

  uv_loop_t* loop_;
  uv_tcp_t server_{};
  std::vector<std::unique_ptr<Client>> clients_;
};

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
