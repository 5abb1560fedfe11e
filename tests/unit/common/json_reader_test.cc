// The JSON reader: every kind of value, escapes, numbers at the edges, and malformed text
// refused with a position (never a crash).
#include "common/json_reader.h"

#include <gtest/gtest.h>

#include <string>

#include "common/json_text.h"

namespace ferry {
namespace {

TEST(JsonReader, ReadsEveryKind) {
  auto v = JsonValue::parse(
      R"( {"a": null, "b": true, "c": false, "n": -42, "big": 9007199254740993,
          "r": 1.5e3, "s": "x\"\\\/\n\u00e9\ud83d\ude00", "arr": [1, [2], {}], "o": {"k": []}} )");
  ASSERT_TRUE(v.ok()) << v.error().message();
  const JsonValue& j = *v;
  EXPECT_TRUE(j["a"].is_null());
  EXPECT_TRUE(j.has("a"));
  EXPECT_FALSE(j.has("zz"));
  EXPECT_TRUE(j["zz"].is_null());
  EXPECT_TRUE(j["b"].as_bool());
  EXPECT_FALSE(j["c"].as_bool(true));
  EXPECT_EQ(j["n"].as_int(), -42);
  EXPECT_EQ(j["big"].as_int(), 9007199254740993LL);  // exact, not through a double
  EXPECT_EQ(j["r"].kind(), JsonValue::Kind::real);
  EXPECT_EQ(j["r"].as_int(), 1500);
  EXPECT_EQ(j["s"].as_string(), "x\"\\/\n\xc3\xa9\xf0\x9f\x98\x80");
  ASSERT_EQ(j["arr"].items().size(), 3u);
  EXPECT_EQ(j["arr"].items()[1].items()[0].as_int(), 2);
  EXPECT_EQ(j["o"]["k"].kind(), JsonValue::Kind::array);
  EXPECT_EQ(j["s"].as_int(7), 7);  // another kind: the fallback
}

TEST(JsonReader, ReadsWhatJsonQuoteWrites) {
  const std::string text = std::string("a<b\x01\x7f\"\\") + "\xc3\xa9";
  auto v = JsonValue::parse(json_quote(text));
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->as_string(), text);
}

TEST(JsonReader, RefusesMalformedText) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "tru", "\"abc", "01x",
                          "[1] 2", "\"\\x\"", "\"\\u12\"", "-", "{1:2}", "\"a\nb\""}) {
    auto v = JsonValue::parse(bad);
    EXPECT_FALSE(v.ok()) << bad;
    if (!v.ok()) {
      EXPECT_NE(v.error().message().find("at byte"), std::string::npos);
    }
  }
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(JsonValue::parse(deep).ok());
}

}  // namespace
}  // namespace ferry
