// The error a handler answers with: a Kafka wire error code plus an optional message for the
// versions that carry one. Internal errors (ferry::Error) are mapped here at the broker's edge.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "common/result.h"
#include "protocol/error_code.h"

namespace ferry::broker {

using protocol::ErrorCode;

struct KafkaError {
  ErrorCode code = ErrorCode::none;
  std::string message;

  KafkaError() = default;
  KafkaError(ErrorCode c, std::string m = {}) : code(c), message(std::move(m)) {}  // NOLINT
  bool ok() const noexcept { return code == ErrorCode::none; }
  int16_t wire() const noexcept { return static_cast<int16_t>(code); }
  // The message, or nullopt when there is none (nullable ErrorMessage fields).
  std::optional<std::string> wire_message() const {
    if (message.empty()) return std::nullopt;
    return message;
  }
};

// Maps an internal error from storage or the metadata store to the code Kafka would answer.
inline KafkaError to_kafka_error(const Error& e) {
  switch (e.code()) {
    case Errc::corrupt: return {ErrorCode::corrupt_message, e.message()};
    case Errc::too_large: return {ErrorCode::message_too_large, e.message()};
    case Errc::out_of_range: return {ErrorCode::offset_out_of_range, e.message()};
    case Errc::invalid_argument: return {ErrorCode::invalid_request, e.message()};
    case Errc::unsupported: return {ErrorCode::unsupported_compression_type, e.message()};
    case Errc::io:
    case Errc::no_space:
    case Errc::failed_state: return {ErrorCode::kafka_storage_error, e.message()};
    case Errc::closed: return {ErrorCode::not_leader_or_follower, e.message()};
    default: return {ErrorCode::unknown_server_error, e.message()};
  }
}

}  // namespace ferry::broker
