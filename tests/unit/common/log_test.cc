// Log lines: escaping of client-supplied strings, one line per call whatever the message holds,
// the per-cause rate limiter, and the journald line format.
#include "common/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/log_format.h"

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

TEST_F(LogLines, JournalFormatHasPriorityPrefixAndNoTimestamp) {
  set_format(Format::journal);
  FERRY_LOG(error, "storage", "fsync failed");
  FERRY_LOG(warn, "net", "slow client");
  FERRY_LOG(info, "broker", "serving");
  set_level(Level::debug);
  FERRY_LOG(debug, "meta", "detail");
  set_level(Level::info);
  set_format(Format::plain);
  FERRY_LOG(info, "broker", "plain again");
  ASSERT_EQ(captured_.lines.size(), 5u);
  EXPECT_EQ(captured_.lines[0], "<3>storage: fsync failed");
  EXPECT_EQ(captured_.lines[1], "<4>net: slow client");
  EXPECT_EQ(captured_.lines[2], "<6>broker: serving");
  EXPECT_EQ(captured_.lines[3], "<7>meta: detail");
  EXPECT_NE(captured_.lines[4].find("Z INFO  broker: plain again"), std::string::npos)
      << captured_.lines[4];
}

TEST(LogJournalStream, MatchesOnlyStderrsDeviceAndInode) {
  EXPECT_TRUE(is_journal_stream("8:1234", 8, 1234));
  EXPECT_FALSE(is_journal_stream("8:1234", 8, 1235));
  EXPECT_FALSE(is_journal_stream("9:1234", 8, 1234));
  EXPECT_FALSE(is_journal_stream(nullptr, 8, 1234));
  EXPECT_FALSE(is_journal_stream("", 8, 1234));
  EXPECT_FALSE(is_journal_stream("8:1234x", 8, 1234));
  EXPECT_FALSE(is_journal_stream("8", 8, 1234));
  // 64-bit device numbers and inodes (armhf's long is 32 bits).
  EXPECT_TRUE(is_journal_stream("66311:5000000000", 66311, 5000000000ull));
}

}  // namespace
}  // namespace ferry::log
