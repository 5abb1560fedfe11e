// A partition directory's identity file, DATA/logs/<topic>-<partition>/partition.meta, and the
// names of directories set aside (deleted topics' tombstones, quarantined strays).
//
// The identity ties the files to one incarnation of a topic: a topic deleted and re-created
// under the same name gets a new topic id, so old files are never taken for the new topic's.
// Format (text, one "key: value" per line, LF, ASCII; docs/storage-format.md):
//   version: 1
//   topic_id: <22-character base64url UUID>
//   topic: <topic name>
//   partition: <partition id, decimal>
// Readers ignore keys they do not know; a change of meaning bumps the version.
//
// Threading: plain blocking file I/O; the broker calls these at start-up and when it creates a
// partition (on the loop, like segment creation).
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "common/strong_types.h"
#include "platform/file_system.h"

namespace ferry::storage {

inline constexpr const char* kPartitionIdentityFile = "partition.meta";
inline constexpr int kPartitionIdentityVersion = 1;

struct PartitionIdentity {
  std::string topic_id;
  std::string topic;
  PartitionId partition{0};
  bool operator==(const PartitionIdentity&) const = default;
};

// A new random topic id: 16 bytes (UUID version 4 layout) as 22 base64url characters, the
// string form Kafka gives topic ids.
std::string new_topic_id();
bool valid_topic_id(const std::string& id);

std::string encode_partition_identity(const PartitionIdentity& id);
Result<PartitionIdentity> parse_partition_identity(const std::string& text);

// The identity of the partition directory `dir`: nullopt when it has no identity file, corrupt
// when the file cannot be parsed.
Result<std::optional<PartitionIdentity>> read_partition_identity(
    const std::string& dir, platform::FileSystem& fs = platform::real_fs());
// Writes the identity file atomically (temp file, fsync, rename, fsync of `dir`).
Status write_partition_identity(const std::string& dir, const PartitionIdentity& id,
                                platform::FileSystem& fs = platform::real_fs());

// Directories in DATA/logs that are not live partitions but kept for a reason.
enum class SetAside {
  deleted,  // "<topic>-<p>.<topic id>-delete": a deleted topic's partition, removed at start-up
  stray,    // "<topic>-<p>.<topic id>-stray": quarantined, removed only by `ferry data prune`
};
std::string set_aside_dir_name(const std::string& partition_dir, const std::string& topic_id,
                               SetAside kind);
std::optional<SetAside> parse_set_aside_dir_name(const std::string& name);

}  // namespace ferry::storage
