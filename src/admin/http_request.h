// The admin listener's HTTP/1.1 request parser: a pure function over the bytes read so far, no
// I/O, no allocation beyond the parsed request. Accepts what the admin API needs and nothing
// more: a request line with an origin-form target ("/path?query"), HTTP/1.0 or HTTP/1.1, header
// lines ended by CRLF, no body (Content-Length other than 0 and any Transfer-Encoding are
// refused). Limits: the request line and headers together at most `max_head_bytes` and at most
// `max_headers` header lines, else 431. Every error carries the status to answer with; the
// server closes the connection after answering an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::admin {

struct HttpLimits {
  size_t max_head_bytes = 8192;
  size_t max_headers = 64;
};

struct HttpRequest {
  std::string method;  // as sent (methods are case-sensitive)
  std::string path;    // the target up to '?'
  std::string query;   // after '?', empty if none
  int minor_version = 1;
  bool keep_alive = true;  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with keep-alive
  std::optional<std::string> authorization;  // the Authorization header's value
};

enum class ParseState : uint8_t { incomplete, done, error };

struct ParseOutcome {
  ParseState state = ParseState::incomplete;
  size_t consumed = 0;  // done: bytes of this request (the next one starts there)
  int status = 0;       // error: the HTTP status to answer (400, 405, 413, 431, 505)
  std::string reason;   // error: a short text for the response body
  HttpRequest request;  // done (and 405: the method)
};

// Parses the request at the start of `data`. incomplete: more bytes are needed (and the head so
// far is within the limits).
ParseOutcome parse_http_request(std::string_view data, const HttpLimits& limits);

// Decodes standard base64 (with padding); nullopt on malformed input.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace ferry::admin
