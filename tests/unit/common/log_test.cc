// Log lines: escaping of client-supplied strings, one line per call whatever the message holds,
// and the per-cause rate limiter.
#include "common/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ferry::log {
namespace {

TEST(LogEscape, PrintableTextIsKept) {
  EXPECT_EQ(escape("rdkafka-producer 1.9"), "rdkafka-producer 1.9");
}

TEST(LogEscape, ControlAndNonAsciiBytesBecomeHexEscapes) {
  EXPECT_EQ(escape("a\nb"), "a\\x0ab");
  EXPECT_EQ(escape(std::string("\r\t\x1b[31m\x7f", 8)), "\\x0d\\x09\\x1b[31m\\x7f");
  EXPECT_EQ(escape(std::string("\0", 1)), "\\x00");
  EXPECT_EQ(escape("caf\xc3\xa9"), "caf\\xc3\\xa9");
  // A backslash is doubled, so "\x0a" typed by a client does not read like an escaped newline.
  EXPECT_EQ(escape("\\x0a"), "\\\\x0a");
}

TEST(LogEscape, LongStringsAreCut) {
  const std::string s = escape(std::string(1000, 'a'), 10);
  EXPECT_EQ(s, "aaaaaaaaaa...(1000 bytes)");
}

struct Captured {
  std::vector<std::string> lines;
};

void capture(Level, std::string_view line, void* ctx) {
  static_cast<Captured*>(ctx)->lines.emplace_back(line);
}

class LogLines : public ::testing::Test {
 protected:
  void SetUp() override { set_sink(&capture, &captured_); }
  void TearDown() override {
    set_sink(nullptr, nullptr);
    set_rate_limit(5, 10'000);
  }
  Captured captured_;
};

TEST_F(LogLines, ANewlineInsideAMessageCannotStartAnotherLine) {
  const char* forged = "x\n2026-01-01T00:00:00.000Z ERROR broker: forged";
  FERRY_LOG(warn, "broker", "client %s sent something", forged);
  ASSERT_EQ(captured_.lines.size(), 1u);
  EXPECT_EQ(captured_.lines[0].find('\n'), std::string::npos);
  EXPECT_NE(captured_.lines[0].find("client x\\x0a2026-01-01"), std::string::npos)
      << captured_.lines[0];
}

TEST_F(LogLines, RateLimitedLinesReportHowManyWereSuppressed) {
  set_rate_limit(2, 60'000);
  for (int i = 0; i < 10; ++i) FERRY_LOG_RATELIMITED(warn, "net", "test cause a", "line %d", i);
  FERRY_LOG_RATELIMITED(warn, "net", "test cause b", "other cause");
  ASSERT_EQ(captured_.lines.size(), 3u);
  EXPECT_NE(captured_.lines[0].find("line 0"), std::string::npos);
  EXPECT_NE(captured_.lines[1].find("line 1"), std::string::npos);
  EXPECT_NE(captured_.lines[2].find("other cause"), std::string::npos);
  set_rate_limit(2, 0);  // every call starts a new interval
  FERRY_LOG_RATELIMITED(warn, "net", "test cause a", "line %d", 10);
  ASSERT_EQ(captured_.lines.size(), 4u);
  EXPECT_NE(captured_.lines[3].find("line 10 (8 similar lines suppressed)"), std::string::npos)
      << captured_.lines[3];
}

TEST(RateLimiter, AllowsABurstPerIntervalPerCause) {
  RateLimiter limiter(3, 1000);
  uint64_t suppressed = 0;
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += limiter.allow("a", 100, &suppressed) ? 1 : 0;
  EXPECT_EQ(allowed, 3);
  EXPECT_TRUE(limiter.allow("b", 100, &suppressed)) << "causes are counted apart";
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(limiter.allow("a", 1099, &suppressed));
  EXPECT_TRUE(limiter.allow("a", 1100, &suppressed));
  EXPECT_EQ(suppressed, 8u);
  EXPECT_TRUE(limiter.allow("a", 1101, &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

}  // namespace
}  // namespace ferry::log
