// The TLS wrapper without sockets: a server and a client Engine wired back to back in memory.
// Handshakes, large transfers both ways, close_notify, certificate failures (untrusted,
// expired, wrong host), mTLS with ssl.client.auth none/requested/required and the principal's
// subject, encrypted keys, reload, and a plaintext client.
#include "tls/engine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/certs.h"
#include "support/test_support.h"
#include "tls/context.h"

namespace ferry::tls {
namespace {

using ferry::test::cert;

ServerOptions server_options(ClientAuth auth = ClientAuth::none) {
  ServerOptions o;
  o.certificate_file = cert("server.pem");
  o.key_file = cert("server.key");
  o.ca_file = cert("ca.pem");
  o.client_auth = auth;
  return o;
}

ClientOptions client_options(bool with_cert = false) {
  ClientOptions o;
  o.ca_file = cert("ca.pem");
  if (with_cert) {
    o.certificate_file = cert("client.pem");
    o.key_file = cert("client.key");
  }
  return o;
}

std::shared_ptr<const Context> server_ctx(const ServerOptions& o) {
  auto c = Context::server(o);
  EXPECT_TRUE(c.ok()) << (c ? "" : c.error().message());
  return c ? *c : nullptr;
}

std::shared_ptr<const Context> client_ctx(const ClientOptions& o) {
  auto c = Context::client(o);
  EXPECT_TRUE(c.ok()) << (c ? "" : c.error().message());
  return c ? *c : nullptr;
}

// Moves output between the two engines until both handshakes are done or one fails.
struct Pair {
  std::unique_ptr<Engine> server;
  std::unique_ptr<Engine> client;
  std::string server_error;
  std::string client_error;

  Pair(std::shared_ptr<const Context> s, std::shared_ptr<const Context> c,
       const std::string& host = "localhost") {
    auto se = Engine::server(std::move(s));
    auto ce = Engine::client(std::move(c), host);
    EXPECT_TRUE(se.ok() && ce.ok());
    server = std::move(*se);
    client = std::move(*ce);
  }

  void shuttle() {
    auto a = client->take_output();
    server->feed(a);
    auto b = server->take_output();
    client->feed(b);
  }

  // true when both completed.
  bool handshake() {
    for (int i = 0; i < 20; ++i) {
      auto c = client->handshake();
      if (!c) client_error = c.error().message();
      server->feed(client->take_output());
      auto s = server->handshake();
      if (!s) server_error = s.error().message();
      client->feed(server->take_output());
      if (!c || !s) {
        // Let the side that did not fail see the alert.
        if (c) {
          auto c2 = client->handshake();
          if (!c2) client_error = c2.error().message();
        }
        if (s) {
          auto s2 = server->handshake();
          if (!s2) server_error = s2.error().message();
        }
        return false;
      }
      if (*c && *s) return true;
    }
    return false;
  }
};

std::vector<std::byte> pattern(size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 31 + seed) & 0xff);
  return v;
}

