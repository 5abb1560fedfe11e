// The Kafka APIs this broker answers: key, version range and handler, in one table from which
// the ApiVersions response is built (see api_table.cc for the table itself).
#pragma once

#include <cstdint>
#include <span>

#include "broker/request.h"
#include "protocol/api.h"

namespace ferry::broker {

class Broker;

struct ApiHandler {
  protocol::ApiKey key;
  int16_t min_version;
  int16_t max_version;
  // Listed in ApiVersions. Unlisted entries answer clients that send them anyway with an error.
  bool advertised;
  void (*handle)(Broker&, Request&&);
};

std::span<const ApiHandler> api_handlers();
// The entry for `key`, or nullptr.
const ApiHandler* find_api_handler(int16_t key);

// One per API, each in its own file under handlers/.
void handle_api_versions(Broker&, Request&&);
void handle_metadata(Broker&, Request&&);
void handle_produce(Broker&, Request&&);
void handle_fetch(Broker&, Request&&);
void handle_list_offsets(Broker&, Request&&);
void handle_create_topics(Broker&, Request&&);
void handle_delete_topics(Broker&, Request&&);
void handle_create_partitions(Broker&, Request&&);
void handle_describe_configs(Broker&, Request&&);
void handle_alter_configs(Broker&, Request&&);
void handle_incremental_alter_configs(Broker&, Request&&);
void handle_find_coordinator(Broker&, Request&&);
void handle_group_request(Broker&, Request&&);  // the group APIs, handlers/groups.cc
void handle_init_producer_id(Broker&, Request&&);

}  // namespace ferry::broker
