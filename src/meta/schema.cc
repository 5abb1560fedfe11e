// Schema migrations of meta.db (see schema.h and docs/metadata.md).
#include "meta/schema.h"

#include <string>

namespace ferry::meta {
namespace {

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE topics (
  name        TEXT PRIMARY KEY,
  partitions  INTEGER NOT NULL CHECK (partitions > 0),
  created_ms  INTEGER NOT NULL
);
CREATE TABLE topic_configs (
  topic  TEXT NOT NULL REFERENCES topics(name) ON DELETE CASCADE,
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (topic, key)
) WITHOUT ROWID;
CREATE TABLE group_offsets (
  group_id          TEXT NOT NULL,
  topic             TEXT NOT NULL,
  partition         INTEGER NOT NULL,
  committed_offset  INTEGER NOT NULL,
  leader_epoch      INTEGER NOT NULL,
  metadata          TEXT NOT NULL,
  commit_ms         INTEGER NOT NULL,
  PRIMARY KEY (group_id, topic, partition)
) WITHOUT ROWID;
CREATE TABLE producer_ids (
  singleton         INTEGER PRIMARY KEY CHECK (singleton = 1),
  next_producer_id  INTEGER NOT NULL
);
INSERT INTO producer_ids VALUES (1, 0);
CREATE TABLE producer_state (
  topic           TEXT NOT NULL,
  partition       INTEGER NOT NULL,
  producer_id     INTEGER NOT NULL,
  producer_epoch  INTEGER NOT NULL,
  last_sequence   INTEGER NOT NULL,
  last_offset     INTEGER NOT NULL,
  timestamp_ms    INTEGER NOT NULL,
  batches         BLOB NOT NULL,
  PRIMARY KEY (topic, partition, producer_id)
) WITHOUT ROWID;
CREATE TABLE mirror_checkpoints (
  mirror         TEXT NOT NULL,
  topic          TEXT NOT NULL,
  partition      INTEGER NOT NULL,
  source_offset  INTEGER NOT NULL,
  updated_ms     INTEGER NOT NULL,
  PRIMARY KEY (mirror, topic, partition)
) WITHOUT ROWID;
)sql"},
    {2, R"sql(
CREATE TABLE producer_snapshots (
  topic      TEXT NOT NULL,
  partition  INTEGER NOT NULL,
  offset     INTEGER NOT NULL,
  PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
)sql"},
    // Topic ids (Kafka's 16-byte UUIDs in their 22-character base64url form). Rows from
    // version 2 get '' and are given an id when the broker next loads them.
    {3, R"sql(
ALTER TABLE topics ADD COLUMN topic_id TEXT NOT NULL DEFAULT '';
)sql"},
    // SASL SCRAM credentials (RFC 5802): salt, iterations, StoredKey and ServerKey per user and
    // mechanism; never a password (credential_store.h).
    {4, R"sql(
CREATE TABLE scram_credentials (
  user        TEXT NOT NULL,
  mechanism   TEXT NOT NULL,
  salt        BLOB NOT NULL,
  iterations  INTEGER NOT NULL CHECK (iterations > 0),
  stored_key  BLOB NOT NULL,
  server_key  BLOB NOT NULL,
  PRIMARY KEY (user, mechanism)
) WITHOUT ROWID;
)sql"},
    // ACLs (meta/acl_store.h). The int columns hold Kafka's wire codes (broker/authz/acl.h).
    {5, R"sql(
CREATE TABLE acls (
  resource_type  INTEGER NOT NULL,
  resource_name  TEXT NOT NULL,
  pattern_type   INTEGER NOT NULL,
  principal      TEXT NOT NULL,
  host           TEXT NOT NULL,
  operation      INTEGER NOT NULL,
  permission     INTEGER NOT NULL,
  PRIMARY KEY (resource_type, resource_name, pattern_type, principal, host, operation,
               permission)
) WITHOUT ROWID;
)sql"},
    // The mirror's exactly-once bookkeeping (docs/mirror.md): the target offset next to each
    // checkpoint, and every producer id a mirror obtained, recorded before its first use.
    {6, R"sql(
ALTER TABLE mirror_checkpoints ADD COLUMN target_offset INTEGER NOT NULL DEFAULT -1;
CREATE TABLE mirror_producer_ids (
  mirror          TEXT NOT NULL,
  producer_id     INTEGER NOT NULL,
  producer_epoch  INTEGER NOT NULL,
  created_ms      INTEGER NOT NULL,
  PRIMARY KEY (mirror, producer_id)
) WITHOUT ROWID;
)sql"},
    // Offset translation (docs/mirror.md): per mirrored partition a row wherever the difference
    // target offset - source offset changes. A checkpoint with a target offset seeds the first
    // row: from its source offset on the difference is known.
    {7, R"sql(
CREATE TABLE mirror_offsets (
  mirror         TEXT NOT NULL,
  topic          TEXT NOT NULL,
  partition      INTEGER NOT NULL,
  source_offset  INTEGER NOT NULL,
  target_offset  INTEGER NOT NULL,
  PRIMARY KEY (mirror, topic, partition, source_offset)
) WITHOUT ROWID;
INSERT INTO mirror_offsets (mirror, topic, partition, source_offset, target_offset)
  SELECT mirror, topic, partition, source_offset, target_offset FROM mirror_checkpoints
  WHERE target_offset >= 0;
)sql"},
    // Replication (docs/replication.md): each replicated log's Raft state (epoch and vote,
    // durable before a vote or an epoch leaves the node), the replicas of each partition as the
    // metadata quorum assigned them (preferred leader first), and how far this node has applied
    // the metadata log.
    {8, R"sql(
CREATE TABLE raft_state (
  topic      TEXT NOT NULL,
  partition  INTEGER NOT NULL,
  epoch      INTEGER NOT NULL,
  voted_for  INTEGER NOT NULL,
  PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
CREATE TABLE partition_replicas (
  topic      TEXT NOT NULL,
  partition  INTEGER NOT NULL,
  replicas   TEXT NOT NULL,
  PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
CREATE TABLE cluster_applied (
  id      INTEGER PRIMARY KEY CHECK (id = 0),
  offset  INTEGER NOT NULL
);
)sql"},
    // Replication: the cluster's id, agreed through the metadata log (every node answers
    // Metadata with the same one).
    {9, R"sql(
CREATE TABLE cluster_identity (
  id          INTEGER PRIMARY KEY CHECK (id = 0),
  cluster_id  TEXT NOT NULL
);
)sql"},
    // Replication: each consumer group's membership as of its last completed generation (the
    // encoded snapshot of broker/groups/group_snapshot.h), so that a new coordinator carries on
    // without a rebalance.
    {10, R"sql(
CREATE TABLE group_state (
  group_id  TEXT PRIMARY KEY,
  state     BLOB NOT NULL
);
)sql"},
};

}  // namespace

std::span<const Migration> builtin_migrations() { return kMigrations; }

Result<int> migrate(Db& db, std::span<const Migration> migrations) {
  auto current = db.query_int("PRAGMA user_version");
  if (!current) return std::move(current).error();
  int newest = migrations.empty() ? 0 : migrations.back().version;
  int version = static_cast<int>(*current);
  if (version > newest) {
    return Error(Errc::newer_version,
                 db.path() + ": schema version " + std::to_string(version) +
                     " was written by a newer ferry (this build knows up to version " +
                     std::to_string(newest) + "); refusing to open it");
  }
  for (const Migration& m : migrations) {
    if (m.version <= version) continue;
    FERRY_TRY(db.exec("BEGIN IMMEDIATE"));
    Status st = db.exec(m.sql);
    if (st) st = db.exec(("PRAGMA user_version = " + std::to_string(m.version)).c_str());
    if (st) st = db.exec("COMMIT");
    if (!st) {
      (void)db.exec("ROLLBACK");
      return Error(st.error().code(), "migration to schema version " + std::to_string(m.version) +
                                          " failed: " + st.error().message());
    }
    version = m.version;
  }
  return version;
}

}  // namespace ferry::meta
