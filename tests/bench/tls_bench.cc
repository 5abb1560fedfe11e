// TLS costs, in one run:
// 1. produce throughput over SSL and SASL_SSL (SCRAM-SHA-256) vs PLAINTEXT with the same
//    librdkafka producer (100 B and 1 KiB values, acks=all) against one `ferry serve` with the
//    three listeners: MB/s, the ratios, and the broker's CPU time per MB for each;
// 2. full handshakes per second on one core, server side (the server engine's CPU time only),
//    for ECDSA P-256 and RSA 2048 certificates;
// 3. memory per idle TLS connection: heap held by server engines after their handshakes;
// 4. whether handshakes stall other connections: ApiVersions round trips on a plaintext
//    connection (p50/p99/max) alone and while another thread makes full TLS handshakes to the
//    SSL listener in a loop.
//
//   tls_bench --ferry build/native/src/app/ferry [--messages N]
//
// Certificates come from tests/support/make_certs.sh (openssl). Threads: librdkafka's, the
// handshake loader, and the main thread.
#include <librdkafka/rdkafka.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_proc.h"
#include "bench_rdkafka.h"
#include "tls/context.h"
#include "tls/engine.h"

namespace {

using bench::Clock;
using bench::die;
using bench::seconds_since;

std::string g_certs;

std::string make_certs(const std::string& key_type) {
  char dir[] = "/tmp/ferry-tls-bench-XXXXXX";
  if (::mkdtemp(dir) == nullptr) die("mkdtemp");
  const std::string cmd =
      "KEY_TYPE=" + key_type + " sh " FERRY_SOURCE_DIR "/tests/support/make_certs.sh " + dir;
  if (std::system(cmd.c_str()) != 0) die("make_certs.sh failed (openssl?)");
  return dir;
}

std::shared_ptr<const ferry::tls::Context> server_ctx(const std::string& certs) {
  ferry::tls::ServerOptions o;
  o.certificate_file = certs + "/server.pem";
  o.key_file = certs + "/server.key";
  auto c = ferry::tls::Context::server(o);
  if (!c) die(c.error().message());
  return *c;
}

std::shared_ptr<const ferry::tls::Context> client_ctx(const std::string& certs) {
  ferry::tls::ClientOptions o;
  o.ca_file = certs + "/ca.pem";
  auto c = ferry::tls::Context::client(o);
  if (!c) die(c.error().message());
  return *c;
}

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// One in-memory handshake; returns the server engine, adding its CPU seconds to `server_s`.
std::unique_ptr<ferry::tls::Engine> handshake(const std::shared_ptr<const ferry::tls::Context>& s,
                                              const std::shared_ptr<const ferry::tls::Context>& c,
                                              double& server_s) {
  auto se = ferry::tls::Engine::server(s);
  auto ce = ferry::tls::Engine::client(c, "localhost");
  if (!se || !ce) die("engine");
  for (int i = 0; i < 20; ++i) {
    auto cr = (*ce)->handshake();
    if (!cr) die("client handshake: " + cr.error().message());
    (*se)->feed((*ce)->take_output());
    const double t = thread_cpu_s();
    auto sr = (*se)->handshake();
    server_s += thread_cpu_s() - t;
    if (!sr) die("server handshake: " + sr.error().message());
    (*ce)->feed((*se)->take_output());
    if (*cr && *sr) return std::move(*se);
  }
  die("handshake did not finish");
}

void bench_handshakes(const char* label, const std::string& certs) {
  auto s = server_ctx(certs);
  auto c = client_ctx(certs);
  double server_s = 0;
  int n = 0;
  const auto start = Clock::now();
  while (seconds_since(start) < 2.0) {
    handshake(s, c, server_s);
    ++n;
  }
  std::printf(
      "handshakes %-10s %5d full handshakes, server side %.2f ms CPU each = %.0f/s on "
      "one core\n",
      label, n, server_s * 1e3 / n, n / server_s);
}

void bench_memory(const std::string& certs) {
  auto s = server_ctx(certs);
  auto c = client_ctx(certs);
  constexpr int kConns = 200;
  std::vector<std::unique_ptr<ferry::tls::Engine>> servers;
  servers.reserve(kConns);
  malloc_trim(0);
  const size_t before = mallinfo2().uordblks;
  double ignored = 0;
  for (int i = 0; i < kConns; ++i) servers.push_back(handshake(s, c, ignored));
  const size_t after = mallinfo2().uordblks;
  std::printf(
      "memory     %d idle TLS server connections after their handshakes: %.1f KiB "
      "heap each (mbedTLS record buffers: 2 x %d B of content + record overhead; session and peer "
      "certificate)\n",
      kConns, static_cast<double>(after - before) / kConns / 1024.0, MBEDTLS_SSL_IN_CONTENT_LEN);
}

struct Broker {
  bench::Child child;
  uint16_t ssl_port = 0;
  uint16_t sasl_ssl_port = 0;
  std::string dir;
};

// The SCRAM-SHA-256 user of the SASL_SSL listener, made offline before the broker starts.
constexpr const char* kUser = "bench";
constexpr const char* kPassword = "bench-secret";

Broker start_broker(const std::string& ferry, const std::string& certs) {
  Broker b;
  char dir[] = "/tmp/ferry-tls-bench-data-XXXXXX";
  if (::mkdtemp(dir) == nullptr) die("mkdtemp");
  b.dir = dir;
  std::ofstream(b.dir + "/password") << kPassword;
  const std::string add_user = ferry + " users add --data-dir '" + b.dir + "/data' --user " +
                               kUser + " --mechanism SCRAM-SHA-256 --password-file '" + b.dir +
                               "/password' >/dev/null";
  if (std::system(add_user.c_str()) != 0) die("ferry users add");
  b.child = bench::start_child(
      [&](uint16_t port) {
        b.ssl_port = bench::free_port();
        b.sasl_ssl_port = bench::free_port();
        std::ofstream f(b.dir + "/ferry.toml");
        f << "[broker]\ndata.dir = \"" << b.dir
          << "/data\"\nlisteners = [\"PLAINTEXT://127.0.0.1:" << port
          << "\", \"SSL://127.0.0.1:" << b.ssl_port
          << "\", \"SASL_SSL://127.0.0.1:" << b.sasl_ssl_port << "\"]\n"
          << "advertised.listeners = [\"PLAINTEXT://127.0.0.1:" << port
          << "\", \"SSL://localhost:" << b.ssl_port
          << "\", \"SASL_SSL://localhost:" << b.sasl_ssl_port << "\"]\n"
          << "sasl.enabled.mechanisms = [\"SCRAM-SHA-256\"]\n"
          << "ssl.certificate.location = \"" << certs << "/server.pem\"\n"
          << "ssl.key.location = \"" << certs << "/server.key\"\nlog.level = \"warn\"\n";
        return std::vector<std::string>{ferry, "serve", "--config", b.dir + "/ferry.toml"};
      },
      b.dir + "/ferry.log");
  return b;
}

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* failed = static_cast<std::atomic<long>*>(opaque);
  if (m->err) failed->fetch_add(1);
}

