// Kafka API keys, which of their versions are flexible, and the request/response headers.
//
// Frame     := size:int32 (bytes that follow) header body
// Request header
//   v1: api_key:int16 api_version:int16 correlation_id:int32 client_id:NULLABLE_STRING(int16)
//   v2: v1 + TAG_BUFFER; used iff the request's version is flexible. client_id keeps its int16
//       length even then.
//   (v0, without client_id, was only used by ControlledShutdown v0, which no client sends.)
// Response header
//   v0: correlation_id:int32
//   v1: correlation_id:int32 TAG_BUFFER; iff the response version is flexible, except that
//       ApiVersions responses always use v0 so that a client can read the reply to any version.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "protocol/wire.h"

namespace ferry::protocol {

enum class ApiKey : int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  offset_commit = 8,
  offset_fetch = 9,
  find_coordinator = 10,
  join_group = 11,
  heartbeat = 12,
  leave_group = 13,
  sync_group = 14,
  describe_groups = 15,
  list_groups = 16,
  sasl_handshake = 17,
  api_versions = 18,
  create_topics = 19,
  delete_topics = 20,
  delete_records = 21,
  init_producer_id = 22,
  offset_for_leader_epoch = 23,
  add_partitions_to_txn = 24,
  add_offsets_to_txn = 25,
  end_txn = 26,
  txn_offset_commit = 28,
  describe_acls = 29,
  create_acls = 30,
  delete_acls = 31,
  describe_configs = 32,
  alter_configs = 33,
  describe_log_dirs = 35,
  sasl_authenticate = 36,
  create_partitions = 37,
  delete_groups = 42,
  incremental_alter_configs = 44,
  offset_delete = 47,
  describe_user_scram_credentials = 50,
  alter_user_scram_credentials = 51,
  describe_cluster = 60,
  describe_producers = 61,
};

// Facts about an API key, independent of what this build supports.
struct ApiInfo {
  ApiKey key;
  std::string_view name;
  int16_t first_flexible;  // kNeverFlexible if no version is flexible
};
inline constexpr int16_t kNeverFlexible = 0x7fff;

// nullopt for keys this table does not know.
std::optional<ApiInfo> api_info(int16_t key) noexcept;
std::string_view api_name(int16_t key) noexcept;  // "" for unknown keys
bool is_flexible(ApiKey key, int16_t version) noexcept;

struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
};

// Reads the header; when the key and version are flexible, also the header's tag buffer.
// `header_bytes` receives the header's length so the caller can slice the body.
Result<RequestHeader> decode_request_header(std::span<const std::byte> frame, size_t& header_bytes);
void encode_request_header(const RequestHeader& h, Writer& w);

// Writes the response header for a reply to (key, version).
void encode_response_header(ApiKey key, int16_t version, int32_t correlation_id, Writer& w);

}  // namespace ferry::protocol
