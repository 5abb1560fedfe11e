// ISO-8601 parsing for `ferry groups --reset-offsets --to-datetime`.
#include "client/datetime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <string>

namespace ferry::client {
namespace {

constexpr int64_t k2023_11_14T22_13_20Z = 1'700'000'000'000;

int64_t ms(const std::string& s) {
  auto r = parse_iso8601_ms(s);
  EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error().to_string());
  return r.ok() ? *r : -1;
}

TEST(Iso8601, UtcForms) {
  EXPECT_EQ(ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ms("2023-11-14T22:13:20Z"), k2023_11_14T22_13_20Z);
  EXPECT_EQ(ms("2023-11-14T22:13:20.000Z"), k2023_11_14T22_13_20Z);
  EXPECT_EQ(ms("2023-11-14T22:13:20.25Z"), k2023_11_14T22_13_20Z + 250);
  EXPECT_EQ(ms("2023-11-14T22:13:20.123456789Z"), k2023_11_14T22_13_20Z + 123);
  EXPECT_EQ(ms("2023-11-14T22:13Z"), k2023_11_14T22_13_20Z - 20'000);
  EXPECT_EQ(ms("2023-11-14 22:13:20z"), k2023_11_14T22_13_20Z);
  EXPECT_EQ(ms("2024-02-29T00:00:00Z"), 1'709'164'800'000);
  EXPECT_EQ(ms("1969-12-31T23:59:59Z"), -1000);
}

TEST(Iso8601, ZoneOffsets) {
  EXPECT_EQ(ms("2023-11-15T00:13:20+02:00"), k2023_11_14T22_13_20Z);
  EXPECT_EQ(ms("2023-11-15T00:13:20+0200"), k2023_11_14T22_13_20Z);
  EXPECT_EQ(ms("2023-11-15T00:13:20+02"), k2023_11_14T22_13_20Z);
  EXPECT_EQ(ms("2023-11-14T16:43:20.500-05:30"), k2023_11_14T22_13_20Z + 500);
}

TEST(Iso8601, WithoutAZoneIsLocalTime) {
  const char* old = std::getenv("TZ");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  EXPECT_EQ(ms("2023-11-14T22:13:20"), k2023_11_14T22_13_20Z);
  EXPECT_EQ(ms("2023-11-14"), k2023_11_14T22_13_20Z - (22 * 3600 + 13 * 60 + 20) * 1000);
  ::setenv("TZ", "EST5", 1);  // UTC-5, no daylight saving
  ::tzset();
  EXPECT_EQ(ms("2023-11-14T17:13:20.001"), k2023_11_14T22_13_20Z + 1);
  if (old != nullptr) {
    ::setenv("TZ", saved.c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
  ::tzset();
}

TEST(Iso8601, RejectsMalformedText) {
  for (const char* s :
       {"", "yesterday", "2023-1-14", "2023-11-14T", "2023-11-14T22", "2023-13-01", "2023-02-29",
        "2023-11-31", "2023-11-14T24:00:00Z", "2023-11-14T22:60Z", "2023-11-14T22:13:20.Z",
        "2023-11-14T22:13:20X", "2023-11-14T22:13:20+2", "2023-11-14T22:13:20+19:00",
        "2023-11-14T22:13:20Z extra", "1700000000000"}) {
    auto r = parse_iso8601_ms(s);
    EXPECT_FALSE(r.ok()) << s;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), Errc::invalid_argument) << s;
    }
  }
}

}  // namespace
}  // namespace ferry::client