enum class Protocol { plaintext, ssl, sasl_ssl };

struct Rate {
  double msgs_per_s = 0;
  double broker_cpu_ms_per_mb = 0;  // the broker's CPU time (user + system) per MB of values
};

// `count` values of `size` bytes produced with acks=all: messages per second, and the broker's
// CPU time per MB while they were produced (does not depend on the machine's other load).
Rate produce(const std::string& bootstrap, Protocol protocol, const std::string& topic, size_t size,
             long count, pid_t broker) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  bench::set(conf, "bootstrap.servers", bootstrap);
  bench::set(conf, "acks", "all");
  bench::set(conf, "linger.ms", "5");
  bench::set(conf, "queue.buffering.max.messages", "1000000");
  if (protocol != Protocol::plaintext) {
    bench::set(conf, "security.protocol", protocol == Protocol::ssl ? "SSL" : "SASL_SSL");
    bench::set(conf, "ssl.ca.location", g_certs + "/ca.pem");
  }
  if (protocol == Protocol::sasl_ssl) {
    bench::set(conf, "sasl.mechanisms", "SCRAM-SHA-256");
    bench::set(conf, "sasl.username", kUser);
    bench::set(conf, "sasl.password", kPassword);
  }
  std::atomic<long> failed{0};
  rd_kafka_conf_set_opaque(conf, &failed);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t* rk = bench::make_client(RD_KAFKA_PRODUCER, conf);
  std::string value(size, 'v');
  // Warm-up: connection, handshake and metadata are not part of the figure.
  rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                    RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_END);
  rd_kafka_flush(rk, 15000);
  const double cpu0 = bench::proc_cpu_s(broker);
  const auto start = Clock::now();
  for (long i = 0; i < count; ++i) {
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                             RD_KAFKA_V_VALUE(value.data(), value.size()),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk, 10);
    }
    rd_kafka_poll(rk, 0);
  }
  if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("flush timed out");
  const double s = seconds_since(start);
  const double cpu = bench::proc_cpu_s(broker) - cpu0;
  rd_kafka_destroy(rk);
  if (failed.load() != 0) die("delivery failures");
  const double mb = static_cast<double>(count) * static_cast<double>(size) / 1e6;
  return {static_cast<double>(count) / s, cpu * 1000.0 / mb};
}

