// The mirror's status as `ferry mirror status` shows it: per mirror its link (state and since
// when, reconnects, last error and when) and per forwarded partition its progress. The broker
// writes it to DATA/mirror-status.tsv once a second (status_file.cc); the command reads that
// file and prints a table or JSON. Pure; any thread.
//
// File format (text, one row per line, fields separated by tabs; tabs and newlines inside
// fields are written as spaces):
//   line 1: "ferry-mirror-status 1 <written_ms>"
//   line 2: the column names (kColumns)
//   then one row per partition; a mirror without partitions has one row with partition -1.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace ferry::mirror {

struct StatusRow {
  std::string mirror;
  std::string link_state;  // connecting | connected | backing_off | disabled
  int64_t link_since_ms = 0;
  int64_t reconnects = 0;
  std::string last_error;  // empty: none
  int64_t last_error_ms = 0;
  std::string topic;
  int32_t partition = -1;
  std::string target_topic;
  std::string state;        // starting | reconciling | forwarding | stopped
  int64_t source_end = -1;  // what consumers may read (high watermark)
  int64_t forwarded = -1;   // the source offset after the last acknowledged batch
  int64_t records_behind = 0;
  int64_t seconds_behind = 0;  // age of the oldest unforwarded record
  int64_t target_offset = -1;  // the target offset after the last acknowledged batch
  bool operator==(const StatusRow&) const = default;
};

struct StatusSnapshot {
  int64_t written_ms = 0;
  std::vector<StatusRow> rows;
  bool operator==(const StatusSnapshot&) const = default;
};

std::string render_status_file(const StatusSnapshot& s);
Result<StatusSnapshot> parse_status_file(std::string_view text);
// `ferry mirror status`: a table, or JSON (an object with "written_ms" and "mirrors", each with
// its link fields and "partitions").
std::string render_status_text(const StatusSnapshot& s, int64_t now_ms);
// `partition_extra` (may be empty) returns more members for a partition's object, each starting
// with a comma (the offset map: offset_query.h).
using PartitionJsonExtra = std::function<std::string(const StatusRow&)>;
std::string render_status_json(const StatusSnapshot& s,
                               const PartitionJsonExtra& partition_extra = {});

}  // namespace ferry::mirror
