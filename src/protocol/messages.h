// Every Kafka API message ferry speaks, and the one table of the versions it speaks of each:
// each API key tied to its request and response structs and to its version range.
//
//   using Desc = Messages<ApiKey::fetch>;
//   Desc::Request req;                    // FetchRequest
//   Desc::min_version, Desc::max_version  // the range below
//
// The ranges below are the only place versions are stated. The broker's handler table
// (broker/api_table.cc) takes each API's range from here, and ApiVersions is built from that;
// the client negotiates within them. Policy: versions stop one below each API's first flexible
// version (what Debian's and npm's clients need), except ApiVersions (v3 is flexible),
// InitProducerId (v3+ carries the epoch bump of KIP-360), SaslAuthenticate (v2 is flexible
// and carries the same fields as v1) and the SCRAM credential APIs (flexible from v0). MinVersion
// is 0 everywhere: librdkafka switches features off when an old version is missing (PROTOCOL.md
// §1.3).
//
// `DescribedApis` lists every key with a Messages<> entry; for_each_described_api() and
// visit_described_api() walk it, so code that must cover every API (the fuzzer, the ApiVersions
// table, tests) never keeps its own list. The structs themselves live in protocol/messages/, one
// header per API family; their field lists follow schema.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "common/result.h"
#include "protocol/api.h"
#include "protocol/messages/acls.h"
#include "protocol/messages/api_versions.h"
#include "protocol/messages/configs.h"
#include "protocol/messages/fetch.h"
#include "protocol/messages/groups.h"
#include "protocol/messages/leader_epochs.h"
#include "protocol/messages/list_offsets.h"
#include "protocol/messages/metadata.h"
#include "protocol/messages/produce.h"
#include "protocol/messages/producer_id.h"
#include "protocol/messages/sasl.h"
#include "protocol/messages/scram_credentials.h"
#include "protocol/messages/topics.h"
#include "protocol/schema.h"

