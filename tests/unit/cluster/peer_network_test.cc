// The inter-node transport on one loop over 127.0.0.1: one connection per pair of nodes carrying
// requests both ways, failures of requests in flight when a peer goes away, reconnects, the
// stall detector (through a proxy that stops forwarding), refused hellos and the send bound.
#include "cluster/peer_network.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <array>
#include <csignal>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/peer_wire.h"
#include "support/loop.h"
#include "unit/cluster/raw_tcp.h"

namespace ferry::cluster {
namespace {

using test::StallProxy;
using test::TcpConn;
using test::TcpListener;

constexpr auto kEcho = static_cast<MessageType>(100);  // answered with "<node>:<payload>"
constexpr auto kHold = static_cast<MessageType>(101);  // never answered while the test holds it

Buffer bytes_of(const std::string& s) {
  Buffer b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

std::string text_of(const Buffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// A request's outcome, filled in by its callback.
struct Outcome {
  bool done = false;
  std::optional<std::string> payload;
  Errc error = Errc::ok;
  std::string message;
};

PeerNetwork::ResponseFn record(Outcome& o) {
  return [&o](Result<Buffer> r) {
    o.done = true;
    if (r) {
      o.payload = text_of(*r);
    } else {
      o.error = r.error().code();
      o.message = r.error().message();
    }
  };
}

class PeerNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);  // as ferry's executable does: writes fail with EPIPE instead
    uv_loop_init(&loop_);
  }
  void TearDown() override {
    size_t closing = 0;
    for (auto& [id, net] : nets_) {
      if (!net) continue;
      ++closing;
      net->close([&closing] { --closing; });
    }
    EXPECT_TRUE(run_until([&] { return closing == 0; }));
    nets_.clear();
    holders_.clear();
    fakes_.clear();
    for (int i = 0; i < 10; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  bool run_until(const std::function<bool()>& done, uint64_t max_ms = 10000) {
    return ferry::test::run_until(&loop_, done, max_ms);
  }
  // Runs the loop for `ms` (to see that something does NOT happen meanwhile).
  void run_for(uint64_t ms) {
    uv_update_time(&loop_);
    const uint64_t end = uv_now(&loop_) + ms;
    run_until([&] { return uv_now(&loop_) >= end; }, ms + 1000);
  }

  // A cluster of nodes 1..n on 127.0.0.1; ports are filled in once each node listens.
  static config::ClusterConfig cluster_of(int n) {
    config::ClusterConfig c;
    for (int i = 1; i <= n; ++i) c.peers.push_back({NodeId(i), "127.0.0.1", 0});
    c.listen_host = "127.0.0.1";
    c.listen_port = 0;
    c.heartbeat_interval_ms = 1000;  // a 3 s stall timeout; the stall tests set their own
    return c;
  }

  // Makes node `id` of `cluster`, listening (on `port`, 0: ephemeral), with the echo handler.
  PeerNetwork& make(int id, config::ClusterConfig cluster, PeerNetworkOptions options = {},
                    uint16_t port = 0) {
    cluster.listen_port = port;
    options.seed = static_cast<uint64_t>(id);
    auto net = std::make_unique<PeerNetwork>(&loop_, cluster, NodeId(id), options);
    EXPECT_TRUE(net->listen().ok());
    net->on_request(kEcho, [id](NodeId from, Buffer payload, Responder r) {
      r.respond(bytes_of(std::to_string(id) + "<-" + std::to_string(from.value()) + ":" +
                         text_of(payload)));
    });
    net->on_request(kHold,
                    [this](NodeId, Buffer, Responder r) { holders_.push_back(std::move(r)); });
    PeerNetwork& ref = *net;
    nets_[id] = std::move(net);
    ports_[id] = ref.listen_port();
    return ref;
  }
  // Tells every node where every other one listens.
  void wire() {
    for (auto& [id, net] : nets_) {
      for (auto& [other, port] : ports_) {
        if (other != id && net) net->set_peer_address(NodeId(other), "127.0.0.1", port);
      }
    }
  }
  PeerNetwork& net(int id) { return *nets_.at(id); }

  uv_loop_t loop_{};
  std::map<int, std::unique_ptr<PeerNetwork>> nets_;
  std::map<int, uint16_t> ports_;
  std::vector<Responder> holders_;
  std::vector<std::unique_ptr<TcpConn>> fakes_;
};

TEST_F(PeerNetworkTest, ThreeNodesOneConnectionPerPairRequestsBothWays) {
  const config::ClusterConfig c = cluster_of(3);
  PeerNetworkOptions quiet;
  quiet.stall_timeout_ms = 60000;  // no pings: the frame counts below are the requests'
  for (int id = 1; id <= 3; ++id) make(id, c, quiet);
  wire();
  // Every node dials in the same loop turn: the lower id dials, so each pair still gets one.
  for (int id = 1; id <= 3; ++id) net(id).connect();
  auto all_connected = [&] {
    for (int a = 1; a <= 3; ++a) {
      for (int b = 1; b <= 3; ++b) {
        if (a != b && !net(a).connected(NodeId(b))) return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(run_until(all_connected));

  std::map<std::pair<int, int>, Outcome> out;
  for (int a = 1; a <= 3; ++a) {
    for (int b = 1; b <= 3; ++b) {
      if (a == b) continue;
      net(a).request(NodeId(b), kEcho, bytes_of("hi"), record(out[{a, b}]));
    }
  }
  ASSERT_TRUE(run_until([&] {
    for (auto& [k, o] : out) {
      if (!o.done) return false;
    }
    return true;
  }));
  for (auto& [k, o] : out) {
    ASSERT_TRUE(o.payload) << o.message;
    EXPECT_EQ(*o.payload, std::to_string(k.second) + "<-" + std::to_string(k.first) + ":hi");
  }
  // Node 1 accepts nothing, node 2 the link from 1, node 3 those from 1 and 2: three
  // connections for three pairs, and they stay so.
  run_for(300);
  EXPECT_EQ(net(1).accepted_connections(), 0u);
  EXPECT_EQ(net(2).accepted_connections(), 1u);
  EXPECT_EQ(net(3).accepted_connections(), 2u);
  for (int a = 1; a <= 3; ++a) {
    for (int b = 1; b <= 3; ++b) {
      if (a == b) continue;
      const PeerCounters pc = net(a).counters(NodeId(b));
      EXPECT_EQ(pc.connects, 1u) << a << "->" << b;
      EXPECT_EQ(pc.reconnects, 0u);
      EXPECT_EQ(pc.frames_sent, 2u);  // its request and the other's response
      EXPECT_EQ(pc.frames_received, 2u);
    }
  }
}

TEST_F(PeerNetworkTest, RequestErrorsWithoutALinkOrHandler) {
  const config::ClusterConfig c = cluster_of(2);
  make(1, c);
  make(2, c);
  wire();
  Outcome before, unknown, self;
  net(1).request(NodeId(2), kEcho, bytes_of("x"), record(before));
  net(1).request(NodeId(7), kEcho, bytes_of("x"), record(unknown));
  net(1).request(NodeId(1), kEcho, bytes_of("x"), record(self));
  EXPECT_FALSE(before.done);  // never inside request()
  ASSERT_TRUE(run_until([&] { return before.done && unknown.done && self.done; }));
  EXPECT_EQ(before.error, Errc::closed);
  EXPECT_EQ(unknown.error, Errc::invalid_argument);
  EXPECT_EQ(self.error, Errc::invalid_argument);

  net(1).connect();
  net(2).connect();
  ASSERT_TRUE(run_until([&] { return net(1).connected(NodeId(2)); }));
  Outcome no_handler, too_large;
  net(1).request(NodeId(2), static_cast<MessageType>(999), bytes_of("x"), record(no_handler));
  net(1).request(NodeId(2), kEcho, Buffer(PeerNetworkOptions{}.limits.max_frame_bytes),
                 record(too_large));
  ASSERT_TRUE(run_until([&] { return no_handler.done && too_large.done; }));
  EXPECT_EQ(no_handler.error, Errc::unsupported) << no_handler.message;
  EXPECT_EQ(too_large.error, Errc::too_large);
  // A held request answered when its Responder goes away unanswered.
  Outcome dropped;
  net(1).request(NodeId(2), kHold, bytes_of("x"), record(dropped));
  ASSERT_TRUE(run_until([&] { return holders_.size() == 1; }));
  holders_.clear();
  ASSERT_TRUE(run_until([&] { return dropped.done; }));
  EXPECT_EQ(dropped.error, Errc::failed_state);
  EXPECT_TRUE(net(1).connected(NodeId(2)));
}

TEST_F(PeerNetworkTest, KilledPeerFailsRequestsInFlightAndReconnectsWhenBack) {
  const config::ClusterConfig c = cluster_of(2);
  make(1, c);
  make(2, c);
  wire();
  net(1).connect();
  net(2).connect();
  ASSERT_TRUE(run_until([&] { return net(1).connected(NodeId(2)); }));

  // In flight both ways when node 2 goes away.
  Outcome from1, from2;
  net(1).request(NodeId(2), kHold, bytes_of("a"), record(from1));
  net(2).request(NodeId(1), kHold, bytes_of("b"), record(from2));
  ASSERT_TRUE(run_until([&] { return holders_.size() == 2; }));
  const uint16_t port2 = ports_[2];
  bool closed2 = false;
  net(2).close([&] { closed2 = true; });
  EXPECT_TRUE(from2.done);  // close() fails its own requests before it returns
  EXPECT_EQ(from2.error, Errc::closed);
  ASSERT_TRUE(run_until([&] { return closed2 && from1.done; }));
  nets_.erase(2);
  EXPECT_EQ(from1.error, Errc::closed) << from1.message;
  EXPECT_FALSE(net(1).connected(NodeId(2)));
  holders_.clear();  // answering on a dead link sends nothing

  // While node 2 is down, dials fail and back off.
  ASSERT_TRUE(run_until([&] { return net(1).counters(NodeId(2)).dial_failures >= 2; }));
  // Node 2 comes back on the same port; node 1 dials it again.
  make(2, c, {}, port2);
  ASSERT_EQ(ports_[2], port2);
  wire();
  net(2).connect();
  ASSERT_TRUE(run_until([&] { return net(1).connected(NodeId(2)); }));
  Outcome again;
  net(1).request(NodeId(2), kEcho, bytes_of("back"), record(again));
  ASSERT_TRUE(run_until([&] { return again.done; }));
  ASSERT_TRUE(again.payload) << again.message;
  EXPECT_EQ(*again.payload, "2<-1:back");
  EXPECT_EQ(net(1).counters(NodeId(2)).connects, 2u);
  EXPECT_EQ(net(1).counters(NodeId(2)).reconnects, 1u);
}

TEST_F(PeerNetworkTest, StalledPeerIsDetectedAndRedialled) {
  const config::ClusterConfig c = cluster_of(2);
  PeerNetworkOptions o;
  o.stall_timeout_ms = 300;
  make(1, c, o);
  make(2, c, o);
  wire();
  StallProxy proxy(&loop_, ports_[2]);
  net(1).set_peer_address(NodeId(2), "127.0.0.1", proxy.port());
  net(1).connect();
  net(2).connect();
  ASSERT_TRUE(run_until([&] { return net(1).connected(NodeId(2)); }));
  Outcome first;
  net(1).request(NodeId(2), kEcho, bytes_of("1"), record(first));
  ASSERT_TRUE(run_until([&] { return first.done; }));
  ASSERT_TRUE(first.payload);

  // The path goes silent without closing: only the stall detector can notice.
  proxy.stall();
  Outcome stalled;
  net(1).request(NodeId(2), kEcho, bytes_of("2"), record(stalled));
  ASSERT_TRUE(run_until([&] { return stalled.done; }, 5000));
  EXPECT_EQ(stalled.error, Errc::closed);
  EXPECT_NE(stalled.message.find("stalled"), std::string::npos) << stalled.message;
  EXPECT_EQ(net(1).counters(NodeId(2)).stalls, 1u);

  // Redialled through the proxy (a new connection forwards): node 2 replaces its old link.
  ASSERT_TRUE(run_until([&] { return net(1).connected(NodeId(2)) && proxy.accepted() == 2; }));
  Outcome after;
  net(1).request(NodeId(2), kEcho, bytes_of("3"), record(after));
  ASSERT_TRUE(run_until([&] { return after.done; }));
  ASSERT_TRUE(after.payload) << after.message;
  EXPECT_EQ(*after.payload, "2<-1:3");
  EXPECT_EQ(net(2).accepted_connections(), 2u);
  EXPECT_TRUE(net(2).connected(NodeId(1)));
  EXPECT_EQ(net(1).counters(NodeId(2)).reconnects, 1u);
}

TEST_F(PeerNetworkTest, IdleLinkThatGoesSilentIsNoticedByBothEnds) {
  const config::ClusterConfig c = cluster_of(2);
  PeerNetworkOptions o;
  o.stall_timeout_ms = 300;
  make(1, c, o);
  make(2, c, o);
  wire();
  StallProxy proxy(&loop_, ports_[2]);
  net(1).set_peer_address(NodeId(2), "127.0.0.1", proxy.port());
  net(1).connect();
  ASSERT_TRUE(
      run_until([&] { return net(1).connected(NodeId(2)) && net(2).connected(NodeId(1)); }));
  // No request from either side: the pings of an idle link are what turn silence into a stall.
  proxy.stall();
  ASSERT_TRUE(run_until(
      [&] {
        return net(1).counters(NodeId(2)).stalls >= 1 && net(2).counters(NodeId(1)).stalls >= 1;
      },
      5000));
  ASSERT_TRUE(run_until([&] {
    return proxy.accepted() >= 2 && net(1).connected(NodeId(2)) && net(2).connected(NodeId(1));
  }));
  Outcome after;
  net(2).request(NodeId(1), kEcho, bytes_of("x"), record(after));
  ASSERT_TRUE(run_until([&] { return after.done; }));
  ASSERT_TRUE(after.payload) << after.message;
  EXPECT_EQ(*after.payload, "1<-2:x");
}

// Sends `hello` to node 2 from a raw connection and returns what came back before the close.
std::vector<std::byte> hello_answer(uv_loop_t* loop, uint16_t port,
                                    std::span<const std::byte> hello, bool* closed) {
  TcpConn conn(loop);
  conn.connect(port, [&](int status) {
    if (status != 0) return;
    conn.start_reading();
    conn.write(hello);
  });
  ferry::test::run_until(
      loop, [&] { return conn.eof; }, 5000);
  *closed = conn.eof;
  return conn.received;
}

TEST_F(PeerNetworkTest, WrongHellosAreRefused) {
  const config::ClusterConfig c = cluster_of(3);
  make(2, c);
  const uint16_t port = ports_[2];
  auto ask = [&](Hello h, HelloStatus expected) {
    std::array<std::byte, kHelloSize> bytes{};
    encode_hello(h, bytes);
    bool closed = false;
    const std::vector<std::byte> answer = hello_answer(&loop_, port, bytes, &closed);
    EXPECT_TRUE(closed);
    ASSERT_EQ(answer.size(), kHelloSize);
    Result<Hello> got =
        decode_hello(std::span<const std::byte, kHelloSize>(answer.data(), kHelloSize));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->status, expected) << hello_status_name(got->status);
    EXPECT_EQ(got->sender, NodeId(2));
  };
  ask(Hello{kPeerProtocolVersion, HelloStatus::ok, NodeId(9), NodeId(2)},
      HelloStatus::unknown_sender);
  ask(Hello{kPeerProtocolVersion, HelloStatus::ok, NodeId(3), NodeId(2)},
      HelloStatus::wrong_direction);
  ask(Hello{kPeerProtocolVersion, HelloStatus::ok, NodeId(1), NodeId(3)},
      HelloStatus::wrong_receiver);
  ask(Hello{2, HelloStatus::ok, NodeId(1), NodeId(2)}, HelloStatus::bad_version);
  EXPECT_EQ(net(2).refused_hellos(), 4u);
  // Not a ferry node at all: closed without an answer.
  std::array<std::byte, kHelloSize> junk{};
  bool closed = false;
  EXPECT_TRUE(hello_answer(&loop_, port, junk, &closed).empty());
  EXPECT_TRUE(closed);
  EXPECT_FALSE(net(2).connected(NodeId(1)));

  // A dialer whose address list points at the wrong node hears the refusal and backs off.
  config::ClusterConfig wrong = cluster_of(3);
  make(1, wrong);
  net(1).set_peer_address(NodeId(2), "127.0.0.1", 1);     // nobody there
  net(1).set_peer_address(NodeId(3), "127.0.0.1", port);  // node 2, not 3
  net(1).connect();
  ASSERT_TRUE(run_until([&] { return net(2).refused_hellos() >= 6; }));
  EXPECT_FALSE(net(1).connected(NodeId(3)));
  EXPECT_GE(net(1).counters(NodeId(3)).dial_failures, 1u);
  EXPECT_EQ(net(1).counters(NodeId(3)).connects, 0u);
}

TEST_F(PeerNetworkTest, APeerThatDoesNotReadIsDroppedAtTheSendBound) {
  // Node 2 is a fake: it answers the hello, then never reads again.
  TcpListener fake(&loop_, [this](std::unique_ptr<TcpConn> conn) {
    TcpConn* c = conn.get();
    c->on_data = [c](std::span<const std::byte> bytes) {
      c->received.insert(c->received.end(), bytes.begin(), bytes.end());
      if (c->received.size() < kHelloSize) return;
      std::array<std::byte, kHelloSize> answer{};
      encode_hello(Hello{kPeerProtocolVersion, HelloStatus::ok, NodeId(2), NodeId(1)}, answer);
      c->write(answer);
      c->stop_reading();
    };
    c->start_reading();
    fakes_.push_back(std::move(conn));
  });
  PeerNetworkOptions o;
  o.limits.max_frame_bytes = 1u << 20;
  o.limits.max_send_buffer_bytes = 2u << 20;
  o.stall_timeout_ms = 60000;  // only the send bound may act here
  make(1, cluster_of(2), o);
  net(1).set_peer_address(NodeId(2), "127.0.0.1", fake.port());
  net(1).connect();
  ASSERT_TRUE(run_until([&] { return net(1).connected(NodeId(2)); }));

  std::vector<Outcome> out(400);  // 400 x 512 KiB: far more than the socket buffers take
  uint64_t peak = 0;
  size_t sent = 0;
  while (sent < out.size() && net(1).counters(NodeId(2)).send_overflows == 0) {
    net(1).request(NodeId(2), kEcho, Buffer(512u << 10), record(out[sent++]));
    peak = std::max(peak, net(1).send_buffered_bytes(NodeId(2)));
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  EXPECT_EQ(net(1).counters(NodeId(2)).send_overflows, 1u);
  EXPECT_LT(sent, out.size());
  EXPECT_LE(peak, o.limits.max_send_buffer_bytes);
  // Every request sent on the dropped link fails with closed.
  ASSERT_TRUE(run_until([&] {
    for (size_t i = 0; i < sent; ++i) {
      if (!out[i].done) return false;
    }
    return true;
  }));
  for (size_t i = 0; i < sent; ++i) EXPECT_EQ(out[i].error, Errc::closed) << i;
}

}  // namespace
}  // namespace ferry::cluster
