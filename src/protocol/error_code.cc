// Names and default messages of the Kafka error codes, generated from FERRY_KAFKA_ERRORS.
#include "protocol/error_code.h"

#include <array>
#include <cstddef>

namespace ferry::protocol {
namespace {

// An enumerator's spelling in upper case, computed at compile time.
struct UpperName {
  std::array<char, 48> chars{};
  size_t size = 0;
};

constexpr UpperName upper(std::string_view s) {
  UpperName u;
  for (char c : s) {
    u.chars[u.size++] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return u;
}

struct Entry {
  ErrorCode code;
  UpperName name;
  bool retriable;
  std::string_view message;
};

constexpr Entry kErrors[] = {
#define FERRY_ERROR_ENTRY(name, code, retriable, message) \
  Entry{ErrorCode::name, upper(#name), retriable, message},
    FERRY_KAFKA_ERRORS(FERRY_ERROR_ENTRY)
#undef FERRY_ERROR_ENTRY
};

// The list is dense and in order, so a code's entry is at index code - kMinErrorCode.
constexpr bool dense_and_ordered() {
  int expected = kMinErrorCode;
  for (const auto& e : kErrors) {
    if (static_cast<int>(e.code) != expected++) return false;
  }
  return expected == kMaxErrorCode + 1;
}
static_assert(dense_and_ordered(), "FERRY_KAFKA_ERRORS must list every code once, in order");

const Entry* find(int16_t code) noexcept {
  if (code < kMinErrorCode || code > kMaxErrorCode) return nullptr;
  return &kErrors[static_cast<size_t>(code - kMinErrorCode)];
}

}  // namespace

std::string_view error_name(ErrorCode c) noexcept {
  const Entry* e = find(static_cast<int16_t>(c));
  return e ? std::string_view(e->name.chars.data(), e->name.size) : std::string_view("UNKNOWN");
}

std::string_view error_message(ErrorCode c) noexcept {
  const Entry* e = find(static_cast<int16_t>(c));
  return e ? e->message : std::string_view();
}

bool error_retriable(ErrorCode c) noexcept {
  const Entry* e = find(static_cast<int16_t>(c));
  return e && e->retriable;
}

bool is_known_error_code(int16_t code) noexcept { return find(code) != nullptr; }

}  // namespace ferry::protocol
