// Exit codes and error reporting of the client commands.
#include "app/cli_common.h"

#include <cstdio>

namespace ferry::app {

int usage(std::string_view command, const std::string& message) {
  std::fprintf(stderr, "ferry %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               message.c_str());
  return kUsage;
}

int kafka_failure(std::string_view command, const client::KafkaError& e) {
  std::fprintf(stderr, "ferry %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               e.to_string().c_str());
  return kKafkaError;
}

}  // namespace ferry::app
