// The mirror's offset map rows in meta.db. See mirror_offsets.h.
#include "meta/mirror_offsets.h"

#include <utility>

namespace ferry::meta {

Status put_mirror_offset_rows(Db& db, const std::string& mirror,
                              const std::vector<MirrorOffsetRow>& rows, Offset source_log_start) {
  if (rows.empty()) return {};
  auto put = db.cached(
      "INSERT OR REPLACE INTO mirror_offsets (mirror, topic, partition, source_offset,"
      " target_offset) VALUES (?, ?, ?, ?, ?)");
  if (!put) return std::move(put).error();
  for (const MirrorOffsetRow& r : rows) {
    (*put)->reset();
    (*put)->bind(1, mirror).bind(2, r.topic).bind(3, r.partition.value());
    FERRY_TRY((*put)->bind(4, r.source_offset.value()).bind(5, r.target_offset).run());
  }
  const MirrorOffsetRow& last = rows.back();
  // Below the log start only the greatest row is still needed.
  auto below = db.cached(
      "DELETE FROM mirror_offsets WHERE mirror = ?1 AND topic = ?2 AND partition = ?3"
      " AND source_offset < (SELECT MAX(source_offset) FROM mirror_offsets WHERE mirror = ?1"
      " AND topic = ?2 AND partition = ?3 AND source_offset <= ?4)");
  if (!below) return std::move(below).error();
  (*below)->bind(1, mirror).bind(2, last.topic).bind(3, last.partition.value());
  FERRY_TRY((*below)->bind(4, source_log_start.value()).run());
  auto cap = db.cached(
      "DELETE FROM mirror_offsets WHERE mirror = ?1 AND topic = ?2 AND partition = ?3"
      " AND source_offset < (SELECT source_offset FROM mirror_offsets WHERE mirror = ?1"
      " AND topic = ?2 AND partition = ?3 ORDER BY source_offset DESC LIMIT 1 OFFSET ?4)");
  if (!cap) return std::move(cap).error();
  (*cap)->bind(1, mirror).bind(2, last.topic).bind(3, last.partition.value());
  return (*cap)->bind(4, kMaxMirrorOffsetRows - 1).run();
}

Mutation mirror_offset_rows_mutation(std::string mirror, std::vector<MirrorOffsetRow> rows,
                                     Offset source_log_start) {
  return Mutation::apply(
      [mirror = std::move(mirror), rows = std::move(rows), source_log_start](Db& db) {
        return put_mirror_offset_rows(db, mirror, rows, source_log_start);
      });
}

Status delete_mirror_offset_rows_from(Db& db, const std::string& mirror, const std::string& topic,
                                      PartitionId partition, Offset from) {
  auto del = db.cached(
      "DELETE FROM mirror_offsets WHERE mirror = ? AND topic = ? AND partition = ?"
      " AND source_offset >= ?");
  if (!del) return std::move(del).error();
  return (*del)
      ->bind(1, mirror)
      .bind(2, topic)
      .bind(3, partition.value())
      .bind(4, from.value())
      .run();
}

Result<std::vector<MirrorOffsetRow>> mirror_offset_rows(Db& db, const std::string& mirror) {
  auto s = db.cached(
      "SELECT topic, partition, source_offset, target_offset FROM mirror_offsets"
      " WHERE mirror = ? ORDER BY topic, partition, source_offset");
  if (!s) return std::move(s).error();
  (*s)->bind(1, mirror);
  std::vector<MirrorOffsetRow> out;
  while (true) {
    auto row = (*s)->step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    out.push_back({(*s)->col_text(0), PartitionId(static_cast<int32_t>((*s)->col_int(1))),
                   Offset((*s)->col_int(2)), (*s)->col_int(3)});
  }
  return out;
}

Result<std::optional<MirrorOffsetRow>> last_mirror_offset_row(Db& db, const std::string& mirror,
                                                              const std::string& topic,
                                                              PartitionId partition) {
  auto s = db.cached(
      "SELECT source_offset, target_offset FROM mirror_offsets WHERE mirror = ? AND topic = ?"
      " AND partition = ? ORDER BY source_offset DESC LIMIT 1");
  if (!s) return std::move(s).error();
  auto row = (*s)->bind(1, mirror).bind(2, topic).bind(3, partition.value()).step();
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<MirrorOffsetRow>();
  return std::optional<MirrorOffsetRow>(
      MirrorOffsetRow{topic, partition, Offset((*s)->col_int(0)), (*s)->col_int(1)});
}

Result<std::vector<MirrorCheckpoint>> read_mirror_checkpoints(Db& db, const std::string& mirror) {
  auto s = db.cached(
      "SELECT topic, partition, source_offset, target_offset, updated_ms FROM mirror_checkpoints"
      " WHERE mirror = ? ORDER BY topic, partition");
  if (!s) return std::move(s).error();
  (*s)->bind(1, mirror);
  std::vector<MirrorCheckpoint> out;
  while (true) {
    auto row = (*s)->step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    MirrorCheckpoint c;
    c.mirror = mirror;
    c.topic = (*s)->col_text(0);
    c.partition = PartitionId(static_cast<int32_t>((*s)->col_int(1)));
    c.source_offset = Offset((*s)->col_int(2));
    c.target_offset = (*s)->col_int(3);
    c.updated_ms = (*s)->col_int(4);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace ferry::meta
