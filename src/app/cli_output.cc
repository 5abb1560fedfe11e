// JSON escaping and text tables for the operator commands.
#include "app/cli_output.h"

#include <algorithm>
#include <cstdio>

#include "common/json_text.h"

namespace ferry::app {

std::string json_string(std::string_view s) { return json_quote(s); }

std::string json_int_or_null(int64_t v) { return v < 0 ? "null" : std::to_string(v); }

std::string json_int_array(const std::vector<int32_t>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out + "]";
}

void Table::print() const {
  std::vector<size_t> width(rows_[0].size(), 0);
  for (const auto& r : rows_) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows_) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace ferry::app
