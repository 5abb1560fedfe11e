// libFuzzer target for the admin listener's HTTP request parser (src/admin/http_request.h):
// arbitrary bytes as what a client sent so far.
//
// Checks: no crash or sanitizer report; the outcome is consistent — done consumes at least one
// byte and no more than the input, with a method and a path starting with '/'; an error carries
// one of the statuses the server answers with; incomplete only while the head is within the
// limit; parsing any prefix of a request that parsed as done never reports done with a different
// length (a request is recognised at one place); and base64 decoding of the input never crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "admin/http_request.h"

namespace {

[[noreturn]] void check_failed() { std::abort(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ferry::admin;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  HttpLimits limits;
  limits.max_head_bytes = 512;  // small, so the limit paths are reached
  limits.max_headers = 8;
  const ParseOutcome out = parse_http_request(text, limits);
  switch (out.state) {
    case ParseState::done:
      if (out.consumed == 0 || out.consumed > size) check_failed();
      if (out.request.method.empty() || out.request.path.empty() || out.request.path[0] != '/')
        check_failed();
      for (size_t cut = 0; cut < out.consumed; cut += 7) {
        const ParseOutcome p = parse_http_request(text.substr(0, cut), limits);
        if (p.state == ParseState::done && p.consumed != out.consumed) check_failed();
      }
      break;
    case ParseState::error:
      if (out.status != 400 && out.status != 405 && out.status != 413 && out.status != 431 &&
          out.status != 505)
        check_failed();
      break;
    case ParseState::incomplete:
      if (size > limits.max_head_bytes + 4) check_failed();  // + the CRLFCRLF not yet seen
      break;
  }
  (void)decode_base64(text);
  return 0;
}
