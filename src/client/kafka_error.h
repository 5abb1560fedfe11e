// The client's names for the Kafka error value (protocol/kafka_error.h): `KafkaError`,
// `KafkaResult<T>`, `KafkaStatus`. Nothing in the client throws: every completion receives a
// KafkaResult, whose error is either a broker's answer (KafkaError::broker) or a failure the
// client met itself (KafkaError::local, e.g. NETWORK_EXCEPTION for a lost connection).
#pragma once

#include "protocol/kafka_error.h"

namespace ferry::client {

using protocol::KafkaError;
using protocol::KafkaResult;
using protocol::KafkaStatus;
using protocol::Unit;

}  // namespace ferry::client
