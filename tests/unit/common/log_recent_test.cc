// The ring of recent WARN/ERROR lines: only those levels are kept, with module and message,
// bounded to kRecentCapacity with the oldest dropped, long messages cut.
#include "common/log_recent.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::log {
namespace {

void discard(Level, std::string_view, void*) {}

class RecentLinesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_sink(discard, nullptr);
    clear_recent();
  }
  void TearDown() override {
    set_sink(nullptr, nullptr);
    clear_recent();
  }
};

TEST_F(RecentLinesTest, KeepsWarningsAndErrorsOnly) {
  write(Level::info, "broker", "started");
  write(Level::warn, "storage", "truncated %s at %d", "t-0", 42);
  write(Level::debug, "net", "noise");
  write(Level::error, "meta", "commit failed");
  const auto lines = recent_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].level, Level::warn);
  EXPECT_EQ(lines[0].module, "storage");
  EXPECT_EQ(lines[0].message, "truncated t-0 at 42");
  EXPECT_GT(lines[0].time_ms, int64_t{1'600'000'000'000});
  EXPECT_EQ(lines[1].level, Level::error);
  EXPECT_EQ(lines[1].module, "meta");
  EXPECT_EQ(lines[1].message, "commit failed");
}

TEST_F(RecentLinesTest, BoundedRingDropsTheOldest) {
  for (int i = 0; i < 120; ++i) write(Level::warn, "net", "line %d", i);
  const auto lines = recent_lines();
  ASSERT_EQ(lines.size(), kRecentCapacity);
  EXPECT_EQ(lines.front().message, "line " + std::to_string(120 - kRecentCapacity));
  EXPECT_EQ(lines.back().message, "line 119");
  EXPECT_EQ(recent_total(), 120u);
}

TEST_F(RecentLinesTest, LongMessagesAreCutAndControlBytesEscaped) {
  write(Level::error, "net", "%s", std::string(2000, 'x').c_str());
  write(Level::warn, "net", "a\nb");
  const auto lines = recent_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].message.size(), kRecentMessageMax);
  EXPECT_EQ(lines[1].message, "a\\x0ab");
}

}  // namespace
}  // namespace ferry::log
