// The little JSON the admin endpoints write: a string literal with the escapes JSON requires.
#pragma once

#include <string>
#include <string_view>

namespace ferry::admin {

// `s` as a JSON string literal, quotes included; control characters as \u00XX, bytes of
// invalid UTF-8 passed through unchanged (the names ferry holds are ASCII).
std::string json_quote(std::string_view s);

}  // namespace ferry::admin
