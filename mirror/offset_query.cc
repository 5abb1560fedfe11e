// Reading a broker's mirror offset maps from meta.db, read-only. See offset_query.h.
#include "mirror/offset_query.h"

#include "meta/mirror_offsets.h"
#include "meta/sqlite.h"

namespace ferry::mirror {

Result<OffsetMaps> read_offset_maps(const std::string& data_dir, const std::string& mirror) {
  const std::string path = data_dir + "/meta.db";
  auto db = meta::Db::open_read_only(path);
  if (!db) return std::move(db).error();
  auto version = db->query_int("PRAGMA user_version");
  if (!version) return std::move(version).error();
  if (*version < 7) {
    return Error(Errc::not_found, path + ": schema version " + std::to_string(*version) +
                                      " has no offset map (ferry serve writes it from version 7)");
  }
  auto cps = meta::read_mirror_checkpoints(*db, mirror);
  if (!cps) return std::move(cps).error();
  auto rows = meta::mirror_offset_rows(*db, mirror);
  if (!rows) return std::move(rows).error();
  OffsetMaps out;
  for (const meta::MirrorCheckpoint& c : *cps) {
    PartitionOffsetMap& m = out[{c.topic, c.partition.value()}];
    m.forwarded = c.source_offset;
    m.forwarded_target = c.target_offset;
  }
  for (const meta::MirrorOffsetRow& r : *rows) {
    auto it = out.find({r.topic, r.partition.value()});
    if (it == out.end()) continue;  // rows without a checkpoint translate nothing
    it->second.rows.push_back({r.source_offset, r.target_offset});
  }
  return out;
}

std::string offset_map_json(const PartitionOffsetMap& m) {
  std::string rows;
  for (const OffsetRow& r : m.rows) {
    rows += std::string(rows.empty() ? "" : ",") +
            "{\"source\":" + std::to_string(r.source.value()) +
            ",\"target\":" + std::to_string(r.target) + "}";
  }
  const std::string delta =
      m.forwarded_target < 0 ? "null" : std::to_string(m.forwarded_target - m.forwarded.value());
  return "{\"forwarded\":" + std::to_string(m.forwarded.value()) +
         ",\"forwarded_target\":" + std::to_string(m.forwarded_target) + ",\"delta\":" + delta +
         ",\"rows\":[" + rows + "]}";
}

}  // namespace ferry::mirror
