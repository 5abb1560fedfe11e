// Output helpers shared by the operator commands (`ferry groups`, `ferry topics`): JSON string
// escaping and aligned text tables. Everything prints to stdout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::app {

// `s` as a JSON string literal, quotes included; control characters escaped.
std::string json_string(std::string_view s);
// A non-negative number, or null for a negative one (a missing offset, no leader).
std::string json_int_or_null(int64_t v);
// [1,2,3]
std::string json_int_array(const std::vector<int32_t>& v);

// Columns separated by two spaces, each as wide as its widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ferry::app