// ApiVersions v0 round trips on one plaintext connection for `seconds`: sorted RTTs in us.
std::vector<double> api_versions_rtts(uint16_t port, double seconds) {
  const int fd = bench::connect_loopback(port);
  if (fd < 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // size 14: api_key 18, version 0, correlation id, client id "b"
  const unsigned char req[] = {0, 0, 0, 11, 0, 18, 0, 0, 0, 0, 0, 1, 0, 1, 'b'};
  std::vector<double> rtts;
  std::vector<unsigned char> buf(65536);
  const auto start = Clock::now();
  while (seconds_since(start) < seconds) {
    const auto t = Clock::now();
    if (::write(fd, req, sizeof req) != static_cast<ssize_t>(sizeof req)) die("write");
    size_t got = 0;
    size_t want = 4;
    while (got < want) {
      const ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
      if (n <= 0) die("read");
      got += static_cast<size_t>(n);
      if (got >= 4 && want == 4) {
        want = 4 + ((static_cast<size_t>(buf[0]) << 24) | (static_cast<size_t>(buf[1]) << 16) |
                    (static_cast<size_t>(buf[2]) << 8) | buf[3]);
      }
    }
    rtts.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
    std::this_thread::sleep_for(std::chrono::microseconds(500));  // pacing, not synchronisation
  }
  ::close(fd);
  std::sort(rtts.begin(), rtts.end());
  return rtts;
}

// Full TLS handshakes over TCP to `port` in a loop until `stop`; counts them.
void handshake_loop(uint16_t port, const std::atomic<bool>& stop, std::atomic<long>& done) {
  auto ctx = client_ctx(g_certs);
  std::vector<std::byte> buf(16384);
  while (!stop.load()) {
    const int fd = bench::connect_loopback(port);
    if (fd < 0) die("connect");
    auto e = ferry::tls::Engine::client(ctx, "localhost");
    if (!e) die("engine");
    for (;;) {
      auto r = (*e)->handshake();
      if (!r) die("handshake: " + r.error().message());
      auto out = (*e)->take_output();
      if (!out.empty() && ::write(fd, out.data(), out.size()) < 0) die("write");
      if (*r) break;
      const ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n <= 0) die("read during handshake");
      (*e)->feed(std::span<const std::byte>(buf.data(), static_cast<size_t>(n)));
    }
    done.fetch_add(1);
    ::close(fd);
  }
}

