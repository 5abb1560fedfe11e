// libFuzzer target for the broker's request path over a real socket: framing in net::Connection,
// header decoding and API dispatch in Broker::on_request, and every handler behind it, on a
// broker with a data directory of its own (created once per process under $TMPDIR, removed at
// exit).
//
// Input: one request frame's contents (header and body, as a client sends them after the size
// prefix). The target adds a correct size prefix, sends the frame on a loopback connection,
// then an ApiVersions v0 request as a sentinel, and runs the broker's loop until the sentinel's
// response arrives (responses come in request order), the broker closes the connection (what it
// does with malformed requests), or 300 ms pass (a fetch parked for a long max_wait); the last
// two reconnect. Checks: no crash, no sanitizer report, and the broker keeps answering.
// Seeds: tests/fuzz/run.sh writes requests as kcat and the librdkafka producer send them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/node.h"
#include "common/log.h"

namespace {

using namespace ferry;

constexpr int32_t kSentinelCorrelation = 0x7f5e5e5e;

struct Harness {
  uv_loop_t loop{};
  std::unique_ptr<app::Node> broker;
  std::string data_dir;
  int fd = -1;
  std::vector<uint8_t> received;

  Harness() {
    log::set_level(log::Level::off);
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr ? tmp : "/tmp") + "/ferry-fuzz-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    data_dir = tmpl;
    uv_loop_init(&loop);
    config::BrokerConfig cfg;
    cfg.data_dir = data_dir;
    cfg.listen = {"127.0.0.1", 0};
    cfg.advertised = {"127.0.0.1", 0};
    cfg.group_initial_rebalance_delay_ms = 0;
    broker = std::make_unique<app::Node>(&loop, cfg);
    if (!broker->start().ok()) std::abort();
  }

  void connect() {
    if (fd >= 0) ::close(fd);
    received.clear();
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(broker->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // The listen backlog takes the connection; the loop accepts it while we wait below.
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  // Sends everything, running the loop whenever the socket is full (a large frame).
  bool send_all(const std::vector<uint8_t>& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n =
          ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        return false;
      } else {
        uv_run(&loop, UV_RUN_NOWAIT);
      }
    }
    return true;
  }

  // Runs the loop until the sentinel's response arrived (true), or the connection closed or
  // `wait_ms` passed (false).
  bool await_sentinel(int wait_ms = 300) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    uint8_t buf[65536];
    while (std::chrono::steady_clock::now() < deadline) {
      uv_run(&loop, UV_RUN_NOWAIT);
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0) return false;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
      if (n > 0) received.insert(received.end(), buf, buf + n);
      // Walk the complete responses; the sentinel is the last one asked for.
      size_t pos = 0;
      while (received.size() - pos >= 8) {
        const uint32_t size = (uint32_t{received[pos]} << 24) |
                              (uint32_t{received[pos + 1]} << 16) |
                              (uint32_t{received[pos + 2]} << 8) | received[pos + 3];
        if (received.size() - pos - 4 < size) break;
        int32_t correlation = 0;
        std::memcpy(&correlation, &received[pos + 4], 4);
        pos += 4 + size;
        if (static_cast<int32_t>(ntohl(static_cast<uint32_t>(correlation))) ==
            kSentinelCorrelation) {
          received.erase(received.begin(), received.begin() + static_cast<std::ptrdiff_t>(pos));
          return true;
        }
      }
      received.erase(received.begin(), received.begin() + static_cast<std::ptrdiff_t>(pos));
    }
    return false;
  }
};

void put_frame(std::vector<uint8_t>& out, const uint8_t* data, size_t size) {
  const auto n = static_cast<uint32_t>(size);
  out.push_back(static_cast<uint8_t>(n >> 24));
  out.push_back(static_cast<uint8_t>(n >> 16));
  out.push_back(static_cast<uint8_t>(n >> 8));
  out.push_back(static_cast<uint8_t>(n));
  out.insert(out.end(), data, data + size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* h = [] {
    auto* harness = new Harness;
    harness->connect();
    // libFuzzer ends with exit(): the data directory goes with the process.
    static std::string dir = harness->data_dir;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return harness;
  }();
  // Frames shorter than a request header are refused by the framing itself: keep them, they
  // test that path too, but the framing check is what the decoders' fuzzers do not reach.
  std::vector<uint8_t> bytes;
  put_frame(bytes, data, size);
  // ApiVersions v0, correlation id kSentinelCorrelation, client id "fuzz".
  static const uint8_t kSentinel[] = {0x00, 0x12, 0x00, 0x00, 0x7f, 0x5e, 0x5e,
                                      0x5e, 0x00, 0x04, 'f',  'u',  'z',  'z'};
  put_frame(bytes, kSentinel, sizeof kSentinel);
  if (!h->send_all(bytes) || !h->await_sentinel()) {
    // A fresh connection must be answered: the broker is still serving.
    h->connect();
    std::vector<uint8_t> probe;
    put_frame(probe, kSentinel, sizeof kSentinel);
    if (!h->send_all(probe) || !h->await_sentinel(5000)) std::abort();
  }
  return 0;
}