// Reads everything `to` can decrypt.
std::vector<std::byte> drain(Engine& to) {
  std::vector<std::byte> out;
  std::vector<std::byte> buf(7000);  // smaller than a record: reads split records
  for (;;) {
    auto n = to.read(buf);
    EXPECT_TRUE(n.ok());
    if (!n || *n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  return out;
}

TEST(TlsEngine, HandshakeAndLargeTransfersBothWays) {
  Pair p(server_ctx(server_options()), client_ctx(client_options()));
  ASSERT_TRUE(p.handshake()) << p.client_error << " / " << p.server_error;
  EXPECT_EQ(p.client->peer_subject(), "CN=localhost");
  EXPECT_EQ(p.server->peer_subject(), "");
  EXPECT_NE(p.client->description().find("TLSv1.2"), std::string::npos);

  const auto up = pattern(3 * 1024 * 1024 + 17, 1);
  ASSERT_TRUE(p.client->write(up).ok());
  const auto records = p.client->take_output();
  // Records carry at most 16 KiB each, with a small overhead.
  EXPECT_LT(records.size(), up.size() + (up.size() / 16384 + 1) * 64);
  p.server->feed(records);
  EXPECT_EQ(drain(*p.server), up);

  const auto down = pattern(5 * 1024 * 1024 + 3, 7);
  ASSERT_TRUE(p.server->write(down).ok());
  p.client->feed(p.server->take_output());
  EXPECT_EQ(drain(*p.client), down);
}

TEST(TlsEngine, CloseNotifyEndsTheStream) {
  Pair p(server_ctx(server_options()), client_ctx(client_options()));
  ASSERT_TRUE(p.handshake());
  ASSERT_TRUE(p.client->write(pattern(100, 3)).ok());
  p.client->close_notify();
  p.server->feed(p.client->take_output());
  std::vector<std::byte> buf(1000);
  auto n = p.server->read(buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 100u);
  auto end = p.server->read(buf);
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code(), Errc::closed);
}

TEST(TlsEngine, ClientRefusesUntrustedExpiredAndWrongHost) {
  struct Case {
    const char* cert;
    const char* host;
    const char* why;
  };
  for (const Case& c :
       {Case{"untrusted", "localhost", "not correctly signed"},
        Case{"expired", "localhost", "expired"}, Case{"wronghost", "localhost", "Common Name"},
        Case{"wronghost", "127.0.0.1", "does not name 127.0.0.1"}}) {
    ServerOptions so = server_options();
    so.certificate_file = cert(std::string(c.cert) + ".pem");
    so.key_file = cert(std::string(c.cert) + ".key");
    Pair p(server_ctx(so), client_ctx(client_options()), c.host);
    EXPECT_FALSE(p.handshake()) << c.cert;
    EXPECT_NE(p.client_error.find(c.why), std::string::npos) << c.cert << ": " << p.client_error;
    // An IP address is checked after mbedTLS's handshake; names fail within it.
    if (std::string(c.host) != "127.0.0.1") {
      EXPECT_FALSE(p.server->handshake_done()) << c.cert;
    }
  }
}

TEST(TlsEngine, IpAddressAndDisabledHostnameCheck) {
  {
    Pair p(server_ctx(server_options()), client_ctx(client_options()), "127.0.0.1");
    EXPECT_TRUE(p.handshake()) << p.client_error;
  }
  ServerOptions so = server_options();
  so.certificate_file = cert("wronghost.pem");
  so.key_file = cert("wronghost.key");
  ClientOptions co = client_options();
  co.verify_hostname = false;
  for (const char* host : {"localhost", "127.0.0.1"}) {
    Pair p(server_ctx(so), client_ctx(co), host);
    EXPECT_TRUE(p.handshake()) << host << ": " << p.client_error;
  }
  // The chain is still checked without the host name check.
  so.certificate_file = cert("untrusted.pem");
  so.key_file = cert("untrusted.key");
  Pair p(server_ctx(so), client_ctx(co), "localhost");
  EXPECT_FALSE(p.handshake());
}

TEST(TlsEngine, MutualTls) {
  // required: a certificate that verifies gives the subject in Kafka's form.
  {
    Pair p(server_ctx(server_options(ClientAuth::required)), client_ctx(client_options(true)));
    ASSERT_TRUE(p.handshake()) << p.client_error << " / " << p.server_error;
    EXPECT_EQ(p.server->peer_subject(), ferry::test::kClientSubject);
  }
  // required without a certificate: refused.
  {
    Pair p(server_ctx(server_options(ClientAuth::required)), client_ctx(client_options(false)));
    EXPECT_FALSE(p.handshake());
    EXPECT_FALSE(p.server_error.empty());
  }
  // requested: without a certificate the client is anonymous...
  {
    Pair p(server_ctx(server_options(ClientAuth::requested)), client_ctx(client_options(false)));
    ASSERT_TRUE(p.handshake()) << p.server_error;
    EXPECT_EQ(p.server->peer_subject(), "");
  }
  // ...with one it is named...
  {
    Pair p(server_ctx(server_options(ClientAuth::requested)), client_ctx(client_options(true)));
    ASSERT_TRUE(p.handshake()) << p.server_error;
    EXPECT_EQ(p.server->peer_subject(), ferry::test::kClientSubject);
  }
  // ...and one that does not verify is refused (expired, or from another CA).
  for (const char* bad : {"client-expired", "untrusted"}) {
    ClientOptions co = client_options(true);
    co.certificate_file = cert(std::string(bad) + ".pem");
    co.key_file = cert(std::string(bad) + ".key");
    for (ClientAuth auth : {ClientAuth::requested, ClientAuth::required}) {
      Pair p(server_ctx(server_options(auth)), client_ctx(co));
      EXPECT_FALSE(p.handshake()) << bad << " " << client_auth_name(auth);
    }
  }
  // none: the certificate is not asked for, so no subject.
  {
    Pair p(server_ctx(server_options(ClientAuth::none)), client_ctx(client_options(true)));
    ASSERT_TRUE(p.handshake());
    EXPECT_EQ(p.server->peer_subject(), "");
  }
}

TEST(TlsEngine, PlaintextClientIsNamedAsSuch) {
  auto s = Engine::server(server_ctx(server_options()));
  ASSERT_TRUE(s.ok());
  // An ApiVersions request's size prefix and header.
  const std::vector<std::byte> kafka{std::byte{0},    std::byte{0}, std::byte{0},
                                     std::byte{0x15}, std::byte{0}, std::byte{0x12}};
  (*s)->feed(kafka);
  auto r = (*s)->handshake();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not a TLS ClientHello"), std::string::npos);
}

TEST(TlsEngine, ServerContextErrors) {
  ServerOptions o = server_options();
  o.certificate_file = "";
  EXPECT_FALSE(Context::server(o).ok());
  o = server_options();
  o.certificate_file = "/nonexistent/server.pem";
  auto missing = Context::server(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("/nonexistent/server.pem"), std::string::npos);
  o = server_options();
  o.key_file = cert("client.key");  // does not match server.pem
  auto mismatch = Context::server(o);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message().find("does not match"), std::string::npos);
  o = server_options(ClientAuth::required);
  o.ca_file = "";
  EXPECT_FALSE(Context::server(o).ok());
  o = server_options();
  o.certificate_file = cert("server.key");  // not a certificate
  EXPECT_FALSE(Context::server(o).ok());
}

