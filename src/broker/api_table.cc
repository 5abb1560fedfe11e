// The API table: which handler answers each API key. Version ranges are not written here; each
// row reads its range from protocol/messages.h (Messages<K>).
#include "broker/api_table.h"

#include <array>

#include "protocol/messages.h"

namespace ferry::broker {
namespace {

using protocol::ApiKey;

template <ApiKey K>
constexpr ApiHandler row(void (*handle)(Broker&, Request&&)) {
  using Desc = protocol::Messages<K>;
  return ApiHandler{K, Desc::min_version, Desc::max_version, true, handle};
}

constexpr std::array kHandlers{
    row<ApiKey::produce>(handle_produce),
    row<ApiKey::fetch>(handle_fetch),
    row<ApiKey::list_offsets>(handle_list_offsets),
    row<ApiKey::metadata>(handle_metadata),
    row<ApiKey::offset_commit>(handle_offset_commit),
    row<ApiKey::offset_fetch>(handle_offset_fetch),
    row<ApiKey::find_coordinator>(handle_find_coordinator),
    row<ApiKey::join_group>(handle_join_group),
    row<ApiKey::heartbeat>(handle_heartbeat),
    row<ApiKey::leave_group>(handle_leave_group),
    row<ApiKey::sync_group>(handle_sync_group),
    row<ApiKey::describe_groups>(handle_describe_groups),
    row<ApiKey::list_groups>(handle_list_groups),
    row<ApiKey::sasl_handshake>(handle_sasl_handshake),
    row<ApiKey::api_versions>(handle_api_versions),
    row<ApiKey::create_topics>(handle_create_topics),
    row<ApiKey::delete_topics>(handle_delete_topics),
    row<ApiKey::init_producer_id>(handle_init_producer_id),
    row<ApiKey::describe_configs>(handle_describe_configs),
    row<ApiKey::alter_configs>(handle_alter_configs),
    row<ApiKey::sasl_authenticate>(handle_sasl_authenticate),
    row<ApiKey::create_partitions>(handle_create_partitions),
    row<ApiKey::delete_groups>(handle_delete_groups),
    row<ApiKey::incremental_alter_configs>(handle_incremental_alter_configs),
    row<ApiKey::offset_delete>(handle_offset_delete),
    row<ApiKey::describe_user_scram_credentials>(handle_describe_user_scram_credentials),
    row<ApiKey::alter_user_scram_credentials>(handle_alter_user_scram_credentials),
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
