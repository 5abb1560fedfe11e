// The admin listener's HTTP/1.1 request parser. See http_request.h.
#include "admin/http_request.h"

#include <algorithm>
#include <array>

namespace ferry::admin {
namespace {

// RFC 9110 token characters (method and header names).
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~': return true;
    default: return false;
  }
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// Visible ASCII in a request target (no spaces, no controls).
bool is_target_char(char c) { return c > 0x20 && c < 0x7f; }

// Field values: visible characters, spaces and tabs, and obs-text (bytes >= 0x80).
bool is_value_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// True when the comma-separated header value lists `option` (case-insensitive).
bool has_option(std::string_view value, std::string_view option) {
  while (!value.empty()) {
    const size_t cut = value.find(',');
    if (iequals(trim_ows(value.substr(0, cut)), option)) return true;
    if (cut == std::string_view::npos) break;
    value.remove_prefix(cut + 1);
  }
  return false;
}

ParseOutcome fail(int status, std::string reason) {
  ParseOutcome o;
  o.state = ParseState::error;
  o.status = status;
  o.reason = std::move(reason);
  return o;
}

}  // namespace

ParseOutcome parse_http_request(std::string_view data, const HttpLimits& limits) {
  const size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (data.size() > limits.max_head_bytes) return fail(431, "request header too large");
    // A request line that can already be told bad need not wait for the rest.
    const size_t first = data.find('\n');
    if (first != std::string_view::npos && (first == 0 || data[first - 1] != '\r')) {
      return fail(400, "lines must end with CRLF");
    }
    return {};
  }
  if (end + 4 > limits.max_head_bytes) return fail(431, "request header too large");
  std::string_view head = data.substr(0, end + 2);  // every line with its CRLF

  ParseOutcome out;
  HttpRequest& req = out.request;
  auto next_line = [&head](std::string_view& line) {
    const size_t eol = head.find("\r\n");
    line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    return line.find('\n') == std::string_view::npos && line.find('\r') == std::string_view::npos;
  };

  // Request line: METHOD SP target SP HTTP/1.x
  std::string_view line;
  if (!next_line(line)) return fail(400, "lines must end with CRLF");
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(400, "malformed request line");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return fail(400, "malformed method");
  if (target.empty() || target.front() != '/' ||
      !std::all_of(target.begin(), target.end(), is_target_char)) {
    return fail(400, "malformed request target");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return fail(400, "malformed HTTP version");
  }
  if (version[5] != '1') return fail(505, "HTTP version not supported");
  req.method = std::string(method);
  const size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  req.minor_version = version[7] - '0';
  req.keep_alive = req.minor_version >= 1;

  size_t headers = 0;
  bool has_body = false;
  while (!head.empty()) {
    if (!next_line(line)) return fail(400, "lines must end with CRLF");
    if (++headers > limits.max_headers) return fail(431, "too many header fields");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(400, "malformed header field");
    const std::string_view name = line.substr(0, colon);
    // Also refuses obsolete line folding (a line starting with a space) and a space before ':'.
    if (!is_token(name)) return fail(400, "malformed header field name");
    const std::string_view value = trim_ows(line.substr(colon + 1));
    if (!std::all_of(value.begin(), value.end(), is_value_char)) {
      return fail(400, "malformed header field value");
    }
    if (iequals(name, "connection")) {
      if (has_option(value, "keep-alive")) req.keep_alive = true;
      if (has_option(value, "close")) req.keep_alive = false;
    } else if (iequals(name, "content-length")) {
      if (value.empty() ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return fail(400, "malformed Content-Length");
      }
      if (value.find_first_not_of('0') != std::string_view::npos) has_body = true;
    } else if (iequals(name, "transfer-encoding")) {
      has_body = true;
    } else if (iequals(name, "authorization")) {
      if (req.authorization) return fail(400, "Authorization sent twice");
      req.authorization = std::string(value);
    }
  }
  if (has_body) return fail(413, "request bodies are not accepted");
  if (req.method != "GET" && req.method != "HEAD") {
    out.state = ParseState::error;
    out.status = 405;
    out.reason = "only GET and HEAD are allowed";
    return out;
  }
  out.state = ParseState::done;
  out.consumed = end + 4;
  return out;
}

std::optional<std::string> decode_base64(std::string_view text) {
  std::array<int8_t, 256> value{};
  value.fill(-1);
  const std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < alphabet.size(); ++i) {
    value[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  }
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t acc = 0;
    int pad = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        ++pad;
        acc <<= 6;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      const int8_t v = value[static_cast<unsigned char>(c)];
      if (v < 0) return std::nullopt;
      acc = (acc << 6) | static_cast<uint32_t>(v);
    }
    out.push_back(static_cast<char>((acc >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((acc >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(acc & 0xff));
  }
  return out;
}

}  // namespace ferry::admin
