// ISO-8601 parsing for --to-datetime.
#include "client/datetime.h"

#include <ctime>
#include <string>

namespace ferry::client {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return pos_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  // Exactly `n` digits.
  bool digits(size_t n, int64_t* out) {
    if (s_.size() - pos_ < n) return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      const char c = s_[pos_ + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    pos_ += n;
    *out = v;
    return true;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

Error bad(std::string_view text, const char* why) {
  return Error(Errc::invalid_argument, "'" + std::string(text) +
                                           "' is not an ISO-8601 date-time (" + why +
                                           "); expected e.g. 2024-05-01T12:30:00.000Z");
}

}  // namespace

Result<int64_t> parse_iso8601_ms(std::string_view text) {
  Cursor c(text);
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  if (!c.digits(4, &y) || !c.eat('-') || !c.digits(2, &mo) || !c.eat('-') || !c.digits(2, &d))
    return bad(text, "date must be YYYY-MM-DD");
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return bad(text, "no such date");
  if (c.eat('T') || c.eat('t') || c.eat(' ')) {
    if (!c.digits(2, &h) || !c.eat(':') || !c.digits(2, &mi))
      return bad(text, "time must be HH:MM[:SS[.sss]]");
    if (c.eat(':')) {
      if (!c.digits(2, &s)) return bad(text, "seconds must be two digits");
      if (c.eat('.')) {
        int64_t frac = 0;
        size_t n = 0;
        while (n < 9 && c.peek() >= '0' && c.peek() <= '9') {
          int64_t digit = 0;
          (void)c.digits(1, &digit);
          if (n < 3) frac = frac * 10 + digit;
          ++n;
        }
        if (n == 0) return bad(text, "a '.' must be followed by digits");
        for (size_t i = n; i < 3; ++i) frac *= 10;
        ms = frac;
      }
    }
    if (h > 23 || mi > 59 || s > 59) return bad(text, "time out of range");
  }
  const int64_t local = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + s;
  if (c.done()) {
    // No zone: local time, as Kafka's tool reads it.
    std::tm tm{};
    tm.tm_year = static_cast<int>(y - 1900);
    tm.tm_mon = static_cast<int>(mo - 1);
    tm.tm_mday = static_cast<int>(d);
    tm.tm_hour = static_cast<int>(h);
    tm.tm_min = static_cast<int>(mi);
    tm.tm_sec = static_cast<int>(s);
    tm.tm_isdst = -1;
    const std::time_t t = std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1)) return bad(text, "not representable in local time");
    return static_cast<int64_t>(t) * 1000 + ms;
  }
  int64_t offset_s = 0;
  if (c.eat('Z') || c.eat('z')) {
    offset_s = 0;
  } else {
    const char sign = c.peek();
    if (!c.eat('+') && !c.eat('-')) return bad(text, "unexpected text after the time");
    int64_t oh = 0, om = 0;
    if (!c.digits(2, &oh)) return bad(text, "zone must be Z, +HH:MM, +HHMM or +HH");
    if (!c.done()) {
      c.eat(':');
      if (!c.digits(2, &om)) return bad(text, "zone must be Z, +HH:MM, +HHMM or +HH");
    }
    if (oh > 18 || om > 59) return bad(text, "zone offset out of range");
    offset_s = (oh * 60 + om) * 60 * (sign == '-' ? -1 : 1);
  }
  if (!c.done()) return bad(text, "unexpected text after the zone");
  return (local - offset_s) * 1000 + ms;
}

}  // namespace ferry::client
