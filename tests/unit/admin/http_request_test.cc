// Unit tests for the admin listener's HTTP request parser and base64 decoding: well-formed
// requests, pipelining, keep-alive rules, the limits (431), bodies (413), methods (405),
// versions (505) and malformed input (400), fed whole and a byte at a time.
#include "admin/http_request.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::admin {
namespace {

ParseOutcome parse(std::string_view text, HttpLimits limits = {}) {
  return parse_http_request(text, limits);
}

int error_status(std::string_view text, HttpLimits limits = {}) {
  ParseOutcome o = parse(text, limits);
  EXPECT_EQ(o.state, ParseState::error) << text;
  return o.status;
}

TEST(HttpRequest, ParsesAGet) {
  const std::string text =
      "GET /metrics?x=1 HTTP/1.1\r\nHost: localhost:9644\r\nAccept: */*\r\n\r\n";
  ParseOutcome o = parse(text);
  ASSERT_EQ(o.state, ParseState::done);
  EXPECT_EQ(o.consumed, text.size());
  EXPECT_EQ(o.request.method, "GET");
  EXPECT_EQ(o.request.path, "/metrics");
  EXPECT_EQ(o.request.query, "x=1");
  EXPECT_EQ(o.request.minor_version, 1);
  EXPECT_TRUE(o.request.keep_alive);
  EXPECT_FALSE(o.request.authorization.has_value());
}

TEST(HttpRequest, IncompleteUntilTheBlankLine) {
  const std::string text = "HEAD /health/live HTTP/1.1\r\nHost: a\r\n\r\n";
  for (size_t n = 0; n < text.size(); ++n) {
    EXPECT_EQ(parse(text.substr(0, n)).state, ParseState::incomplete) << n;
  }
  ParseOutcome o = parse(text);
  ASSERT_EQ(o.state, ParseState::done);
  EXPECT_EQ(o.request.method, "HEAD");
}

TEST(HttpRequest, PipelinedRequestsParseOneAtATime) {
  const std::string a = "GET /a HTTP/1.1\r\n\r\n";
  const std::string b = "GET /b HTTP/1.1\r\nConnection: close\r\n\r\n";
  const std::string both = a + b;
  ParseOutcome first = parse(both);
  ASSERT_EQ(first.state, ParseState::done);
  EXPECT_EQ(first.consumed, a.size());
  EXPECT_EQ(first.request.path, "/a");
  ParseOutcome second = parse(std::string_view(both).substr(first.consumed));
  ASSERT_EQ(second.state, ParseState::done);
  EXPECT_EQ(second.request.path, "/b");
  EXPECT_FALSE(second.request.keep_alive);
}

TEST(HttpRequest, KeepAliveRules) {
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").request.keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").request.keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\n\r\n").request.keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nconnection: foo, CLOSE\r\n\r\n").request.keep_alive);
}

TEST(HttpRequest, Authorization) {
  ParseOutcome o = parse("GET / HTTP/1.1\r\nAuthorization:  Basic YTpi \r\n\r\n");
  ASSERT_EQ(o.state, ParseState::done);
  ASSERT_TRUE(o.request.authorization.has_value());
  EXPECT_EQ(*o.request.authorization, "Basic YTpi");
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n"), 400);
}

TEST(HttpRequest, Limits) {
  HttpLimits small;
  small.max_head_bytes = 64;
  small.max_headers = 2;
  // Too large without the end in sight, and too large with it.
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nX: " + std::string(100, 'a'), small), 431);
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n", small), 431);
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", small), 431);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", small).state, ParseState::done);
}

TEST(HttpRequest, BodiesAndMethods) {
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"), 413);
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 413);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").state, ParseState::done);
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
  ParseOutcome post = parse("POST /metrics HTTP/1.1\r\n\r\n");
  ASSERT_EQ(post.state, ParseState::error);
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.request.method, "POST");
  EXPECT_EQ(error_status("get / HTTP/1.1\r\n\r\n"), 405);  // methods are case-sensitive
}

TEST(HttpRequest, MalformedInput) {
  EXPECT_EQ(error_status("GET / HTTP/2.0\r\n\r\n"), 505);
  for (const char* bad : {
           "GET /\r\n\r\n",                          // no version
           "GET  / HTTP/1.1\r\n\r\n",                // two spaces
           "GET / HTTP/1.1 x\r\n\r\n",               // trailing field
           "GET metrics HTTP/1.1\r\n\r\n",           // not origin-form
           "GET http://a/ HTTP/1.1\r\n\r\n",         // absolute-form
           "GET / HTTX/1.1\r\n\r\n",                 // version
           "GET / HTTP/1.12\r\n\r\n",                // version
           "G(T / HTTP/1.1\r\n\r\n",                 // method not a token
           "GET / HTTP/1.1\r\nNoColon\r\n\r\n",      // header without ':'
           "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",  // space in the name
           "GET / HTTP/1.1\r\n folded\r\n\r\n",      // obsolete line folding
           "GET / HTTP/1.1\r\n: empty\r\n\r\n",      // empty name
           "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",      // bare CR in a value
           "GET / HTTP/1.1\r\nX: a\nb\r\n\r\n",      // bare LF in a value
           "\r\n\r\n",                               // empty request line
       }) {
    EXPECT_EQ(error_status(bad), 400) << bad;
  }
  // A bare LF ends the request line: an error as soon as it is seen.
  EXPECT_EQ(error_status("GET / HTTP/1.1\n"), 400);
  const std::string nul("GET /\0 HTTP/1.1\r\n\r\n", 20);
  EXPECT_EQ(error_status(nul), 400);
}

TEST(HttpRequest, ArbitraryBytesNeverCrash) {
  // Every prefix of a mix of valid and invalid requests: the parser answers something.
  const std::string text =
      "GET / HTTP/1.1\r\nA: \x80\xff\r\n\r\nPUT /x HTTP/1.1\r\nContent-Length: 99999999999999999999"
      "\r\n\r\n\x00\x01";
  for (size_t n = 0; n <= text.size(); ++n) {
    for (size_t from = 0; from < n; from += 7) {
      ParseOutcome o = parse(std::string_view(text).substr(from, n - from));
      if (o.state == ParseState::done) {
        EXPECT_LE(o.consumed, n - from);
      }
    }
  }
}

TEST(Base64, Decodes) {
  EXPECT_EQ(decode_base64("YWRtaW46c2VjcmV0").value_or("?"), "admin:secret");
  EXPECT_EQ(decode_base64("YTpi").value_or("?"), "a:b");
  EXPECT_EQ(decode_base64("YQ==").value_or("?"), "a");
  EXPECT_EQ(decode_base64("YWI=").value_or("?"), "ab");
  EXPECT_EQ(decode_base64("").value_or("?"), "");
  EXPECT_FALSE(decode_base64("YQ=").has_value());
  EXPECT_FALSE(decode_base64("Y===").has_value());
  EXPECT_FALSE(decode_base64("YQ=a").has_value());
  EXPECT_FALSE(decode_base64("Y!==").has_value());
  EXPECT_FALSE(decode_base64("YQ==YQ==").has_value());
}

}  // namespace
}  // namespace ferry::admin
