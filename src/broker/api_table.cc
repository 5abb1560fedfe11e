// The API table: which handler answers each API key and what the authorizer checks first
// (Kafka's rule for the API; authz/api_rules.h). Version ranges are not written here; each row
// reads its range from protocol/messages.h (Messages<K>).
#include "broker/api_table.h"

#include <array>

#include "protocol/messages.h"

namespace ferry::broker {
namespace {

using protocol::ApiKey;
using namespace authz;  // NOLINT: the rules below read as Kafka's names
using Op = Operation;

// `rule`: no check (ApiVersions and SASL), a cluster operation (`{.cluster = Op::alter}`), or
// an item check over the names in the body (`{.items = check_produce}`).
template <ApiKey K>
constexpr ApiHandler row(void (*handle)(Broker&, Request&&), ApiRule rule) {
  using Desc = protocol::Messages<K>;
  return ApiHandler{K, Desc::min_version, Desc::max_version, true, handle, rule, &answer_all<K>};
}

constexpr ApiRule kNone{};

constexpr std::array kHandlers{
    row<ApiKey::produce>(handle_produce, {.items = check_produce}),
    row<ApiKey::fetch>(handle_fetch, {.items = check_fetch}),
    row<ApiKey::list_offsets>(handle_list_offsets, {.items = check_list_offsets}),
    row<ApiKey::metadata>(handle_metadata, {.items = check_metadata}),
    row<ApiKey::offset_commit>(handle_offset_commit, {.items = check_offset_commit}),
    row<ApiKey::offset_fetch>(handle_offset_fetch, {.items = check_offset_fetch}),
    row<ApiKey::find_coordinator>(handle_find_coordinator, {.items = check_find_coordinator}),
    row<ApiKey::join_group>(handle_join_group, {.items = check_group_read}),
    row<ApiKey::heartbeat>(handle_heartbeat, {.items = check_group_read}),
    row<ApiKey::leave_group>(handle_leave_group, {.items = check_group_read}),
    row<ApiKey::sync_group>(handle_sync_group, {.items = check_group_read}),
    row<ApiKey::describe_groups>(handle_describe_groups, {.items = check_describe_groups}),
    row<ApiKey::list_groups>(handle_list_groups, {.items = check_list_groups}),
    row<ApiKey::sasl_handshake>(handle_sasl_handshake, kNone),
    row<ApiKey::api_versions>(handle_api_versions, kNone),
    row<ApiKey::create_topics>(handle_create_topics, {.items = check_create_topics}),
    row<ApiKey::delete_topics>(handle_delete_topics, {.items = check_delete_topics}),
    row<ApiKey::init_producer_id>(handle_init_producer_id, {.items = check_init_producer_id}),
    row<ApiKey::offset_for_leader_epoch>(handle_offset_for_leader_epoch,
                                         {.items = check_offset_for_leader_epoch}),
    row<ApiKey::describe_configs>(handle_describe_configs, {.items = check_describe_configs}),
    row<ApiKey::alter_configs>(handle_alter_configs, {.items = check_alter_configs}),
    row<ApiKey::sasl_authenticate>(handle_sasl_authenticate, kNone),
    row<ApiKey::create_partitions>(handle_create_partitions, {.items = check_create_partitions}),
    row<ApiKey::delete_groups>(handle_delete_groups, {.items = check_delete_groups}),
    row<ApiKey::incremental_alter_configs>(handle_incremental_alter_configs,
                                           {.items = check_alter_configs}),
    row<ApiKey::offset_delete>(handle_offset_delete, {.items = check_offset_delete}),
    row<ApiKey::describe_acls>(handle_describe_acls, {.cluster = Op::describe}),
    row<ApiKey::create_acls>(handle_create_acls, {.cluster = Op::alter}),
    row<ApiKey::delete_acls>(handle_delete_acls, {.cluster = Op::alter}),
    row<ApiKey::describe_user_scram_credentials>(handle_describe_user_scram_credentials,
                                                 {.cluster = Op::describe}),
    row<ApiKey::alter_user_scram_credentials>(handle_alter_user_scram_credentials,
                                              {.cluster = Op::alter}),
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
