// A small JSON reader for the JSON ferry itself writes (the admin listener's /v1/status, read
// back by `ferry cluster status`): RFC 8259 values into a tree. Numbers are kept as int64 when
// they are integers in range, as double otherwise; strings are UTF-8 with \u escapes decoded
// (surrogate pairs joined). Nesting is limited to 64 levels. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace ferry {

class JsonValue {
 public:
  enum class Kind : uint8_t { null, boolean, integer, real, string, array, object };

  Kind kind() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == Kind::null; }
  bool is_number() const noexcept { return kind_ == Kind::integer || kind_ == Kind::real; }

  // The value, or `fallback` when it is of another kind (a real number counts as an integer
  // only when it is one).
  bool as_bool(bool fallback = false) const noexcept;
  int64_t as_int(int64_t fallback = 0) const noexcept;
  double as_double(double fallback = 0) const noexcept;
  const std::string& as_string() const noexcept;         // "" for other kinds
  const std::vector<JsonValue>& items() const noexcept;  // arrays; empty for other kinds
  // Objects: the member named `key`, or a null value.
  const JsonValue& operator[](std::string_view key) const noexcept;
  bool has(std::string_view key) const noexcept;
  const std::map<std::string, JsonValue, std::less<>>& members() const noexcept;

  static Result<JsonValue> parse(std::string_view text);

 private:
  friend class JsonParser;
  Kind kind_ = Kind::null;
  bool bool_ = false;
  int64_t int_ = 0;
  double real_ = 0;
  std::string string_;
  std::vector<JsonValue> items_;
  std::map<std::string, JsonValue, std::less<>> members_;
};

}  // namespace ferry
