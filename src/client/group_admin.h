// Consumer group and offset administration on top of Client: list, describe and delete groups,
// read and change a group's committed offsets, and look up partition offsets by position or
// time. The library side of `ferry groups`, usable by any program on a loop.
//
//   GroupAdmin admin(client);
//   admin.committed_offsets("billing", std::nullopt,
//                           [](KafkaResult<std::map<TopicPartition, CommittedOffset>> r) { ... });
//
// Routing: list_offsets() asks each partition's leader (from the client's metadata cache), one
// ListOffsets per leader; list_groups() asks every broker named by a fresh Metadata answer;
// the group calls go to the group's coordinator. A coordinator that moved or is loading
// (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, from FindCoordinator,
// for the whole answer, a group or a partition) is forgotten and found again, up to
// `coordinator_retries` more times after `retry_backoff_ms`; then the error is reported. Nothing
// else is retried.
//
// Errors: a call whose request failed as a whole (connection, timeout, an undecodable answer, a
// coordinator that could not be found, OffsetFetch's group-level error) completes with a
// KafkaError; errors the broker gives for one group or one partition are in that item's entry
// (`error`), so that one bad item does not hide the outcome of the others.
//
// Threading and lifetime: loop thread only; callbacks run on the loop thread and never before the
// call returns. Pending calls do not need the GroupAdmin (it may go once they are issued) but do
// need the Client, with the Client's own rules; a call waiting out a retry backoff holds a timer
// on the loop until it runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/consumer.h"
#include "client/kafka_error.h"

namespace ferry::client {

// Which offset list_offsets() looks up for a partition.
struct OffsetSpec {
  int64_t timestamp = -1;  // ListOffsets' timestamp: -2 earliest, -1 latest, else a time in ms
  static OffsetSpec earliest() { return {-2}; }
  static OffsetSpec latest() { return {-1}; }
  // The first offset whose record timestamp is at or after `ms` (offset -1 when there is none).
  static OffsetSpec at_time(int64_t ms) { return {ms}; }
};

struct ListedOffset {
  Offset offset{-1};       // -1: no record at or after the time asked
  int64_t timestamp = -1;  // the record's timestamp for a time lookup (ListOffsets v1+)
  std::optional<KafkaError> error;
};

struct GroupListing {
  std::string group_id;
  std::string protocol_type;  // "consumer" for consumer groups; empty for offsets-only groups
};

struct MemberDescription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::vector<std::byte> metadata;    // the member's subscription (consumer_protocol.h)
  std::vector<std::byte> assignment;  // the member's assignment (consumer_protocol.h)
};

struct GroupDescription {
  std::string group_id;
  std::string state;  // "Stable", "Empty", "Dead", ...
  std::string protocol_type;
  std::string protocol;  // the chosen assignor
  std::vector<MemberDescription> members;
  std::optional<KafkaError> error;
};

struct GroupOutcome {
  std::string group_id;
  std::optional<KafkaError> error;
};

struct CommittedOffset {
  Offset offset{-1};  // -1: nothing committed
  std::optional<std::string> metadata;
  std::optional<KafkaError> error;
};

struct GroupAdminOptions {
  int coordinator_retries = 3;      // after the first attempt
  uint64_t retry_backoff_ms = 100;  // before finding a moved coordinator again
};

class GroupAdmin {
 public:
  template <typename T>
  using Done = std::function<void(KafkaResult<T>)>;

  explicit GroupAdmin(Client& client, GroupAdminOptions options = {});
  GroupAdmin(const GroupAdmin&) = delete;
  GroupAdmin& operator=(const GroupAdmin&) = delete;

  // ListOffsets for each partition, grouped per leader. A partition without a leader or an
  // unknown one gets its error in its entry.
  void list_offsets(std::map<TopicPartition, OffsetSpec> partitions,
                    Done<std::map<TopicPartition, ListedOffset>> done);
  // ListGroups on every broker, merged and sorted by group id.
  void list_groups(Done<std::vector<GroupListing>> done);
  // DescribeGroups at each group's coordinator; one entry per group, in the order asked.
  void describe_groups(std::vector<std::string> groups, Done<std::vector<GroupDescription>> done);
  // DeleteGroups at each group's coordinator; one entry per group, in the order asked.
  void delete_groups(std::vector<std::string> groups, Done<std::vector<GroupOutcome>> done);
  // OffsetFetch at the coordinator: the offsets of `partitions`, or (nullopt) every partition
  // the group has committed offsets for.
  void committed_offsets(const std::string& group,
                         std::optional<std::vector<TopicPartition>> partitions,
                         Done<std::map<TopicPartition, CommittedOffset>> done);
  // OffsetCommit at the coordinator with generation -1 and no member id, as for a group with no
  // active members (a group with members refuses it per partition).
  void alter_committed_offsets(const std::string& group, std::map<TopicPartition, Offset> offsets,
                               Done<std::map<TopicPartition, std::optional<KafkaError>>> done);

 private:
  Client& client_;
  GroupAdminOptions options_;
};

}  // namespace ferry::client
