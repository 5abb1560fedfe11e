// Exit codes and error reporting shared by the client commands (`ferry groups`, `topics`,
// `produce`, `consume`): each prints its errors as "ferry <command>: ..." on stderr and exits
// with one of the codes below.
#pragma once

#include <string>
#include <string_view>

#include "client/kafka_error.h"

namespace ferry::app {

constexpr int kOk = 0;
constexpr int kKafkaError = 1;  // the cluster answered with an error, or could not be reached
constexpr int kUsage = 2;       // the command line asks for something invalid

// Prints "ferry <command>: <message>" on stderr; returns kUsage.
int usage(std::string_view command, const std::string& message);
// Prints "ferry <command>: NAME: message" on stderr; returns kKafkaError.
int kafka_failure(std::string_view command, const client::KafkaError& e);

}  // namespace ferry::app
