// The mirror's checkpoints and producer ids in meta.db. See mirror_store.h.
#include "meta/mirror_store.h"

#include "meta/mirror_offsets.h"

namespace ferry::meta {

Status put_mirror_checkpoint(Db& db, const MirrorCheckpoint& c) {
  auto s = db.cached(
      "INSERT OR REPLACE INTO mirror_checkpoints (mirror, topic, partition, source_offset,"
      " updated_ms, target_offset) VALUES (?, ?, ?, ?, ?, ?)");
  if (!s) return std::move(s).error();
  (*s)->bind(1, c.mirror).bind(2, c.topic).bind(3, c.partition.value());
  (*s)->bind(4, c.source_offset.value()).bind(5, c.updated_ms).bind(6, c.target_offset);
  return (*s)->run();
}

Status put_mirror_producer_id(Db& db, const MirrorProducerId& id) {
  auto s = db.cached(
      "INSERT OR IGNORE INTO mirror_producer_ids (mirror, producer_id, producer_epoch, created_ms)"
      " VALUES (?, ?, ?, ?)");
  if (!s) return std::move(s).error();
  (*s)->bind(1, id.mirror).bind(2, id.producer_id.value()).bind(3, id.producer_epoch);
  return (*s)->bind(4, id.created_ms).run();
}

Result<std::vector<MirrorCheckpoint>> MetaStore::mirror_checkpoints(const std::string& mirror) {
  return read_mirror_checkpoints(reader_, mirror);
}

Result<std::vector<MirrorProducerId>> MetaStore::mirror_producer_ids(const std::string& mirror) {
  auto s = reader_.cached(
      "SELECT producer_id, producer_epoch, created_ms FROM mirror_producer_ids WHERE mirror = ?"
      " ORDER BY created_ms, producer_id");
  if (!s) return std::move(s).error();
  (*s)->bind(1, mirror);
  std::vector<MirrorProducerId> out;
  while (true) {
    auto row = (*s)->step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    MirrorProducerId p;
    p.mirror = mirror;
    p.producer_id = ProducerId((*s)->col_int(0));
    p.producer_epoch = static_cast<int16_t>((*s)->col_int(1));
    p.created_ms = (*s)->col_int(2);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace ferry::meta
