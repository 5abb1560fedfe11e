// The mirror's status as `ferry mirror status` shows it: per mirror its link (state and since
// when, reconnects, last error and when, heartbeats) and per forwarded partition its progress.
// The broker writes it to DATA/mirror-status.tsv once a second (service.cc); the command reads
// that file and prints a table or JSON. Pure; any thread.
//
// StatusRow is also the plain form a metrics exporter takes the numbers from
// (MirrorService::status() on the loop); until ferry has an admin HTTP listener, the status file
// is the way to read them from outside the process.
//
// File format (text, one row per line, fields separated by tabs; tabs and newlines inside
// fields are written as spaces):
//   line 1: "ferry-mirror-status 2 <written_ms>" (version 1 lacked the columns
//           from bytes_behind on; a file of another version is refused, not guessed at)
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
  int64_t heartbeats_sent = 0;  // acknowledged heartbeats since start
  int64_t heartbeat_ok_ms = 0;  // when the last one was acknowledged; 0: never
  std::string topic;
  int32_t partition = -1;
  std::string target_topic;
  std::string state;        // starting | reconciling | forwarding | stopped
  int64_t source_end = -1;  // what consumers may read (high watermark)
  int64_t forwarded = -1;   // the source offset after the last acknowledged batch
  int64_t records_behind = 0;
  int64_t seconds_behind = 0;  // age of the oldest unforwarded record
  int64_t target_offset = -1;  // the target offset after the last acknowledged batch
  // Stored bytes from `forwarded` to the end of the log (to within the index interval).
  int64_t bytes_behind = 0;
  int64_t bytes_sent = 0;    // stored bytes of the batches the target acknowledged, since start
  int64_t records_sent = 0;  // records of those batches
  int64_t last_ack_ms = 0;   // when the target last acknowledged a batch; 0: not since start
  // target.lost.policy: how often the target was found to have lost records, and how many
  // records were resent because of it (since start).
  int64_t target_lost = 0;
  int64_t records_resent = 0;
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
