// KafkaError construction and formatting.
#include "client/kafka_error.h"

namespace ferry::client {

KafkaError KafkaError::broker(protocol::ErrorCode code, std::string message) {
  KafkaError e;
  e.code_ = code;
  e.message_ = message.empty() ? std::string(protocol::error_message(code)) : std::move(message);
  e.from_broker_ = true;
  return e;
}

KafkaError KafkaError::local(protocol::ErrorCode code, std::string message) {
  KafkaError e;
  e.code_ = code;
  e.message_ = std::move(message);
  return e;
}

std::string KafkaError::to_string() const {
  std::string s(name());
  if (!message_.empty()) s += ": " + message_;
  return s;
}

}  // namespace ferry::client
