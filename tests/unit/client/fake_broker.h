// A scripted in-process broker for client tests: it listens on an ephemeral 127.0.0.1 port on
// the test's loop (no threads), answers ApiVersions itself and every other request through a
// handler the test supplies.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "protocol/api.h"
#include "protocol/messages.h"

namespace ferry::client::test {

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
  // Runs the loop only until this broker's own handles have closed, so that other brokers on
  // the same loop may outlive it.
  ~FakeBroker() {
    drop_clients();
    ++closing_;
    uv_close(reinterpret_cast<uv_handle_t*>(&server_),
             [](uv_handle_t* h) { --static_cast<FakeBroker*>(h->data)->closing_; });
    while (closing_ > 0) uv_run(loop_, UV_RUN_ONCE);
  }

  void drop_clients() {
    for (auto& c : clients_) close_client(*c);
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
            cl->broker->close_client(*cl);
            return;
          }
          auto* p = reinterpret_cast<const std::byte*>(b->base);
          cl->in.insert(cl->in.end(), p, p + n);
          cl->broker->serve(*cl);
        });
    self->clients_.push_back(std::move(c));
  }

  void close_client(Client& c) {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&c.tcp))) return;
    ++closing_;
    uv_close(reinterpret_cast<uv_handle_t*>(&c.tcp),
             [](uv_handle_t* h) { --static_cast<Client*>(h->data)->broker->closing_; });
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
      if (h->api_key == static_cast<int16_t>(protocol::ApiKey::api_versions)) {
        api_versions_seen.push_back(h->api_version);
        // Any version's error answer is in the v0 layout, as Kafka brokers do.
        const int16_t v = h->api_version > max_api_versions ? int16_t{0} : h->api_version;
        protocol::encode_response_header(protocol::ApiKey::api_versions, v, h->correlation_id, w);
        protocol::ApiVersionsResponse resp;
        if (h->api_version > max_api_versions)
          resp.error_code = protocol::wire(protocol::ErrorCode::unsupported_version);
        resp.api_keys.push_back(
            {static_cast<int16_t>(protocol::ApiKey::api_versions), 0, max_api_versions});
        for (auto& [k, mm] : versions) resp.api_keys.push_back({k, mm.first, mm.second});
        protocol::encode_message(resp, v, protocol::is_flexible(protocol::ApiKey::api_versions, v),
                                 w);
      } else {
        auto body = handler ? handler(*h, frame.subspan(header_bytes)) : std::nullopt;
        if (!body) continue;  // no answer
        protocol::encode_response_header(static_cast<protocol::ApiKey>(h->api_key), h->api_version,
                                         h->correlation_id, w);
        w.raw(*body);
      }
      w.patch_size(mark);
      auto* req = new std::pair<uv_write_t, std::vector<std::byte>>();
      req->second = std::move(out);
      uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(req->second.data()),
                                 static_cast<unsigned>(req->second.size()));
      const int rc = uv_write(
          &req->first, reinterpret_cast<uv_stream_t*>(&c.tcp), &buf, 1, [](uv_write_t* r, int) {
            delete reinterpret_cast<std::pair<uv_write_t, std::vector<std::byte>>*>(r);
          });
      if (rc != 0) delete req;  // not queued (the connection is closing): no callback comes
    }
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(pos));
  }

  uv_loop_t* loop_;
  uv_tcp_t server_{};
  int closing_ = 0;  // handles whose close callback has not run yet
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace ferry::client::test