void print_rtts(const char* label, const std::vector<double>& r) {
  auto at = [&](double q) {
    return r[std::min(r.size() - 1, static_cast<size_t>(q * static_cast<double>(r.size())))];
  };
  std::printf("stall      %-38s %6zu ApiVersions: p50 %6.0f us  p99 %6.0f us  max %6.0f us\n",
              label, r.size(), at(0.5), at(0.99), r.back());
}

}  // namespace

int main(int argc, char** argv) {
  bench::g_program = "tls_bench";
  std::string ferry;
  long messages = 200000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--ferry") == 0) ferry = argv[i + 1];
    if (std::strcmp(argv[i], "--messages") == 0) messages = std::atol(argv[i + 1]);
  }
  if (ferry.empty()) die("usage: tls_bench --ferry PATH [--messages N]");
  g_certs = make_certs("ec");
  const std::string rsa = make_certs("rsa");

  bench_handshakes("ECDSA-P256", g_certs);
  bench_handshakes("RSA-2048", rsa);
  bench_memory(g_certs);

  Broker b = start_broker(ferry, g_certs);
  const std::string plain = "127.0.0.1:" + std::to_string(b.child.port);
  const std::string ssl = "localhost:" + std::to_string(b.ssl_port);
  const std::string sasl_ssl = "localhost:" + std::to_string(b.sasl_ssl_port);
  bench::create_topic(plain, "tls-bench", 1);
  for (size_t size : {size_t{100}, size_t{1024}}) {
    const long n = size == 100 ? messages : messages / 2;
    const auto mbs = [&](const Rate& r) { return r.msgs_per_s * static_cast<double>(size) / 1e6; };
    // Interleaved, so a change in the machine's load touches every protocol alike.
    const Rate p = produce(plain, Protocol::plaintext, "tls-bench", size, n, b.child.pid);
    const Rate s = produce(ssl, Protocol::ssl, "tls-bench", size, n, b.child.pid);
    const Rate a = produce(sasl_ssl, Protocol::sasl_ssl, "tls-bench", size, n, b.child.pid);
    std::printf(
        "produce    %4zu B x %ld, acks=all: PLAINTEXT %6.1f MB/s | SSL %6.1f MB/s (%.2f) | "
        "SASL_SSL %6.1f MB/s (%.2f of PLAINTEXT)\n",
        size, n, mbs(p), mbs(s), s.msgs_per_s / p.msgs_per_s, mbs(a), a.msgs_per_s / p.msgs_per_s);
    std::printf(
        "broker CPU %4zu B: PLAINTEXT %5.1f ms/MB | SSL %5.1f ms/MB | SASL_SSL %5.1f ms/MB\n", size,
        p.broker_cpu_ms_per_mb, s.broker_cpu_ms_per_mb, a.broker_cpu_ms_per_mb);
  }
  print_rtts("alone", api_versions_rtts(b.child.port, 3.0));
  std::atomic<bool> stop{false};
  std::atomic<long> hs{0};
  std::thread loader([&] { handshake_loop(b.ssl_port, stop, hs); });
  const double cpu0 = bench::proc_cpu_s(b.child.pid);
  auto loaded = api_versions_rtts(b.child.port, 3.0);
  const double cpu1 = bench::proc_cpu_s(b.child.pid);
  stop = true;
  loader.join();
  char label[80];
  std::snprintf(label, sizeof label, "with %ld handshakes in 3 s (%.0f/s)", hs.load(),
                static_cast<double>(hs.load()) / 3.0);
  print_rtts(label, loaded);
  std::printf("broker CPU during the handshake loop: %.2f s of 3 s\n", cpu1 - cpu0);
  bench::stop_child(b.child);
  std::system(("rm -rf '" + b.dir + "' '" + g_certs + "' '" + rsa + "'").c_str());
  return 0;
}
