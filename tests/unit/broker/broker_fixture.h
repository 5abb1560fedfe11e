// An in-process broker on a private loop and data dir, and a Kafka client on the same loop
// that sends described requests and decodes responses. Every wait is a bounded loop run.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/node.h"
#include "broker/broker.h"
#include "common/bytes.h"
#include "protocol/api.h"
#include "protocol/messages.h"
#include "support/test_support.h"

namespace ferry::broker::test {

// A raw TCP connection to the broker, driven by the fixture's loop.
class TestConn {
 public:
  TestConn(uv_loop_t* loop, uint16_t port) {
    tcp_ = new uv_tcp_t;
    uv_tcp_init(loop, tcp_);
    tcp_->data = this;
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", port, &addr);
    connect_.data = this;
    uv_tcp_connect(
        &connect_, tcp_, reinterpret_cast<const sockaddr*>(&addr), [](uv_connect_t* c, int status) {
          if (status != 0) return;
          uv_read_start(
              c->handle,
              [](uv_handle_t*, size_t, uv_buf_t* b) {
                static char buf[1 << 16];
                *b = uv_buf_init(buf, sizeof buf);
              },
              [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
                auto* self = static_cast<TestConn*>(s->data);
                if (self == nullptr) return;
                if (n < 0) {
                  self->closed_ = true;
                  return;
                }
                self->rx_.insert(self->rx_.end(), reinterpret_cast<const std::byte*>(b->base),
                                 reinterpret_cast<const std::byte*>(b->base) + n);
              });
        });
  }
  ~TestConn() {
    tcp_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  }
  void send_raw(std::vector<std::byte> bytes) {
    auto* w = new Write{{}, std::move(bytes)};
    w->req.data = w;
    uv_buf_t b =
        uv_buf_init(reinterpret_cast<char*>(w->data.data()), static_cast<unsigned>(w->data.size()));
    uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp_), &b, 1,
             [](uv_write_t* req, int) { delete static_cast<Write*>(req->data); });
  }
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
  std::vector<std::vector<std::byte>> frames() const {
    std::vector<std::vector<std::byte>> out;
    size_t pos = 0;
    while (rx_.size() - pos >= 4) {
      const auto n = static_cast<size_t>(load_i32(rx_.data() + pos));
      if (rx_.size() - pos - 4 < n) break;
      out.emplace_back(rx_.begin() + static_cast<ptrdiff_t>(pos + 4),
                       rx_.begin() + static_cast<ptrdiff_t>(pos + 4 + n));
      pos += 4 + n;
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  struct Write {
    uv_write_t req;
    std::vector<std::byte> data;
  };
  uv_tcp_t* tcp_;
  uv_connect_t connect_{};
  std::vector<std::byte> rx_;
  bool closed_ = false;
  int32_t next_corr_ = 1;
};

class BrokerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    FERRY_SKIP_WITHOUT_THREADS();
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

  TestConn& connect() {
    conns_.push_back(std::make_unique<TestConn>(&loop_, broker_->port()));
    return *conns_.back();
  }

  // Runs the loop until `done` or about `max_ms` of loop time.
  bool run_until(const std::function<bool()>& done, int max_ms = 10000) {
    uv_timer_t guard;
    uv_timer_init(&loop_, &guard);
    uv_timer_start(
        &guard, [](uv_timer_t*) {}, 5, 5);
    const uint64_t start = uv_now(&loop_);
    while (!done() && uv_now(&loop_) - start < static_cast<uint64_t>(max_ms))
      uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return done();
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
