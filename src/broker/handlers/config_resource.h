// The config resource types DescribeConfigs, AlterConfigs and IncrementalAlterConfigs name, and
// the answer to the ones this broker does not serve.
#pragma once

#include <cstdint>
#include <string>

#include "broker/kafka_error.h"

namespace ferry::broker {

// Kafka's ConfigResource.Type wire values.
constexpr int8_t kTopicResource = 2;
constexpr int8_t kBrokerResource = 4;

inline KafkaError unsupported_resource(int8_t type) {
  return {ErrorCode::invalid_request, "Unsupported resource type " + std::to_string(type)};
}

}  // namespace ferry::broker