TEST(TlsEngine, EncryptedKey) {
  ServerOptions o = server_options();
  o.key_file = cert("server-enc.key");
  auto no_password = Context::server(o);
  ASSERT_FALSE(no_password.ok());
  EXPECT_NE(no_password.error().message().find("ssl.key.password"), std::string::npos);
  o.key_password = "wrong";
  EXPECT_FALSE(Context::server(o).ok());
  o.key_password = "secret";
  auto ctx = Context::server(o);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message();
  Pair p(*ctx, client_ctx(client_options()));
  EXPECT_TRUE(p.handshake());
}

TEST(TlsEngine, ReloadAffectsOnlyNewHandshakesAndKeepsTheOldContextOnFailure) {
  ferry::test::TempDir dir;
  namespace fs = std::filesystem;
  const auto copy = [&](const std::string& from, const std::string& to) {
    fs::copy_file(cert(from), dir.file(to), fs::copy_options::overwrite_existing);
  };
  copy("server.pem", "live.pem");
  copy("server.key", "live.key");
  ServerOptions o = server_options();
  o.certificate_file = dir.file("live.pem");
  o.key_file = dir.file("live.key");
  auto reloadable = ReloadableServerContext::create(o);
  ASSERT_TRUE(reloadable.ok());
  auto& r = **reloadable;
  auto client = client_ctx(client_options());

  Pair before(r.current(), client);
  ASSERT_TRUE(before.handshake());

  // A bad file: the reload fails and the old context stays.
  {
    std::FILE* f = std::fopen(dir.file("live.pem").c_str(), "w");
    std::fputs("not a certificate\n", f);
    std::fclose(f);
  }
  auto bad = r.reload();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("live.pem"), std::string::npos);
  Pair still(r.current(), client);
  EXPECT_TRUE(still.handshake());

  // A new certificate (for another host): new handshakes see it...
  copy("wronghost.pem", "live.pem");
  copy("wronghost.key", "live.key");
  ASSERT_TRUE(r.reload().ok());
  EXPECT_NE(r.current()->summary().find("CN=wrong.example"), std::string::npos);
  Pair after(r.current(), client);
  EXPECT_FALSE(after.handshake());
  EXPECT_NE(after.client_error.find("Common Name"), std::string::npos);
  // ...while the connection made before keeps working.
  ASSERT_TRUE(before.client->write(pattern(50000, 9)).ok());
  before.server->feed(before.client->take_output());
  EXPECT_EQ(drain(*before.server), pattern(50000, 9));
}

}  // namespace
}  // namespace ferry::tls
