// An in-process broker on a private loop and data dir, and a Kafka client on the same loop
// that sends described requests and decodes responses. Every wait is a bounded loop run.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "app/node.h"
#include "broker/broker.h"
#include "common/bytes.h"
#include "protocol/api.h"
#include "protocol/messages.h"
#include "protocol/record_batch.h"
#include "support/loop.h"
#include "support/loopback_client.h"
#include "support/test_support.h"

namespace ferry::broker::test {

// A raw TCP connection to the broker, driven by the fixture's loop, that speaks Kafka requests.
class TestConn : public ferry::test::LoopbackClient {
 public:
  using LoopbackClient::LoopbackClient;
  void send_raw(std::vector<std::byte> bytes) { LoopbackClient::send(std::move(bytes)); }
  // Encodes and sends a request; returns its correlation id.
  template <typename M>
  int32_t send(protocol::ApiKey key, int16_t version, const M& m) {
    std::vector<std::byte> out;
    protocol::Writer w(out);
    const size_t mark = w.reserve_size();
    protocol::RequestHeader h;
    h.api_key = static_cast<int16_t>(key);
    h.api_version = version;
    h.correlation_id = next_corr_++;
    h.client_id = "broker-test";
    protocol::encode_request_header(h, w);
    protocol::encode_message(m, version, protocol::is_flexible(key, version), w);
    w.patch_size(mark);
    send_raw(std::move(out));
    return h.correlation_id;
  }
  // Complete response frames received so far (size prefix removed), in order.
  std::vector<std::vector<std::byte>> frames() const { return frame_bytes(); }
  // The broker closed the connection.
  bool closed() const { return eof(); }

 private:
  int32_t next_corr_ = 1;
};

// A record read back from a Fetch response: its offset and its value (nullopt when null).
struct FetchedRecord {
  int64_t offset = 0;
  std::optional<std::string> value;
};

// The records of the whole batches in `data` (a fetched partition's record bytes), in order; a
// trailing partial batch is left out and a batch that does not decode fails the test.
inline std::vector<FetchedRecord> fetched_records(std::span<const std::byte> data) {
  std::vector<FetchedRecord> out;
  size_t pos = 0;
  while (pos < data.size()) {
    auto size = protocol::declared_batch_size(data.subspan(pos));
    if (!size || *size > data.size() - pos) break;
    protocol::BatchView batch(data.subspan(pos, *size));
    std::vector<std::byte> scratch;
    auto recs = protocol::decode_records(batch, scratch);
    EXPECT_TRUE(recs.ok());
    if (recs.ok()) {
      for (auto& r : *recs) {
        FetchedRecord f;
        f.offset = (batch.base_offset() + r.offset_delta).value();
        if (r.value) f.value = ferry::test::to_string(*r.value);
        out.push_back(std::move(f));
      }
    }
    pos += *size;
  }
  return out;
}

class BrokerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    loop_ready_ = true;
    start_broker();
  }
  void TearDown() override {
    if (!loop_ready_) return;
    conns_.clear();
    stop_broker();
    for (int i = 0; i < 20; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  virtual void configure(config::BrokerConfig&) {}

  void start_broker() {
    config::BrokerConfig cfg;
    cfg.data_dir = dir_.path();
    cfg.listen = {"127.0.0.1", 0};
    cfg.advertised = {"127.0.0.1", 0};
    configure(cfg);
    node_ = std::make_unique<app::Node>(&loop_, cfg);
    auto st = node_->start();
    broker_ = node_->has_broker() ? &node_->broker() : nullptr;
    ASSERT_TRUE(st.ok()) << st.error().to_string();
  }
  void stop_broker() {
    if (!node_) return;
    bool done = false;
    node_->shutdown([&](Status st) {
      EXPECT_TRUE(st.ok()) << st.error().to_string();
      done = true;
    });
    run_until([&] { return done; });
    EXPECT_TRUE(done);
    broker_ = nullptr;
    node_.reset();
  }

  TestConn& connect() { return connect(broker_->port()); }
  TestConn& connect(uint16_t port) {
    conns_.push_back(std::make_unique<TestConn>(&loop_, port));
    return *conns_.back();
  }

  // Runs the loop until `done` or about `max_ms` of loop time.
  bool run_until(const std::function<bool()>& done, int max_ms = 10000) {
    return ferry::test::run_until(&loop_, done, static_cast<uint64_t>(max_ms));
  }

  // Sends a request and waits for its response, decoded as `Resp`.
  template <typename Resp, typename Req>
  Resp call(TestConn& c, protocol::ApiKey key, int16_t version, const Req& req) {
    const size_t before = c.frames().size();
    c.send(key, version, req);
    EXPECT_TRUE(run_until([&] { return c.frames().size() > before || c.closed(); }))
        << "no response to " << protocol::api_name(static_cast<int16_t>(key)) << " v" << version;
    Resp resp;
    auto frames = c.frames();
    if (frames.size() <= before) return resp;
    last_frame_ = std::move(frames[before]);
    const auto& f = last_frame_;
    protocol::Reader r(f);
    (void)r.i32();  // correlation id
    const bool flexible =
        protocol::is_flexible(key, version) && key != protocol::ApiKey::api_versions;
    if (flexible) r.skip_tag_buffer();
    auto body = std::span<const std::byte>(f).subspan(r.position());
    auto st = protocol::decode_message(body, version, protocol::is_flexible(key, version), resp);
    EXPECT_TRUE(st.ok()) << st.error().message();
    return resp;
  }
  template <typename Resp, typename Req>
  Resp call(protocol::ApiKey key, int16_t version, const Req& req) {
    if (conns_.empty()) connect();
    return call<Resp>(*conns_.front(), key, version, req);
  }

  // CreateTopics v4 for one topic (replication factor 1).
  protocol::CreateTopicsResponse create_topic(const std::string& name, int32_t partitions,
                                              std::map<std::string, std::string> configs = {}) {
    protocol::CreateTopicsRequest req;
    protocol::CreateTopicsRequest::Topic t;
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = 1;
    for (auto& [k, v] : configs) t.configs.push_back({k, v});
    req.topics.push_back(t);
    return call<protocol::CreateTopicsResponse>(protocol::ApiKey::create_topics, 4, req);
  }

  // A Fetch request for one partition from `offset`; `max_bytes` bounds the response and the
  // partition alike.
  protocol::FetchRequest fetch_request(const std::string& topic, int32_t partition, int64_t offset,
                                       int32_t max_wait_ms = 0, int32_t min_bytes = 1,
                                       int32_t max_bytes = 1 << 20) {
    protocol::FetchRequest req;
    req.max_wait_ms = max_wait_ms;
    req.min_bytes = min_bytes;
    req.max_bytes = max_bytes;
    protocol::FetchRequest::Topic t;
    t.topic = topic;
    protocol::FetchRequest::Topic::Partition p;
    p.partition = partition;
    p.fetch_offset = offset;
    p.partition_max_bytes = max_bytes;
    t.partitions.push_back(p);
    req.topics.push_back(t);
    return req;
  }

  ferry::test::TempDir dir_;
  uv_loop_t loop_{};
  bool loop_ready_ = false;
  std::unique_ptr<app::Node> node_;  // owns the store, the logs and the broker
  Broker* broker_ = nullptr;         // node_'s broker while it runs
  std::vector<std::unique_ptr<TestConn>> conns_;
  std::vector<std::byte> last_frame_;  // keeps RecordsRef of the last response valid
};

}  // namespace ferry::broker::test
