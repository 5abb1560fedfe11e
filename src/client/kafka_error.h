// Errors of the Kafka client as values: `KafkaError` and `KafkaResult<T>`.
//
// A KafkaError is either an error a broker answered with (a wire ErrorCode from a response) or
// one the client met itself (connect failure, timeout, a response that does not decode). Both
// carry the Kafka error code a Kafka client would report for them (NETWORK_EXCEPTION for a lost
// connection, REQUEST_TIMED_OUT for a timeout, ...) so that callers handle one kind of value;
// `from_broker()` tells the two apart. Nothing in the client throws: every completion receives a
// KafkaResult.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/result.h"
#include "protocol/error_code.h"

namespace ferry::client {

class [[nodiscard]] KafkaError {
 public:
  KafkaError() = default;
  // An error code from a response; an empty message takes the code's default text.
  static KafkaError broker(protocol::ErrorCode code, std::string message = {});
  static KafkaError broker(int16_t code, std::string message = {}) {
    return broker(static_cast<protocol::ErrorCode>(code), std::move(message));
  }
  // An error met by the client itself, reported as `code`.
  static KafkaError local(protocol::ErrorCode code, std::string message);
  // An internal ferry error (decoding, I/O) reported as `code`.
  static KafkaError local(protocol::ErrorCode code, const Error& e) {
    return local(code, e.to_string());
  }

  protocol::ErrorCode code() const noexcept { return code_; }
  bool from_broker() const noexcept { return from_broker_; }
  const std::string& message() const noexcept { return message_; }
  // Kafka's name of the code: "GROUP_ID_NOT_FOUND".
  std::string_view name() const noexcept { return protocol::error_name(code_); }
  bool retriable() const noexcept { return protocol::error_retriable(code_); }
  // "GROUP_ID_NOT_FOUND: The group does not exist."
  std::string to_string() const;

 private:
  protocol::ErrorCode code_ = protocol::ErrorCode::unknown_server_error;
  std::string message_;
  bool from_broker_ = false;
};

// A value or a KafkaError; the same shape as ferry::Result.
template <typename T>
class [[nodiscard]] KafkaResult {
 public:
  KafkaResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  KafkaResult(KafkaError error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

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
  const KafkaError& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  KafkaError&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, KafkaError> v_;
};

struct Unit {};
using KafkaStatus = KafkaResult<Unit>;

}  // namespace ferry::client
