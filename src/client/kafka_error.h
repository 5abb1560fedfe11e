// Errors of the Kafka client as values: `KafkaError` and `KafkaResult<T>`.
//
// A KafkaError is either an error a broker answered with (a wire ErrorCode from a response) or
// one the client met itself (connect failure, timeout, a response that does not decode). Both
// carry the Kafka error code a Kafka client would report for them (NETWORK_EXCEPTION for a lost
// connection, REQUEST_TIMED_OUT for a timeout, ...) so that callers handle one kind of value;
// `from_broker()` tells the two apart. Nothing in the client throws: every completion receives a
// KafkaResult.
#pragma once

#include <string>
#include <string_view>
#include <utility>

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

// A value or a KafkaError.
template <typename T>
using KafkaResult = Result<T, KafkaError>;

struct Unit {};
using KafkaStatus = KafkaResult<Unit>;

}  // namespace ferry::client
