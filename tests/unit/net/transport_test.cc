// The Transport contract: TcpTransport over a real loopback socket (reads into the sink's
// buffer, ordered multi-piece writes, stop/start, shutdown, close cancelling writes), and a
// Connection running over an in-memory transport that delivers bytes in odd pieces and
// completes writes late, as a TLS transport would: framing and ordering do not depend on TCP.
#include "net/transport.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/connection.h"
#include "net_fixture.h"

namespace ferry::net {
namespace {

using test_support::Client;
using test_support::frame_of;

std::span<const std::byte> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::vector<std::byte> vec_of(const std::string& s) {
  const auto b = bytes_of(s);
  return {b.begin(), b.end()};
}

// Records what a transport delivers, into a deliberately small buffer.
class RecordingSink final : public TransportSink {
 public:
  explicit RecordingSink(size_t buffer_size) : buffer_(buffer_size) {}
  std::span<std::byte> read_buffer() override { return buffer_; }
  void on_read(std::span<const std::byte> bytes) override {
    ++reads;
    if (bytes.data() != buffer_.data()) foreign_buffer = true;
    received.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  void on_read_end(int status) override { end = status; }

  std::string received;
  int reads = 0;
  bool foreign_buffer = false;
  std::optional<int> end;

 private:
  std::vector<std::byte> buffer_;
};

class TcpTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    uv_tcp_init(&loop_, &listener_);
    listener_.data = this;
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", 0, &addr);
    ASSERT_EQ(uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0), 0);
    ASSERT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 8,
                        [](uv_stream_t* s, int status) {
                          auto* self = static_cast<TcpTransportTest*>(s->data);
                          if (status != 0) return;
                          auto* tcp = new uv_tcp_t;
                          uv_tcp_init(s->loop, tcp);
                          if (uv_accept(s, reinterpret_cast<uv_stream_t*>(tcp)) != 0) {
                            uv_close(reinterpret_cast<uv_handle_t*>(tcp),
                                     [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
                            return;
                          }
                          self->accepted_ = std::make_unique<TcpTransport>(tcp);
                        }),
              0);
    sockaddr_in bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(bound.sin_port);
  }
  void TearDown() override {
    accepted_.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    for (int i = 0; i < 10; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  bool run_until(const std::function<bool()>& done) {
    return ferry::test::run_until(&loop_, done, 5000);
  }
  // The server side of a fresh connection from `client`.
  TcpTransport& accept(Client& client) {
    EXPECT_TRUE(run_until([&] { return accepted_ != nullptr && client.connected(); }));
    return *accepted_;
  }

  uv_loop_t loop_{};
  uv_tcp_t listener_{};
  uint16_t port_ = 0;
  std::unique_ptr<TcpTransport> accepted_;
};

TEST_F(TcpTransportTest, ReadsIntoTheSinksBufferAndWritesPiecesInOrder) {
  Client client(&loop_, port_);
  TcpTransport& t = accept(client);
  EXPECT_EQ(t.peer(), "127.0.0.1:" + std::to_string(client.local_port()));
  EXPECT_EQ(t.loop(), &loop_);

  RecordingSink sink(5);  // smaller than what arrives: several reads
  t.set_sink(&sink);
  ASSERT_EQ(t.start_reading(), 0);
  const std::string sent = "bytes in, in order";
  client.send(vec_of(sent));
  ASSERT_TRUE(run_until([&] { return sink.received.size() == sent.size(); }));
  EXPECT_EQ(sink.received, sent);
  EXPECT_GE(sink.reads, 4);
  EXPECT_FALSE(sink.foreign_buffer) << "bytes must land in the buffer the sink handed out";

  const std::string a = "head-", b = "splice-", c = "tail";
  const std::vector<std::span<const std::byte>> pieces{bytes_of(a), {}, bytes_of(b), bytes_of(c)};
  int calls = 0;
  int status = -1;
  bool inside_write = true;
  ASSERT_EQ(t.write(pieces,
                    [&](int st) {
                      EXPECT_FALSE(inside_write) << "write completions never run inside write()";
                      ++calls;
                      status = st;
                    }),
            0);
  inside_write = false;
  ASSERT_TRUE(run_until([&] { return client.received_bytes() == 16 && calls == 1; }));
  EXPECT_EQ(status, 0);
  EXPECT_EQ(calls, 1);
}

TEST_F(TcpTransportTest, NothingIsDeliveredWhileStoppedNorInsideStartReading) {
  Client client(&loop_, port_);
  TcpTransport& t = accept(client);
  RecordingSink sink(1024);
  t.set_sink(&sink);
  ASSERT_EQ(t.start_reading(), 0);
  client.send(vec_of("one"));
  ASSERT_TRUE(run_until([&] { return sink.received == "one"; }));
  t.stop_reading();
  t.stop_reading();  // idempotent
  client.send(vec_of("two"));
  for (int i = 0; i < 30; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(sink.received, "one");
  ASSERT_EQ(t.start_reading(), 0);
  EXPECT_EQ(sink.received, "one") << "start_reading() must not call the sink itself";
  ASSERT_TRUE(run_until([&] { return sink.received == "onetwo"; }));
}

TEST_F(TcpTransportTest, ShutdownEndsTheStreamAfterQueuedWrites) {
  Client client(&loop_, port_);
  TcpTransport& t = accept(client);
  const std::string bye = "goodbye";
  const std::vector<std::span<const std::byte>> pieces{bytes_of(bye)};
  int written = -1;
  int shut = -1;
  ASSERT_EQ(t.write(pieces, [&](int st) { written = st; }), 0);
  ASSERT_EQ(t.shutdown([&](int st) { shut = st; }), 0);
  ASSERT_TRUE(run_until([&] { return client.eof(); }));
  EXPECT_EQ(client.received_bytes(), bye.size());
  EXPECT_EQ(written, 0);
  ASSERT_TRUE(run_until([&] { return shut == 0; }));
}

TEST_F(TcpTransportTest, CloseCancelsQueuedWritesAndTheTransportMayGoAtOnce) {
  Client client(&loop_, port_);
  TcpTransport& t = accept(client);
  client.pause();  // the client does not read: a large write cannot finish
  std::vector<std::byte> big(32u << 20, std::byte{'x'});
  const std::vector<std::span<const std::byte>> pieces{big};
  int calls = 0;
  int status = 0;
  ASSERT_EQ(t.write(pieces,
                    [&](int st) {
                      ++calls;
                      status = st;
                    }),
            0);
  for (int i = 0; i < 10; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(calls, 0);
  RecordingSink sink(64);
  t.set_sink(&sink);
  t.close();
  t.close();  // idempotent
  EXPECT_NE(t.start_reading(), 0);
  accepted_.reset();  // destroyed while its write is still queued
  ASSERT_TRUE(run_until([&] { return calls == 1; }));
  EXPECT_EQ(status, UV_ECANCELED);
  EXPECT_EQ(sink.reads, 0);
}

// An in-memory transport: bytes fed by the test arrive in 3-byte pieces, writes are kept and
// completed only when the test says so (as a TLS transport completes them once its ciphertext
// is out).
class MemoryTransport final : public Transport {
 public:
  explicit MemoryTransport(uv_loop_t* loop) : loop_(loop) {}
  void set_sink(TransportSink* sink) noexcept override { sink_ = sink; }
  int start_reading() override {
    reading = true;
    return closed ? UV_EBADF : 0;
  }
  void stop_reading() override { reading = false; }
  int write(std::span<const std::span<const std::byte>> pieces, WriteDone done) override {
    std::string copy;
    for (const auto& p : pieces) copy.append(reinterpret_cast<const char*>(p.data()), p.size());
    pending.push_back({std::move(copy), std::move(done)});
    return 0;
  }
  int shutdown(ShutdownDone done) override {
    shutdown_done = std::move(done);
    return 0;
  }
  void close() override {
    closed = true;
    reading = false;
  }
  const std::string& peer() const noexcept override { return peer_; }
  uv_loop_t* loop() const noexcept override { return loop_; }

  // Delivers `bytes` while reading, in pieces of at most 3 bytes; returns how many went in.
  size_t feed(const std::string& bytes) {
    size_t pos = 0;
    while (pos < bytes.size() && reading && !closed) {
      std::span<std::byte> buf = sink_->read_buffer();
      const size_t n = std::min({size_t{3}, buf.size(), bytes.size() - pos});
      std::memcpy(buf.data(), bytes.data() + pos, n);
      pos += n;
      sink_->on_read(buf.first(n));
    }
    return pos;
  }
  // Completes the oldest pending write.
  void complete_one() {
    auto w = std::move(pending.front());
    pending.pop_front();
    out += w.bytes;
    w.done(0);
  }

  struct Pending {
    std::string bytes;
    WriteDone done;
  };
  std::deque<Pending> pending;
  std::string out;
  ShutdownDone shutdown_done;
  bool reading = false;
  bool closed = false;

 private:
  uv_loop_t* loop_;
  TransportSink* sink_ = nullptr;
  std::string peer_ = "192.0.2.7:4242";
};

TEST(ConnectionOverATransport, FramingOrderingAndDrainDoNotDependOnTheSocket) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    auto owned = std::make_unique<MemoryTransport>(&loop);
    MemoryTransport* t = owned.get();
    std::vector<ResponseSlot> slots;
    std::vector<std::string> bodies;
    bool closed = false;
    auto conn = std::make_shared<Connection>(
        std::move(owned), 7, ListenerInfo{"EDGE", SecurityProtocol::plaintext}, ConnectionLimits{},
        std::make_shared<MemoryBudget>(1u << 20),
        [&](Connection& c, ResponseSlot slot, Buffer frame) {
          EXPECT_EQ(c.session()->peer, "192.0.2.7:4242");
          EXPECT_EQ(c.session()->peer_host, "192.0.2.7");
          EXPECT_EQ(c.session()->listener.name, "EDGE");
          bodies.emplace_back(reinterpret_cast<const char*>(frame.data()), frame.size());
          slots.push_back(std::move(slot));
        },
        [&](Connection&) { closed = true; });
    conn->start();
    ASSERT_TRUE(t->reading);
    std::string wire;
    for (const char* b : {"request-one", "request-two"}) {
      auto f = frame_of(b);
      wire.append(reinterpret_cast<const char*>(f.data()), f.size());
    }
    EXPECT_EQ(t->feed(wire), wire.size());
    ASSERT_EQ(bodies, (std::vector<std::string>{"request-one", "request-two"}));

    // Completed out of order, written in order; each write completes when the transport says.
    slots[1].respond(frame_of("answer-two"));
    EXPECT_TRUE(t->pending.empty()) << "the second answer waits for the first";
    slots[0].respond(frame_of("answer-one"));
    ASSERT_EQ(t->pending.size(), 2u);
    t->complete_one();
    t->complete_one();
    std::string expected;
    for (const char* b : {"answer-one", "answer-two"}) {
      auto f = frame_of(b);
      expected.append(reinterpret_cast<const char*>(f.data()), f.size());
    }
    EXPECT_EQ(t->out, expected);
    EXPECT_EQ(conn->pending_bytes(), 0u);

    // Drain: the outgoing stream is shut down first, then the connection closes.
    conn->close_when_drained();
    EXPECT_FALSE(closed);
    ASSERT_TRUE(t->shutdown_done);
    t->shutdown_done(0);
    EXPECT_TRUE(closed);
    EXPECT_TRUE(t->closed);
  }
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace ferry::net
