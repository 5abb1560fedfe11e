// TlsTransport under a real Server on 127.0.0.1: requests and large responses over TLS, large
// requests, the client certificate's principal in the Session, a plaintext client on a TLS
// listener and a TLS client on a plaintext one (each closed with a log line naming the peer
// while another connection goes on), close_notify, and a reload that keeps live connections.
#include "net/tls_transport.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "net_fixture.h"
#include "support/certs.h"
#include "support/test_support.h"

namespace ferry::net {
namespace {

using ferry::test::cert;
using test_support::frame_of;

// A TLS client on the test's loop: a TlsTransport with a client engine over a connected socket,
// recording the frames it receives.
class TlsClient final : public TransportSink {
 public:
  TlsClient(uv_loop_t* loop, uint16_t port, tls::ClientOptions options,
            std::string host = "localhost")
      : host_(std::move(host)) {
    auto ctx = tls::Context::client(options);
    EXPECT_TRUE(ctx.ok()) << (ctx ? "" : ctx.error().message());
    ctx_ = *ctx;
    auto* tcp = new uv_tcp_t;
    uv_tcp_init(loop, tcp);
    tcp->data = this;
    connect_.data = this;
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", port, &addr);
    uv_tcp_connect(&connect_, tcp, reinterpret_cast<const sockaddr*>(&addr),
                   [](uv_connect_t* req, int status) {
                     auto* self = static_cast<TlsClient*>(req->data);
                     auto* t = reinterpret_cast<uv_tcp_t*>(req->handle);
                     if (self == nullptr) {
                       uv_close(reinterpret_cast<uv_handle_t*>(t),
                                [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
                       return;
                     }
                     self->on_connect(t, status);
                   });
  }
  ~TlsClient() override {
    if (transport_) {
      transport_.reset();
    } else {
      connect_.data = nullptr;  // the connect callback frees the handle
    }
  }

  void send(const std::vector<std::byte>& bytes) {
    outgoing_.push_back(bytes);
    if (transport_) flush();
  }
  void shutdown() {
    ASSERT_TRUE(transport_);
    EXPECT_EQ(transport_->shutdown([c = counts](int st) { c->shutdown_status = st; }), 0);
  }

  std::vector<std::string> frames() const {
    std::vector<std::string> out;
    size_t pos = 0;
    while (rx_.size() - pos >= 4) {
      const auto n = static_cast<size_t>(load_i32(rx_.data() + pos));
      if (rx_.size() - pos - 4 < n) break;
      out.emplace_back(reinterpret_cast<const char*>(rx_.data() + pos + 4), n);
      pos += 4 + n;
    }
    return out;
  }

  std::span<std::byte> read_buffer() override { return buf_; }
  void on_read(std::span<const std::byte> bytes) override {
    rx_.insert(rx_.end(), bytes.begin(), bytes.end());
  }
  void on_read_end(int status) override { end = status; }

  std::optional<int> end;
  // Outlive the client: a write cancelled by its close completes later.
  struct Counts {
    std::optional<int> shutdown_status;
    int writes_done = 0;
    int write_errors = 0;
  };
  std::shared_ptr<Counts> counts = std::make_shared<Counts>();
  const TlsTransport* transport() const { return transport_.get(); }

 private:
  void on_connect(uv_tcp_t* tcp, int status) {
    if (status != 0) {
      end = status;
      uv_close(reinterpret_cast<uv_handle_t*>(tcp),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
      return;
    }
    auto engine = tls::Engine::client(ctx_, host_);
    ASSERT_TRUE(engine.ok());
    transport_ = std::make_unique<TlsTransport>(tcp, std::move(*engine));
    transport_->set_sink(this);
    ASSERT_EQ(transport_->start_reading(), 0);
    flush();
  }
  void flush() {
    for (auto& b : outgoing_) {
      auto held = std::make_shared<std::vector<std::byte>>(std::move(b));
      const std::span<const std::byte> piece(*held);
      EXPECT_EQ(transport_->write(
                    std::span(&piece, 1),
                    [c = counts, held](int st) { st == 0 ? ++c->writes_done : ++c->write_errors; }),
                0);
    }
    outgoing_.clear();
  }

  std::string host_;
  std::shared_ptr<const tls::Context> ctx_;
  uv_connect_t connect_{};
  std::unique_ptr<TlsTransport> transport_;
  std::vector<std::vector<std::byte>> outgoing_;
  std::vector<std::byte> rx_;
  std::vector<std::byte> buf_ = std::vector<std::byte>(5000);
};

tls::ClientOptions client_options(bool with_cert = false) {
  tls::ClientOptions o;
  o.ca_file = cert("ca.pem");
  if (with_cert) {
    o.certificate_file = cert("client.pem");
    o.key_file = cert("client.key");
  }
  return o;
}

class TlsServerTest : public test_support::ServerTest {
 protected:
  void start_tls(tls::ClientAuth auth = tls::ClientAuth::none,
                 const std::string& certificate = "server") {
    tls::ServerOptions o;
    o.certificate_file = cert(certificate + ".pem");
    o.key_file = cert(certificate + ".key");
    o.ca_file = cert("ca.pem");
    o.client_auth = auth;
    auto ctx = tls::ReloadableServerContext::create(o);
    ASSERT_TRUE(ctx.ok()) << ctx.error().message();
    tls_ = *ctx;
    start({}, [&](ServerOptions& so) {
      so.listener = ListenerInfo{"SSL", SecurityProtocol::ssl};
      so.tls = tls_;
    });
  }
  std::shared_ptr<tls::ReloadableServerContext> tls_;
};

TEST_F(TlsServerTest, RequestsAndLargeTransfersBothWays) {
  start_tls();
  const std::string big_response(6 * 1024 * 1024 + 11, 'r');
  handler_ = [&](Connection&, ResponseSlot slot, const std::string& body) {
    if (body == "big response") {
      // Several pieces, as a fetch response views record sets in place.
      OutFrame f;
      f.bytes = frame_of("ab");
      store_i32(f.bytes.data(), static_cast<int32_t>(big_response.size() + 2));
      f.splices.push_back(Splice{
          5, std::span<const std::byte>(reinterpret_cast<const std::byte*>(big_response.data()),
                                        big_response.size())});
      slot.respond(std::move(f));
    } else {
      slot.respond(frame_of("re:" + std::to_string(body.size())));
    }
  };
  TlsClient c(&loop_, server_->port(), client_options());
  c.send(frame_of("small request"));
  c.send(frame_of(std::string(3 * 1024 * 1024, 'q')));  // a large request
  c.send(frame_of("big response"));
  c.send(frame_of("after the big one"));
  ASSERT_TRUE(run_until([&] { return c.frames().size() == 4 || c.end; }));
  const auto f = c.frames();
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], "re:13");
  EXPECT_EQ(f[1], "re:" + std::to_string(3 * 1024 * 1024));
  EXPECT_EQ(f[2], "a" + big_response + "b");
  EXPECT_EQ(f[3], "re:17");
  EXPECT_EQ(c.counts->writes_done, 4);
  ASSERT_NE(c.transport(), nullptr);
  EXPECT_NE(c.transport()->engine().description().find("TLSv1.2"), std::string::npos);
}

TEST_F(TlsServerTest, ClientCertificateBecomesThePrincipal) {
  start_tls(tls::ClientAuth::required);
  std::string principal;
  handler_ = [&](Connection& conn, ResponseSlot slot, const std::string&) {
    principal = conn.session()->principal.to_string();
    slot.respond(frame_of(std::string(auth_state_name(conn.session()->auth))));
  };
  ferry::test::LogCapture logs;
  TlsClient c(&loop_, server_->port(), client_options(true));
  c.send(frame_of("who am I?"));
  ASSERT_TRUE(run_until([&] { return !c.frames().empty() || c.end; }));
  EXPECT_EQ(principal, std::string("User:") + ferry::test::kClientSubject);
  EXPECT_EQ(c.frames().at(0), "authenticated");
  EXPECT_TRUE(logs.saw("principal User:CN=sensor7,OU=line2,O=acme"));

  // Without a certificate the handshake is refused and the peer is named in the log.
  TlsClient anonymous(&loop_, server_->port(), client_options(false));
  anonymous.send(frame_of("who am I?"));
  ASSERT_TRUE(run_until([&] { return anonymous.end.has_value(); }));
  EXPECT_TRUE(anonymous.frames().empty());
  EXPECT_TRUE(logs.saw("TLS connection with 127.0.0.1:"));
  EXPECT_TRUE(run_until([&] { return server_->connection_count() == 1; }));
}

TEST_F(TlsServerTest, PlaintextClientOnTlsListenerIsClosedOthersGoOn) {
  start_tls();
  ferry::test::LogCapture logs;
  TlsClient good(&loop_, server_->port(), client_options());
  good.send(frame_of("first request"));
  ASSERT_TRUE(run_until([&] { return good.frames().size() == 1; }));
  test_support::Client plain(&loop_, server_->port());
  plain.send(frame_of("plaintext request"));
  ASSERT_TRUE(run_until([&] { return plain.eof(); }));
  EXPECT_TRUE(plain.frames().empty());
  EXPECT_TRUE(logs.saw("not a TLS ClientHello"));
  EXPECT_TRUE(logs.saw("127.0.0.1:" + std::to_string(plain.local_port())));
  good.send(frame_of("second request"));
  ASSERT_TRUE(run_until([&] { return good.frames().size() == 2; }));
  EXPECT_FALSE(good.end.has_value());
}

TEST_F(TlsServerTest, TlsClientOnPlaintextListenerIsClosedOthersGoOn) {
  start();
  ferry::test::LogCapture logs;
  test_support::Client plain(&loop_, server_->port());
  plain.send(frame_of("first request"));
  ASSERT_TRUE(run_until([&] { return plain.frames().size() == 1; }));
  TlsClient tls_client(&loop_, server_->port(), client_options());
  tls_client.send(frame_of("xxxxxxxxxxx"));
  ASSERT_TRUE(run_until([&] { return tls_client.end.has_value(); }));
  EXPECT_TRUE(logs.saw("TLS ClientHello on PLAINTEXT listener"));
  plain.send(frame_of("second request"));
  ASSERT_TRUE(run_until([&] { return plain.frames().size() == 2; }));
  EXPECT_FALSE(plain.eof());
}

TEST_F(TlsServerTest, ShutdownSendsCloseNotify) {
  start_tls();
  TlsClient c(&loop_, server_->port(), client_options());
  c.send(frame_of("first request"));
  ASSERT_TRUE(run_until([&] { return c.frames().size() == 1; }));
  ASSERT_EQ(server_->connection_count(), 1u);
  c.shutdown();
  // The server reads close_notify as the end of the stream and closes its side.
  ASSERT_TRUE(run_until([&] { return server_->connection_count() == 0 && c.end.has_value(); }));
  EXPECT_EQ(c.counts->shutdown_status, 0);
}

TEST_F(TlsServerTest, ServerDrainSendsCloseNotifyToTheClient) {
  start_tls();
  TlsClient c(&loop_, server_->port(), client_options());
  c.send(frame_of("first request"));
  ASSERT_TRUE(run_until([&] { return c.frames().size() == 1; }));
  bool drained = false;
  server_->drain([&] { drained = true; });
  ASSERT_TRUE(run_until([&] { return drained && c.end.has_value(); }));
  EXPECT_EQ(*c.end, UV_EOF);
}

TEST_F(TlsServerTest, ReloadKeepsLiveConnections) {
  ferry::test::TempDir dir;
  namespace fs = std::filesystem;
  fs::copy_file(cert("server.pem"), dir.file("live.pem"));
  fs::copy_file(cert("server.key"), dir.file("live.key"));
  tls::ServerOptions o;
  o.certificate_file = dir.file("live.pem");
  o.key_file = dir.file("live.key");
  auto ctx = tls::ReloadableServerContext::create(o);
  ASSERT_TRUE(ctx.ok());
  tls_ = *ctx;
  start({}, [&](ServerOptions& so) { so.tls = tls_; });
  TlsClient before(&loop_, server_->port(), client_options());
  before.send(frame_of("first request"));
  ASSERT_TRUE(run_until([&] { return before.frames().size() == 1; }));

  fs::copy_file(cert("wronghost.pem"), dir.file("live.pem"), fs::copy_options::overwrite_existing);
  fs::copy_file(cert("wronghost.key"), dir.file("live.key"), fs::copy_options::overwrite_existing);
  ASSERT_TRUE(tls_->reload().ok());

  TlsClient after(&loop_, server_->port(), client_options());
  after.send(frame_of("xxxxxxxxxxx"));
  ASSERT_TRUE(run_until([&] { return after.end.has_value(); }));  // the new cert names another host
  before.send(frame_of("second request"));
  ASSERT_TRUE(run_until([&] { return before.frames().size() == 2 || before.end; }));
  EXPECT_EQ(before.frames().size(), 2u);
  EXPECT_FALSE(before.end.has_value());
}

}  // namespace
}  // namespace ferry::net

namespace ferry::net {
namespace {

TEST_F(TlsServerTest, ServerClosingMidTransferEndsTheClient) {
  std::signal(SIGPIPE, SIG_IGN);  // as ferry's executable does: writes fail with EPIPE instead
  start_tls();
  TlsClient c(&loop_, server_->port(), client_options());
  c.send(frame_of("tiny"));  // under the smallest request header: the server closes
  c.send(frame_of(std::string(3 * 1024 * 1024, 'q')));
  ASSERT_TRUE(run_until([&] { return c.end.has_value(); }));
  EXPECT_TRUE(run_until([&] { return c.counts->write_errors + c.counts->writes_done == 2; }));
}

}  // namespace
}  // namespace ferry::net
