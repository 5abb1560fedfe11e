// The offset maps of a broker's mirror read from its meta.db, for the operator commands
// (`ferry mirror status --json`, `ferry mirror translate`, `ferry groups --translate`).
//
// The database is opened read-only (meta::Db::open_read_only): the broker may be running and
// writing it (WAL: this reader never blocks its writer, and sees committed transactions only, in
// which a checkpoint and the rows it needs are written together). Called on the command's main
// thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/strong_types.h"
#include "mirror/offset_map.h"

namespace ferry::mirror {

// One mirrored partition: its checkpoint and offset map rows.
struct PartitionOffsetMap {
  Offset forwarded{0};            // source offset after the last acknowledged batch
  int64_t forwarded_target = -1;  // target offset after it; -1 unknown
  std::vector<OffsetRow> rows;    // ascending by source offset

  Translation translate(Offset n) const {
    return mirror::translate(rows, forwarded, forwarded_target, n);
  }
};

// Keyed by (source topic, partition).
using OffsetMaps = std::map<std::pair<std::string, int32_t>, PartitionOffsetMap>;

// Reads every partition of `mirror` from `data_dir`/meta.db. Errors: no meta.db, a database
// without the offset map (written by a ferry older than schema version 7), SQLite errors.
Result<OffsetMaps> read_offset_maps(const std::string& data_dir, const std::string& mirror);

// The JSON object of one partition's map: forwarded position, its target offset, the current
// difference and the rows.
std::string offset_map_json(const PartitionOffsetMap& m);

}  // namespace ferry::mirror
