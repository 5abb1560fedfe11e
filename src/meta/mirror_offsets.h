// The mirror's offset map in meta.db (table `mirror_offsets`, schema version 7; docs/mirror.md,
// "Offset translation"): per (mirror, topic, partition) the sparse rows (source offset, target
// offset) written wherever the difference target - source changes. What a row means and how an
// offset is translated: mirror/offset_map.h.
//
// Size: a partition keeps the rows at or above its source log start plus the greatest row below
// it (still needed to translate the oldest offsets the gateway holds), and at most
// kMaxMirrorOffsetRows rows; older ones are deleted whenever rows are written.
//
// Threading: the writer runs where the store commits (its thread-pool job, or inline without a
// loop) on the connection it is given; the readers on whatever connection they are given (the
// mirror's loop-thread reader, or a read-only connection of an operator command).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/strong_types.h"
#include "meta/sqlite.h"
#include "meta/store.h"

namespace ferry::meta {

inline constexpr int64_t kMaxMirrorOffsetRows = 1024;  // per partition

struct MirrorOffsetRow {
  std::string topic;
  PartitionId partition{0};
  Offset source_offset{0};
  int64_t target_offset = 0;
  bool operator==(const MirrorOffsetRow&) const = default;
};

// Inserts `rows` (same topic and partition) of `mirror`, replacing a row with the same source
// offset, then prunes the partition's rows below `source_log_start` (keeping the greatest one
// below it) and beyond the newest kMaxMirrorOffsetRows.
Status put_mirror_offset_rows(Db& db, const std::string& mirror,
                              const std::vector<MirrorOffsetRow>& rows, Offset source_log_start);
// The mutation that does put_mirror_offset_rows() inside a store submission.
Mutation mirror_offset_rows_mutation(std::string mirror, std::vector<MirrorOffsetRow> rows,
                                     Offset source_log_start);

// Deletes the partition's rows at or above `from` (a resend from there starts: they name target
// offsets the target no longer holds).
Status delete_mirror_offset_rows_from(Db& db, const std::string& mirror, const std::string& topic,
                                      PartitionId partition, Offset from);

// Every row of `mirror`, ordered by topic, partition and source offset.
Result<std::vector<MirrorOffsetRow>> mirror_offset_rows(Db& db, const std::string& mirror);
// The row with the greatest source offset of one partition, if any.
Result<std::optional<MirrorOffsetRow>> last_mirror_offset_row(Db& db, const std::string& mirror,
                                                              const std::string& topic,
                                                              PartitionId partition);
// The checkpoints of `mirror` read on any connection (MetaStore::mirror_checkpoints reads on the
// store's own reader).
Result<std::vector<MirrorCheckpoint>> read_mirror_checkpoints(Db& db, const std::string& mirror);

}  // namespace ferry::meta
