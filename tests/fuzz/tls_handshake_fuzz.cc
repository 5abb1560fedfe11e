// libFuzzer target for a TLS listener's pre-authentication phase: arbitrary bytes as the first
// flight a client sends to a server tls::Engine (ssl.client.auth=requested, so the certificate
// request path is configured too).
//
// Input: byte 0 picks how the rest is cut into feed() calls (1..16 pieces), as TCP may deliver
// it; after each piece the handshake is driven and any output taken. Checks: no crash or
// sanitizer report; the handshake never completes (no client key exchange can be forged
// without the server's random), and once it failed it stays failed; read() before completion
// yields nothing. Certificates come from tests/support/make_certs.sh, run once at start.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>

#include "tls/context.h"
#include "tls/engine.h"

namespace {

std::shared_ptr<const ferry::tls::Context> g_ctx;

[[noreturn]] void check_failed() { std::abort(); }

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char dir[] = "/tmp/ferry-tls-fuzz-XXXXXX";
  if (mkdtemp(dir) == nullptr) check_failed();
  const std::string d = dir;
  const std::string cmd = "sh tests/support/make_certs.sh " + d +
                          " >/dev/null 2>&1 || "
                          "sh ../../tests/support/make_certs.sh " +
                          d + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) check_failed();
  ferry::tls::ServerOptions o;
  o.certificate_file = d + "/server.pem";
  o.key_file = d + "/server.key";
  o.ca_file = d + "/ca.pem";
  o.client_auth = ferry::tls::ClientAuth::requested;
  auto ctx = ferry::tls::Context::server(o);
  if (!ctx) check_failed();
  g_ctx = *ctx;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t pieces = 1 + (data[0] % 16);
  std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  auto engine = ferry::tls::Engine::server(g_ctx);
  if (!engine) check_failed();
  ferry::tls::Engine& e = **engine;
  bool failed = false;
  const size_t step = rest.size() / pieces + 1;
  std::byte buf[512];
  while (!rest.empty()) {
    const size_t n = rest.size() < step ? rest.size() : step;
    e.feed(rest.first(n));
    rest = rest.subspan(n);
    auto r = e.handshake();
    if (!r) {
      failed = true;
    } else if (failed || *r) {
      check_failed();  // recovered after failing, or completed without a real client
    }
    auto got = e.read(buf);
    if (got && *got != 0) check_failed();
    (void)e.take_output();
    if (failed) break;
  }
  return 0;
}
