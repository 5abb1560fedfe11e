// Kafka wire error codes (the int16 ErrorCode fields of responses), their names and default text.
//
// These are kept apart from ferry's internal error classes (common/result.h, `Errc`); the broker
// maps one to the other at its edge. The list follows Kafka 3.7 (codes -1 through 119); every
// code is listed once, in FERRY_KAFKA_ERRORS below, from which the enum, the names and the
// default messages are all generated.
#pragma once

#include <cstdint>
#include <string_view>

namespace ferry::protocol {

// X(enumerator, code, retriable, default message). Kafka's name is the enumerator in upper case.
// `retriable` follows whether Kafka's client treats the error as retriable.
// clang-format off
#define FERRY_KAFKA_ERRORS(X)                                                                      \
  X(unknown_server_error, -1, false, "The server experienced an unexpected error.")                \
  X(none, 0, false, "")                                                                            \
  X(offset_out_of_range, 1, false, "The requested offset is outside the log's range.")             \
  X(corrupt_message, 2, true, "A message failed its CRC check, size check or other validation.")   \
  X(unknown_topic_or_partition, 3, true, "This server has no such topic or partition.")            \
  X(invalid_fetch_size, 4, false, "The requested fetch size is invalid.")                          \
  X(leader_not_available, 5, true, "The partition has no leader at the moment.")                   \
  X(not_leader_or_follower, 6, true, "This server is not a replica (leader) of the partition.")    \
  X(request_timed_out, 7, true, "The request timed out.")                                          \
  X(broker_not_available, 8, false, "The broker is not available.")                                \
  X(replica_not_available, 9, true, "The replica is not available for the partition.")             \
  X(message_too_large, 10, false, "The batch is larger than the server accepts.")                  \
  X(stale_controller_epoch, 11, false, "The controller epoch is stale.")                           \
  X(offset_metadata_too_large, 12, false, "The commit metadata string is too large.")              \
  X(network_exception, 13, true, "The connection was closed before a response arrived.")           \
  X(coordinator_load_in_progress, 14, true, "The coordinator is still loading its state.")         \
  X(coordinator_not_available, 15, true, "The coordinator is not available.")                      \
  X(not_coordinator, 16, true, "This server is not the coordinator.")                              \
  X(invalid_topic_exception, 17, false, "The topic name is invalid or the topic is internal.")     \
  X(record_list_too_large, 18, false, "The batch is larger than the segment size.")                \
  X(not_enough_replicas, 19, true, "Too few in-sync replicas to accept the write.")                 \
  X(not_enough_replicas_after_append, 20, true, "Written, but with fewer in-sync replicas than required.") \
  X(invalid_required_acks, 21, false, "The acks value is not -1, 0 or 1.")                         \
  X(illegal_generation, 22, false, "The group generation id is not current.")                      \
  X(inconsistent_group_protocol, 23, false, "The member's protocols do not match the group's.")    \
  X(invalid_group_id, 24, false, "The group id is invalid.")                                       \
  X(unknown_member_id, 25, false, "The member id is not known to the coordinator.")                \
  X(invalid_session_timeout, 26, false, "The session timeout is outside the allowed range.")       \
  X(rebalance_in_progress, 27, false, "The group is rebalancing; rejoin it.")                      \
  X(invalid_commit_offset_size, 28, false, "The committed offset data size is invalid.")           \
  X(topic_authorization_failed, 29, false, "Not authorized for the topic.")                        \
  X(group_authorization_failed, 30, false, "Not authorized for the group.")                        \
  X(cluster_authorization_failed, 31, false, "Not authorized for the cluster.")                    \
  X(invalid_timestamp, 32, false, "A timestamp is outside the accepted range.")                    \
  X(unsupported_sasl_mechanism, 33, false, "The SASL mechanism is not enabled.")                   \
  X(illegal_sasl_state, 34, false, "The request is not valid in the current SASL state.")          \
  X(unsupported_version, 35, false, "The API version is not supported.")                           \
  X(topic_already_exists, 36, false, "A topic with this name already exists.")                     \
  X(invalid_partitions, 37, false, "The number of partitions is invalid.")                         \
  X(invalid_replication_factor, 38, false, "The replication factor is invalid.")                   \
  X(invalid_replica_assignment, 39, false, "The replica assignment is invalid.")                   \
  X(invalid_config, 40, false, "The configuration is invalid.")                                    \
  X(not_controller, 41, true, "This server is not the controller.")                                \
  X(invalid_request, 42, false, "The request is malformed or not valid for this broker.")          \
  X(unsupported_for_message_format, 43, false, "The message format does not support the request.") \
  X(policy_violation, 44, false, "The request violates a configured policy.")                      \
  X(out_of_order_sequence_number, 45, false, "The producer sequence number is out of order.")      \
  X(duplicate_sequence_number, 46, false, "The producer sequence number is a duplicate.")          \
  X(invalid_producer_epoch, 47, false, "The producer epoch is older than the current one.")        \
  X(invalid_txn_state, 48, false, "The transactional operation is not valid in this state.")       \
  X(invalid_producer_id_mapping, 49, false, "The producer id is not assigned to the transactional id.") \
  X(invalid_transaction_timeout, 50, false, "The transaction timeout exceeds the maximum.")         \
  X(concurrent_transactions, 51, true, "Another operation on the transaction is in progress.")     \
  X(transaction_coordinator_fenced, 52, false, "The transaction coordinator is no longer current.") \
  X(transactional_id_authorization_failed, 53, false, "Not authorized for the transactional id.")  \
  X(security_disabled, 54, false, "Security features are disabled.")                               \
  X(operation_not_attempted, 55, false, "The operation was not attempted.")                        \
  X(kafka_storage_error, 56, true, "A disk error occurred while accessing the log.")               \
  X(log_dir_not_found, 57, false, "The log directory was not found.")                              \
  X(sasl_authentication_failed, 58, false, "SASL authentication failed.")                          \
  X(unknown_producer_id, 59, false, "The broker has no state for this producer id.")               \
  X(reassignment_in_progress, 60, false, "A partition reassignment is in progress.")               \
  X(delegation_token_auth_disabled, 61, false, "Delegation token authentication is disabled.")     \
  X(delegation_token_not_found, 62, false, "The delegation token was not found.")                  \
  X(delegation_token_owner_mismatch, 63, false, "The principal does not own the delegation token.") \
  X(delegation_token_request_not_allowed, 64, false, "Delegation token requests are not allowed on this channel.") \
  X(delegation_token_authorization_failed, 65, false, "Not authorized for the delegation token.")  \
  X(delegation_token_expired, 66, false, "The delegation token has expired.")                      \
  X(invalid_principal_type, 67, false, "The principal type is not supported.")                     \
  X(non_empty_group, 68, false, "The group is not empty.")                                         \
  X(group_id_not_found, 69, false, "The group does not exist.")                                    \
  X(fetch_session_id_not_found, 70, true, "The fetch session id was not found.")                   \
  X(invalid_fetch_session_epoch, 71, true, "The fetch session epoch is invalid.")                  \
  X(listener_not_found, 72, true, "The leader has no endpoint on the listener used.")              \
  X(topic_deletion_disabled, 73, false, "Topic deletion is disabled.")                             \
  X(fenced_leader_epoch, 74, true, "The leader epoch in the request is older than the broker's.")  \
  X(unknown_leader_epoch, 75, true, "The leader epoch in the request is newer than the broker's.") \
  X(unsupported_compression_type, 76, false, "The compression type is not supported for this request version.") \
  X(stale_broker_epoch, 77, false, "The broker epoch is stale.")                                   \
  X(offset_not_available, 78, true, "The leader's high watermark has not caught up yet.")          \
  X(member_id_required, 79, false, "A member id is required; rejoin with the one given.")          \
  X(preferred_leader_not_available, 80, true, "The preferred leader is not available.")            \
  X(group_max_size_reached, 81, false, "The group has reached its maximum size.")                  \
  X(fenced_instance_id, 82, false, "Another member with the same group instance id has joined.")   \
  X(eligible_leaders_not_available, 83, true, "No eligible leader is available for the partition.") \
  X(election_not_needed, 84, false, "The leader election is not needed.")                          \
  X(no_reassignment_in_progress, 85, false, "No partition reassignment is in progress.")           \
  X(group_subscribed_to_topic, 86, false, "The group is still subscribed to the topic.")           \
  X(invalid_record, 87, false, "A record failed validation.")                                      \
  X(unstable_offset_commit, 88, true, "There are unstable offsets awaiting a transaction.")        \
  X(throttling_quota_exceeded, 89, true, "The throttling quota was exceeded.")                     \
  X(producer_fenced, 90, false, "A newer producer with the same transactional id has fenced this one.") \
  X(resource_not_found, 91, false, "The resource does not exist.")                                 \
  X(duplicate_resource, 92, false, "The request names the same resource more than once.")          \
  X(unacceptable_credential, 93, false, "The credential does not meet the requirements.")          \
  X(inconsistent_voter_set, 94, false, "The voter set does not match the leader's.")               \
  X(invalid_update_version, 95, false, "The update version is invalid.")                           \
  X(feature_update_failed, 96, false, "The feature update failed.")                                \
  X(principal_deserialization_failure, 97, false, "The principal could not be deserialized.")      \
  X(snapshot_not_found, 98, false, "The snapshot was not found.")                                  \
  X(position_out_of_range, 99, false, "The position is outside the snapshot.")                     \
  X(unknown_topic_id, 100, true, "This server has no topic with this id.")                         \
  X(duplicate_broker_registration, 101, false, "The broker registration is a duplicate.")          \
  X(broker_id_not_registered, 102, false, "The broker id is not registered.")                      \
  X(inconsistent_topic_id, 103, true, "The topic id does not match the topic's.")                  \
  X(inconsistent_cluster_id, 104, false, "The cluster id does not match this cluster's.")          \
  X(transactional_id_not_found, 105, false, "The transactional id was not found.")                 \
  X(fetch_session_topic_id_error, 106, true, "The fetch session's topic ids are inconsistent.")    \
  X(ineligible_replica, 107, false, "The replica is not eligible for the leader or ISR.")          \
  X(new_leader_elected, 108, false, "A new leader was elected; the request was not applied.")      \
  X(offset_moved_to_tiered_storage, 109, false, "The offset was moved to tiered storage.")         \
  X(fenced_member_epoch, 110, false, "The member epoch is fenced.")                                \
  X(unreleased_instance_id, 111, false, "The instance id is still in use by another member.")      \
  X(unsupported_assignor, 112, false, "The assignor is not supported by the group.")               \
  X(stale_member_epoch, 113, false, "The member epoch is stale.")                                  \
  X(mismatched_endpoint_type, 114, false, "The request was sent to an endpoint of the wrong type.") \
  X(unsupported_endpoint_type, 115, false, "This endpoint type does not support the request.")     \
  X(unknown_controller_id, 116, false, "The controller id is not known.")                          \
  X(unknown_subscription_id, 117, false, "The client telemetry subscription id is not known.")     \
  X(telemetry_too_large, 118, false, "The telemetry request is larger than the broker accepts.")   \
  X(invalid_registration, 119, false, "The broker registration is invalid.")
// clang-format on

enum class ErrorCode : int16_t {
#define FERRY_ERROR_ENUMERATOR(name, code, retriable, message) name = code,
  FERRY_KAFKA_ERRORS(FERRY_ERROR_ENUMERATOR)
#undef FERRY_ERROR_ENUMERATOR
};

inline constexpr int16_t kMinErrorCode = -1;
inline constexpr int16_t kMaxErrorCode = 119;

// Kafka's name ("UNKNOWN_TOPIC_OR_PARTITION"); "UNKNOWN" for a code not in the list.
std::string_view error_name(ErrorCode c) noexcept;
// A default human-readable message ("" for none and for unknown codes).
std::string_view error_message(ErrorCode c) noexcept;
// Whether a client may retry the same request after this error (unknown codes: false).
bool error_retriable(ErrorCode c) noexcept;
// Whether `code` is one of the listed codes.
bool is_known_error_code(int16_t code) noexcept;

constexpr int16_t wire(ErrorCode c) noexcept { return static_cast<int16_t>(c); }

}  // namespace ferry::protocol
