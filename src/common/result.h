// Errors as values: `Error` (an internal error class plus a message) and `Result<T>`.
//
// Internal error classes (`Errc`) are kept apart from Kafka wire error codes; the broker maps
// one to the other at its edge. Hot paths return `Result<T>`; exceptions are reserved for
// programmer bugs and start-up configuration errors, and never cross the event loop.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace ferry {

enum class Errc {
  ok = 0,
  io,                // a system call failed (errno in the message)
  no_space,          // ENOSPC / EDQUOT
  corrupt,           // bytes on disk or on the wire fail validation
  invalid_argument,  // the caller asked for something malformed
  not_found,
  already_exists,
  out_of_range,   // offset or position outside what exists
  too_large,      // a record batch or request over a configured limit
  unsupported,    // a format or version this build does not handle
  closed,         // the object was closed or is shutting down
  failed_state,   // sticky error: the object failed earlier and refuses writes
  newer_version,  // data written by a newer ferry
};

std::string_view errc_name(Errc c) noexcept;

// Whether retrying the same operation later may succeed.
constexpr bool errc_retriable(Errc c) noexcept { return c == Errc::io || c == Errc::no_space; }

class [[nodiscard]] Error {
 public:
  Error() = default;
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  Errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  bool retriable() const noexcept { return errc_retriable(code_); }
  // "corrupt: bad CRC in 00000000000000000000.log at 4096"
  std::string to_string() const;

  // Builds an io error from errno: "<what>: <strerror(err)>"; ENOSPC/EDQUOT map to no_space.
  static Error from_errno(int err, std::string_view what);

 private:
  Errc code_ = Errc::ok;
  std::string message_;
};

// A value or an Error. Small and explicit: check with ok()/operator bool before value().
// The error type is ferry::Error unless a module has its own (the client's KafkaError).
template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  E&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, E> v_;
};

template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  Result(E error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const E& error() const& {
    assert(!ok_);
    return error_;
  }
  E&& error() && {
    assert(!ok_);
    return std::move(error_);
  }

 private:
  E error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return Status{}; }

}  // namespace ferry

// Propagates an error from an expression yielding Status or Result<T>:
//   FERRY_TRY(file.sync());
// Returns the error from the enclosing function; visible control flow, no hidden labels.
#define FERRY_TRY(expr)                                             \
  do {                                                              \
    auto ferry_try_r_ = (expr);                                     \
    if (!ferry_try_r_.ok()) return std::move(ferry_try_r_).error(); \
  } while (0)
