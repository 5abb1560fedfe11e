// The JSON reader. See json_reader.h.
#include "common/json_reader.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace ferry {

namespace {
const JsonValue& null_value() {
  static const JsonValue v;
  return v;
}
const std::string& empty_string() {
  static const std::string s;
  return s;
}
const std::vector<JsonValue>& empty_items() {
  static const std::vector<JsonValue> v;
  return v;
}
const std::map<std::string, JsonValue, std::less<>>& empty_members() {
  static const std::map<std::string, JsonValue, std::less<>> m;
  return m;
}
constexpr int kMaxDepth = 64;
}  // namespace

bool JsonValue::as_bool(bool fallback) const noexcept {
  return kind_ == Kind::boolean ? bool_ : fallback;
}
int64_t JsonValue::as_int(int64_t fallback) const noexcept {
  if (kind_ == Kind::integer) return int_;
  if (kind_ == Kind::real && std::nearbyint(real_) == real_ && std::fabs(real_) < 9.2e18) {
    return static_cast<int64_t>(real_);
  }
  return fallback;
}
double JsonValue::as_double(double fallback) const noexcept {
  if (kind_ == Kind::integer) return static_cast<double>(int_);
  if (kind_ == Kind::real) return real_;
  return fallback;
}
const std::string& JsonValue::as_string() const noexcept {
  return kind_ == Kind::string ? string_ : empty_string();
}
const std::vector<JsonValue>& JsonValue::items() const noexcept {
  return kind_ == Kind::array ? items_ : empty_items();
}
const JsonValue& JsonValue::operator[](std::string_view key) const noexcept {
  if (kind_ != Kind::object) return null_value();
  auto it = members_.find(key);
  return it == members_.end() ? null_value() : it->second;
}
bool JsonValue::has(std::string_view key) const noexcept {
  return kind_ == Kind::object && members_.find(key) != members_.end();
}
const std::map<std::string, JsonValue, std::less<>>& JsonValue::members() const noexcept {
  return kind_ == Kind::object ? members_ : empty_members();
}

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text) {}

  Result<JsonValue> run() {
    JsonValue v;
    if (!value(v, 0)) return fail();
    skip_space();
    if (i_ != s_.size()) {
      why_ = "text after the value";
      return fail();
    }
    return v;
  }

 private:
  Error fail() const {
    return Error(Errc::invalid_argument,
                 "JSON: " + why_ + " at byte " + std::to_string(static_cast<unsigned long>(i_)));
  }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) {
      why_ = "unexpected character";
      return false;
    }
    i_ += word.size();
    return true;
  }
  bool value(JsonValue& v, int depth) {
    if (depth > kMaxDepth) {
      why_ = "nested too deep";
      return false;
    }
    skip_space();
    if (i_ >= s_.size()) {
      why_ = "unexpected end";
      return false;
    }
    const char c = s_[i_];
    if (c == 'n') return literal("null");
    if (c == 't' || c == 'f') {
      v.kind_ = JsonValue::Kind::boolean;
      v.bool_ = c == 't';
      return literal(c == 't' ? "true" : "false");
    }
    if (c == '"') {
      v.kind_ = JsonValue::Kind::string;
      return string(v.string_);
    }
    if (c == '[') {
      ++i_;
      v.kind_ = JsonValue::Kind::array;
      skip_space();
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return true;
      }
      for (;;) {
        v.items_.emplace_back();
        if (!value(v.items_.back(), depth + 1)) return false;
        skip_space();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == ']') {
          ++i_;
          return true;
        }
        why_ = "expected ',' or ']'";
        return false;
      }
    }
    if (c == '{') {
      ++i_;
      v.kind_ = JsonValue::Kind::object;
      skip_space();
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return true;
      }
      for (;;) {
        skip_space();
        std::string key;
        if (i_ >= s_.size() || s_[i_] != '"') {
          why_ = "expected a member name";
          return false;
        }
        if (!string(key)) return false;
        skip_space();
        if (i_ >= s_.size() || s_[i_] != ':') {
          why_ = "expected ':'";
          return false;
        }
        ++i_;
        JsonValue member;
        if (!value(member, depth + 1)) return false;
        v.members_[std::move(key)] = std::move(member);
        skip_space();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == '}') {
          ++i_;
          return true;
        }
        why_ = "expected ',' or '}'";
        return false;
      }
    }
    return number(v);
  }
  bool number(JsonValue& v) {
    const size_t start = i_;
    bool integer = true;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    const size_t digits = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    if (i_ == digits) {
      why_ = "unexpected character";
      return false;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      integer = false;
      ++i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      integer = false;
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    }
    const std::string text(s_.substr(start, i_ - start));
    if (integer) {
      errno = 0;
      char* end = nullptr;
      const long long n = std::strtoll(text.c_str(), &end, 10);
      if (errno == 0 && end == text.c_str() + text.size()) {
        v.kind_ = JsonValue::Kind::integer;
        v.int_ = static_cast<int64_t>(n);
        return true;
      }
    }
    char* end = nullptr;
    v.real_ = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) {
      why_ = "bad number";
      return false;
    }
    v.kind_ = JsonValue::Kind::real;
    return true;
  }
  bool hex4(uint32_t& out) {
    if (i_ + 4 > s_.size()) return false;
    out = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      out <<= 4;
      if (h >= '0' && h <= '9') {
        out |= static_cast<uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        out |= static_cast<uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        out |= static_cast<uint32_t>(h - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }
  static void utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool string(std::string& out) {
    ++i_;  // the opening quote
    for (;;) {
      if (i_ >= s_.size()) {
        why_ = "unterminated string";
        return false;
      }
      const char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) {
        why_ = "control character in a string";
        return false;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) {
        why_ = "unterminated string";
        return false;
      }
      const char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) {
            why_ = "bad \\u escape";
            return false;
          }
          if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(i_, 2) == "\\u") {
            i_ += 2;
            uint32_t low = 0;
            if (!hex4(low) || low < 0xDC00 || low >= 0xE000) {
              why_ = "bad surrogate pair";
              return false;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          utf8(out, cp);
          break;
        }
        default: why_ = "bad escape"; return false;
      }
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  std::string why_;
};

Result<JsonValue> JsonValue::parse(std::string_view text) { return JsonParser(text).run(); }

}  // namespace ferry
