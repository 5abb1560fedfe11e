// JSON string literals. See json_text.h.
#include "common/json_text.h"

#include <cstdio>

namespace ferry {

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c) & 0xffu);
          out += buf;
        } else if (c == '<') {
          out += "\\u003c";  // the status page may embed it in HTML
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace ferry
