// The broker's edge for errors: a handler answers with a protocol::KafkaError (a wire error code
// plus an optional message, protocol/kafka_error.h); internal errors (ferry::Error) from storage
// and the metadata store are mapped to the code Kafka would answer here.
#pragma once

#include "common/result.h"
#include "protocol/error_code.h"
#include "protocol/kafka_error.h"

namespace ferry::broker {

using protocol::ErrorCode;
using protocol::KafkaError;

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
