// The raw loopback client and the Server fixture shared by the net tests: a Server on a real
// loop over 127.0.0.1, a client on the same loop that records what it receives.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "net/server.h"

namespace ferry::net::test_support {

inline std::vector<std::byte> frame_of(const std::string& body) {
  std::vector<std::byte> f(4 + body.size());
  store_i32(f.data(), static_cast<int32_t>(body.size()));
  std::memcpy(f.data() + 4, body.data(), body.size());
  return f;
}

// A raw TCP client on the test's loop that records everything it receives.
class Client {
 public:
  // `from`: the local address to connect from (any 127.x.y.z is loopback on Linux).
  Client(uv_loop_t* loop, uint16_t port, const char* from = nullptr) {
    tcp_ = new uv_tcp_t;
    uv_tcp_init(loop, tcp_);
    tcp_->data = this;
    if (from != nullptr) {
      sockaddr_in local{};
      uv_ip4_addr(from, 0, &local);
      uv_tcp_bind(tcp_, reinterpret_cast<const sockaddr*>(&local), 0);
    }
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", port, &addr);
    connect_.data = this;
    uv_tcp_connect(&connect_, tcp_, reinterpret_cast<const sockaddr*>(&addr),
                   [](uv_connect_t* c, int status) {
                     auto* self = static_cast<Client*>(c->data);
                     self->connected_ = status == 0;
                     if (status != 0) return;
                     uv_read_start(
                         c->handle,
                         [](uv_handle_t*, size_t, uv_buf_t* b) {
                           static char buf[65536];
                           *b = uv_buf_init(buf, sizeof buf);
                         },
                         [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
                           auto* cl = static_cast<Client*>(s->data);
                           if (cl == nullptr) return;
                           if (n < 0) {
                             cl->eof_ = true;
                             return;
                           }
                           cl->received_.append(b->base, static_cast<size_t>(n));
                         });
                   });
  }
  ~Client() {
    tcp_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  }
  void send(std::vector<std::byte> bytes) {
    auto* req = new Write{{}, std::move(bytes)};
    req->req.data = req;
    uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(req->data.data()),
                             static_cast<unsigned>(req->data.size()));
    uv_write(&req->req, reinterpret_cast<uv_stream_t*>(tcp_), &b, 1,
             [](uv_write_t* w, int) { delete static_cast<Write*>(w->data); });
  }
  // The bodies of the complete frames received so far.
  std::vector<std::string> frames() const {
    std::vector<std::string> out;
    size_t pos = 0;
    while (received_.size() - pos >= 4) {
      const auto n =
          static_cast<size_t>(load_i32(reinterpret_cast<const std::byte*>(received_.data() + pos)));
      if (received_.size() - pos - 4 < n) break;
      out.push_back(received_.substr(pos + 4, n));
      pos += 4 + n;
    }
    return out;
  }
  bool eof() const { return eof_; }
  // The client's own port (what the server sees as the peer's port); 0 before it connected.
  int local_port() const {
    sockaddr_storage ss{};
    int len = sizeof ss;
    if (uv_tcp_getsockname(tcp_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
    return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  bool connected() const { return connected_; }
  size_t received_bytes() const { return received_.size(); }
  // Stops and resumes reading: a client that does not read its responses.
  void pause() { uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_)); }
  void resume() {
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(tcp_),
        [](uv_handle_t*, size_t, uv_buf_t* b) {
          static char buf[65536];
          *b = uv_buf_init(buf, sizeof buf);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
          auto* cl = static_cast<Client*>(s->data);
          if (cl == nullptr) return;
          if (n < 0) {
            cl->eof_ = true;
            return;
          }
          cl->received_.append(b->base, static_cast<size_t>(n));
        });
  }

 private:
  struct Write {
    uv_write_t req;
    std::vector<std::byte> data;
  };
  uv_tcp_t* tcp_;
  uv_connect_t connect_{};
  bool connected_ = false;
  bool eof_ = false;
  std::string received_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override {
    server_.reset();
    for (int i = 0; i < 10; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  void start(ConnectionLimits limits = {}, const std::function<void(ServerOptions&)>& tweak = {}) {
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.limits = limits;
    if (tweak) tweak(o);
    server_ =
        std::make_unique<Server>(&loop_, o, [this](Connection& c, ResponseSlot slot, Buffer frame) {
          requests_.push_back(
              std::string(reinterpret_cast<const char*>(frame.data()), frame.size()));
          handler_(c, std::move(slot), requests_.back());
        });
    ASSERT_TRUE(server_->listen().ok());
    ASSERT_NE(server_->port(), 0);
  }
  // Runs the loop until `done` or a bounded number of turns.
  bool run_until(const std::function<bool()>& done) {
    uv_timer_t guard;
    uv_timer_init(&loop_, &guard);
    uv_timer_start(
        &guard, [](uv_timer_t*) {}, 10, 10);
    for (int i = 0; i < 500 && !done(); ++i) uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return done();
  }

  // Runs the loop for `ms` of loop time (to check that something does NOT happen in a window).
  void run_for(uint64_t ms) {
    uv_update_time(&loop_);
    const uint64_t end = uv_now(&loop_) + ms;
    run_until([&] { return uv_now(&loop_) >= end; });
  }

  uv_loop_t loop_{};
  std::unique_ptr<Server> server_;
  std::vector<std::string> requests_;
  std::function<void(Connection&, ResponseSlot, const std::string&)> handler_ =
      [](Connection&, ResponseSlot slot, const std::string& body) {
        slot.respond(frame_of("re:" + body));
      };
};

}  // namespace ferry::net::test_support
