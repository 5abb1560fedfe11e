// The API table. Versions stop one below each API's first flexible version (what Debian's and
// npm's clients need), except ApiVersions, whose v3 is flexible, and InitProducerId, whose v3+
// carries the epoch bump of KIP-360. MinVersion is 0 everywhere:
// librdkafka switches features off when an old version is missing (PROTOCOL.md §1.3).
#include "broker/api_table.h"

#include <array>

namespace ferry::broker {
namespace {

using protocol::ApiKey;

constexpr std::array kHandlers{
    ApiHandler{ApiKey::produce, 0, 8, true, handle_produce},
    ApiHandler{ApiKey::fetch, 0, 11, true, handle_fetch},
    ApiHandler{ApiKey::list_offsets, 0, 5, true, handle_list_offsets},
    ApiHandler{ApiKey::metadata, 0, 8, true, handle_metadata},
    ApiHandler{ApiKey::offset_commit, 0, 7, true, handle_group_request},
    ApiHandler{ApiKey::offset_fetch, 0, 5, true, handle_group_request},
    ApiHandler{ApiKey::find_coordinator, 0, 2, true, handle_find_coordinator},
    ApiHandler{ApiKey::join_group, 0, 5, true, handle_group_request},
    ApiHandler{ApiKey::heartbeat, 0, 3, true, handle_group_request},
    ApiHandler{ApiKey::leave_group, 0, 3, true, handle_group_request},
    ApiHandler{ApiKey::sync_group, 0, 3, true, handle_group_request},
    ApiHandler{ApiKey::describe_groups, 0, 4, true, handle_group_request},
    ApiHandler{ApiKey::list_groups, 0, 2, true, handle_group_request},
    ApiHandler{ApiKey::api_versions, 0, 3, true, handle_api_versions},
    ApiHandler{ApiKey::create_topics, 0, 4, true, handle_create_topics},
    ApiHandler{ApiKey::delete_topics, 0, 3, true, handle_delete_topics},
    ApiHandler{ApiKey::init_producer_id, 0, 4, true, handle_init_producer_id},
    ApiHandler{ApiKey::describe_configs, 0, 3, true, handle_describe_configs},
    ApiHandler{ApiKey::alter_configs, 0, 1, true, handle_alter_configs},
    ApiHandler{ApiKey::create_partitions, 0, 1, true, handle_create_partitions},
    ApiHandler{ApiKey::delete_groups, 0, 1, true, handle_group_request},
    ApiHandler{ApiKey::incremental_alter_configs, 0, 0, true, handle_incremental_alter_configs},
    ApiHandler{ApiKey::offset_delete, 0, 0, true, handle_group_request},
};

}  // namespace

std::span<const ApiHandler> api_handlers() { return kHandlers; }

const ApiHandler* find_api_handler(int16_t key) {
  for (const auto& h : kHandlers) {
    if (static_cast<int16_t>(h.key) == key) return &h;
  }
  return nullptr;
}

}  // namespace ferry::broker
