// JSON string literals with the escapes JSON requires, for every JSON ferry writes (the admin
// endpoints, the operator commands, the mirror status). Pure.
#pragma once

#include <string>
#include <string_view>

namespace ferry {

// `s` as a JSON string literal, quotes included; control characters and DEL as \u00XX, '<' as
// \u003c (so the text may sit inside an HTML page), other bytes (UTF-8) unchanged.
std::string json_quote(std::string_view s);

}  // namespace ferry