namespace ferry::protocol {

template <typename Req, typename Resp, int16_t Min, int16_t Max>
struct MessagePair {
  using Request = Req;
  using Response = Resp;
  static constexpr int16_t min_version = Min;
  static constexpr int16_t max_version = Max;
  static constexpr bool has_version(int16_t v) noexcept { return v >= Min && v <= Max; }
};

// Defined only for the API keys listed in DescribedApis.
template <ApiKey K>
struct Messages;

// clang-format off
template <> struct Messages<ApiKey::produce> : MessagePair<ProduceRequest, ProduceResponse, 0, 8> {};
template <> struct Messages<ApiKey::fetch> : MessagePair<FetchRequest, FetchResponse, 0, 11> {};
template <> struct Messages<ApiKey::list_offsets> : MessagePair<ListOffsetsRequest, ListOffsetsResponse, 0, 5> {};
template <> struct Messages<ApiKey::metadata> : MessagePair<MetadataRequest, MetadataResponse, 0, 8> {};
template <> struct Messages<ApiKey::offset_commit> : MessagePair<OffsetCommitRequest, OffsetCommitResponse, 0, 7> {};
template <> struct Messages<ApiKey::offset_fetch> : MessagePair<OffsetFetchRequest, OffsetFetchResponse, 0, 5> {};
template <> struct Messages<ApiKey::find_coordinator> : MessagePair<FindCoordinatorRequest, FindCoordinatorResponse, 0, 2> {};
template <> struct Messages<ApiKey::join_group> : MessagePair<JoinGroupRequest, JoinGroupResponse, 0, 5> {};
template <> struct Messages<ApiKey::heartbeat> : MessagePair<HeartbeatRequest, HeartbeatResponse, 0, 3> {};
template <> struct Messages<ApiKey::leave_group> : MessagePair<LeaveGroupRequest, LeaveGroupResponse, 0, 3> {};
template <> struct Messages<ApiKey::sync_group> : MessagePair<SyncGroupRequest, SyncGroupResponse, 0, 3> {};
template <> struct Messages<ApiKey::describe_groups> : MessagePair<DescribeGroupsRequest, DescribeGroupsResponse, 0, 4> {};
template <> struct Messages<ApiKey::list_groups> : MessagePair<ListGroupsRequest, ListGroupsResponse, 0, 2> {};
template <> struct Messages<ApiKey::sasl_handshake> : MessagePair<SaslHandshakeRequest, SaslHandshakeResponse, 0, 1> {};
template <> struct Messages<ApiKey::api_versions> : MessagePair<ApiVersionsRequest, ApiVersionsResponse, 0, 3> {};
template <> struct Messages<ApiKey::create_topics> : MessagePair<CreateTopicsRequest, CreateTopicsResponse, 0, 4> {};
template <> struct Messages<ApiKey::delete_topics> : MessagePair<DeleteTopicsRequest, DeleteTopicsResponse, 0, 3> {};
template <> struct Messages<ApiKey::init_producer_id> : MessagePair<InitProducerIdRequest, InitProducerIdResponse, 0, 4> {};
template <> struct Messages<ApiKey::offset_for_leader_epoch> : MessagePair<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, 0, 3> {};
template <> struct Messages<ApiKey::describe_configs> : MessagePair<DescribeConfigsRequest, DescribeConfigsResponse, 0, 3> {};
template <> struct Messages<ApiKey::alter_configs> : MessagePair<AlterConfigsRequest, AlterConfigsResponse, 0, 1> {};
template <> struct Messages<ApiKey::sasl_authenticate> : MessagePair<SaslAuthenticateRequest, SaslAuthenticateResponse, 0, 2> {};
template <> struct Messages<ApiKey::create_partitions> : MessagePair<CreatePartitionsRequest, CreatePartitionsResponse, 0, 1> {};
template <> struct Messages<ApiKey::delete_groups> : MessagePair<DeleteGroupsRequest, DeleteGroupsResponse, 0, 1> {};
template <> struct Messages<ApiKey::incremental_alter_configs> : MessagePair<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, 0, 0> {};
template <> struct Messages<ApiKey::offset_delete> : MessagePair<OffsetDeleteRequest, OffsetDeleteResponse, 0, 0> {};
template <> struct Messages<ApiKey::describe_acls> : MessagePair<DescribeAclsRequest, DescribeAclsResponse, 0, 1> {};
template <> struct Messages<ApiKey::create_acls> : MessagePair<CreateAclsRequest, CreateAclsResponse, 0, 1> {};
template <> struct Messages<ApiKey::delete_acls> : MessagePair<DeleteAclsRequest, DeleteAclsResponse, 0, 1> {};
template <> struct Messages<ApiKey::describe_user_scram_credentials> : MessagePair<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse, 0, 0> {};
template <> struct Messages<ApiKey::alter_user_scram_credentials> : MessagePair<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, 0, 0> {};
// clang-format on

template <ApiKey... Ks>
struct ApiList {
  static constexpr size_t size = sizeof...(Ks);
};

using DescribedApis =
    ApiList<ApiKey::produce, ApiKey::fetch, ApiKey::list_offsets, ApiKey::metadata,
            ApiKey::offset_commit, ApiKey::offset_fetch, ApiKey::find_coordinator,
            ApiKey::join_group, ApiKey::heartbeat, ApiKey::leave_group, ApiKey::sync_group,
            ApiKey::describe_groups, ApiKey::list_groups, ApiKey::sasl_handshake,
            ApiKey::api_versions, ApiKey::create_topics, ApiKey::delete_topics,
            ApiKey::init_producer_id, ApiKey::offset_for_leader_epoch, ApiKey::describe_configs,
            ApiKey::alter_configs, ApiKey::sasl_authenticate, ApiKey::create_partitions,
            ApiKey::delete_groups, ApiKey::incremental_alter_configs, ApiKey::offset_delete,
            ApiKey::describe_acls, ApiKey::create_acls, ApiKey::delete_acls,
            ApiKey::describe_user_scram_credentials, ApiKey::alter_user_scram_credentials>;

template <ApiKey K>
using ApiConstant = std::integral_constant<ApiKey, K>;

// Calls f(ApiConstant<K>{}) for every described key K, in DescribedApis order.
template <typename F>
constexpr void for_each_described_api(F&& f) {
  [&]<ApiKey... Ks>(ApiList<Ks...>) { (f(ApiConstant<Ks>{}), ...); }
  (DescribedApis{});
}

// Calls f(ApiConstant<K>{}) for the described key whose value is `key`; false if there is none.
template <typename F>
bool visit_described_api(int16_t key, F&& f) {
  bool found = false;
  for_each_described_api([&](auto k) {
    if (!found && static_cast<int16_t>(decltype(k)::value) == key) {
      found = true;
      f(k);
    }
  });
  return found;
}

// Decodes a request body of (api_key, version) into the right struct and discards it: ok when
// it parses, Errc::corrupt when malformed, Errc::unsupported for a key or version not
// described here. Used by the fuzzer and by tests.
Status decode_request_body(int16_t api_key, int16_t version, std::span<const std::byte> body);

}  // namespace ferry::protocol
