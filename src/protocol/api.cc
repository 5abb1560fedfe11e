#include "protocol/api.h"

#include <array>

namespace ferry::protocol {
namespace {

// First flexible versions from the Kafka 3.7 message definitions.
constexpr std::array kApis{
    ApiInfo{ApiKey::produce, "Produce", 9},
    ApiInfo{ApiKey::fetch, "Fetch", 12},
    ApiInfo{ApiKey::list_offsets, "ListOffsets", 6},
    ApiInfo{ApiKey::metadata, "Metadata", 9},
    ApiInfo{ApiKey::offset_commit, "OffsetCommit", 8},
    ApiInfo{ApiKey::offset_fetch, "OffsetFetch", 6},
    ApiInfo{ApiKey::find_coordinator, "FindCoordinator", 3},
    ApiInfo{ApiKey::join_group, "JoinGroup", 6},
    ApiInfo{ApiKey::heartbeat, "Heartbeat", 4},
    ApiInfo{ApiKey::leave_group, "LeaveGroup", 4},
    ApiInfo{ApiKey::sync_group, "SyncGroup", 4},
    ApiInfo{ApiKey::describe_groups, "DescribeGroups", 5},
    ApiInfo{ApiKey::list_groups, "ListGroups", 3},
    ApiInfo{ApiKey::sasl_handshake, "SaslHandshake", kNeverFlexible},
    ApiInfo{ApiKey::api_versions, "ApiVersions", 3},
    ApiInfo{ApiKey::create_topics, "CreateTopics", 5},
    ApiInfo{ApiKey::delete_topics, "DeleteTopics", 4},
    ApiInfo{ApiKey::delete_records, "DeleteRecords", 2},
    ApiInfo{ApiKey::init_producer_id, "InitProducerId", 2},
    ApiInfo{ApiKey::offset_for_leader_epoch, "OffsetForLeaderEpoch", 4},
    ApiInfo{ApiKey::add_partitions_to_txn, "AddPartitionsToTxn", 3},
    ApiInfo{ApiKey::add_offsets_to_txn, "AddOffsetsToTxn", 3},
    ApiInfo{ApiKey::end_txn, "EndTxn", 3},
    ApiInfo{ApiKey::txn_offset_commit, "TxnOffsetCommit", 3},
    ApiInfo{ApiKey::describe_acls, "DescribeAcls", 2},
    ApiInfo{ApiKey::create_acls, "CreateAcls", 2},
    ApiInfo{ApiKey::delete_acls, "DeleteAcls", 2},
    ApiInfo{ApiKey::describe_configs, "DescribeConfigs", 4},
    ApiInfo{ApiKey::alter_configs, "AlterConfigs", 2},
    ApiInfo{ApiKey::describe_log_dirs, "DescribeLogDirs", 2},
    ApiInfo{ApiKey::sasl_authenticate, "SaslAuthenticate", 2},
    ApiInfo{ApiKey::create_partitions, "CreatePartitions", 2},
    ApiInfo{ApiKey::delete_groups, "DeleteGroups", 2},
    ApiInfo{ApiKey::incremental_alter_configs, "IncrementalAlterConfigs", 1},
    ApiInfo{ApiKey::offset_delete, "OffsetDelete", kNeverFlexible},
    ApiInfo{ApiKey::describe_user_scram_credentials, "DescribeUserScramCredentials", 0},
    ApiInfo{ApiKey::alter_user_scram_credentials, "AlterUserScramCredentials", 0},
    ApiInfo{ApiKey::describe_cluster, "DescribeCluster", 0},
    ApiInfo{ApiKey::describe_producers, "DescribeProducers", 0},
};

}  // namespace

std::optional<ApiInfo> api_info(int16_t key) noexcept {
  for (const auto& a : kApis) {
    if (static_cast<int16_t>(a.key) == key) return a;
  }
  return std::nullopt;
}

std::string_view api_name(int16_t key) noexcept {
  auto a = api_info(key);
  return a ? a->name : std::string_view{};
}

bool is_flexible(ApiKey key, int16_t version) noexcept {
  auto a = api_info(static_cast<int16_t>(key));
  return a && version >= a->first_flexible;
}

Result<RequestHeader> decode_request_header(std::span<const std::byte> frame,
                                            size_t& header_bytes) {
  Reader r(frame);
  RequestHeader h;
  h.api_key = r.i16();
  h.api_version = r.i16();
  h.correlation_id = r.i32();
  h.client_id = r.nullable_string(false);
  if (r.ok() && is_flexible(static_cast<ApiKey>(h.api_key), h.api_version)) r.skip_tag_buffer();
  if (!r.ok()) return Error(Errc::corrupt, std::string("malformed request header: ") + r.failure());
  header_bytes = r.position();
  return h;
}

void encode_request_header(const RequestHeader& h, Writer& w) {
  w.i16(h.api_key);
  w.i16(h.api_version);
  w.i32(h.correlation_id);
  w.nullable_string(h.client_id, false);
  if (is_flexible(static_cast<ApiKey>(h.api_key), h.api_version)) w.empty_tag_buffer();
}

void encode_response_header(ApiKey key, int16_t version, int32_t correlation_id, Writer& w) {
  w.i32(correlation_id);
  if (key != ApiKey::api_versions && is_flexible(key, version)) w.empty_tag_buffer();
}

}  // namespace ferry::protocol
