// A Kafka error as a value: a wire ErrorCode plus a message, used by the broker (what a handler
// answers with) and by the client (what a request ended with). `KafkaResult<T>` carries a value
// or one of them.
//
// Broker side: construct from a code, implicitly (`return ErrorCode::invalid_topic_exception;`,
// `return {ErrorCode::invalid_config, "why"}`); an empty message stays empty so that nullable
// ErrorMessage fields go out as null (wire_message()). Internal errors (ferry::Error) are mapped
// to codes at the broker's edge (broker/kafka_error.h).
//
// Client side: broker() for a code read from a response (an empty message takes the code's
// default text), local() for a failure the client met itself (connect failure, timeout, a
// response that does not decode), reported with the code a Kafka client would give it
// (NETWORK_EXCEPTION for a lost connection, REQUEST_TIMED_OUT for a timeout, ...);
// from_broker() tells the two apart.
//
// A default-constructed KafkaError is "no error" (ErrorCode::none, ok()). Plain value type, no
// thread affinity.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "protocol/error_code.h"

namespace ferry::protocol {

class [[nodiscard]] KafkaError {
 public:
  KafkaError() = default;
  // `code` with `message` as given (possibly empty); not marked as coming from a broker.
  KafkaError(ErrorCode code, std::string message = {})  // NOLINT: implicit by design
      : code_(code), message_(std::move(message)) {}

  // An error code read from a response; an empty message takes the code's default text.
  static KafkaError broker(ErrorCode code, std::string message = {});
  static KafkaError broker(int16_t code, std::string message = {}) {
    return broker(static_cast<ErrorCode>(code), std::move(message));
  }
  // An error met by the client itself, reported as `code`.
  static KafkaError local(ErrorCode code, std::string message) {
    return KafkaError(code, std::move(message));
  }
  // An internal ferry error (decoding, I/O) reported as `code`.
  static KafkaError local(ErrorCode code, const Error& e) { return local(code, e.to_string()); }

  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  bool ok() const noexcept { return code_ == ErrorCode::none; }
  // Whether the code came in a broker's response (false: the client met the error itself).
  bool from_broker() const noexcept { return from_broker_; }
  // Kafka's name of the code: "GROUP_ID_NOT_FOUND".
  std::string_view name() const noexcept { return error_name(code_); }
  bool retriable() const noexcept { return error_retriable(code_); }
  // "GROUP_ID_NOT_FOUND: The group does not exist."
  std::string to_string() const;

  // For responses: the code as it goes on the wire, and the message or nullopt when there is
  // none (nullable ErrorMessage fields).
  int16_t wire() const noexcept { return static_cast<int16_t>(code_); }
  std::optional<std::string> wire_message() const {
    if (message_.empty()) return std::nullopt;
    return message_;
  }

 private:
  ErrorCode code_ = ErrorCode::none;
  std::string message_;
  bool from_broker_ = false;
};

// A value or a KafkaError.
template <typename T>
using KafkaResult = Result<T, KafkaError>;

// The value of a KafkaResult that carries none.
struct Unit {};
using KafkaStatus = KafkaResult<Unit>;

}  // namespace ferry::protocol
