// KafkaError construction and formatting.
#include "protocol/kafka_error.h"

namespace ferry::protocol {

KafkaError KafkaError::broker(ErrorCode code, std::string message) {
  KafkaError e(code, message.empty() ? std::string(error_message(code)) : std::move(message));
  e.from_broker_ = true;
  return e;
}

std::string KafkaError::to_string() const {
  std::string s(name());
  if (!message_.empty()) s += ": " + message_;
  return s;
}

}  // namespace ferry::protocol
