// ListOffsets (key 2): the latest (-1: the high watermark) or earliest (-2) offset, or the
// first offset whose record timestamp is at or after a given time. v0 answers with a list of
// offsets (old_style_offsets) holding the one offset found.
#include "protocol/messages/list_offsets.h"

#include "broker/api_table.h"
#include "broker/broker.h"
#include "broker/leader_epoch_check.h"
#include "protocol/record_batch.h"

namespace ferry::broker {
namespace {

constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;

// The timestamp of the record at `offset` (Kafka answers with the found record's timestamp);
// -1 if it cannot be read.
int64_t record_timestamp(const Partition& log, Offset offset) {
  auto read = log.read(offset, 1);
  if (!read || read->data.empty()) return -1;
  auto size = protocol::declared_batch_size(read->data);
  if (!size || *size > read->data.size()) return -1;
  const protocol::BatchView batch(std::span<const std::byte>(read->data).first(*size));
  if (batch.attributes() & protocol::batch_attr::kTimestampTypeLogAppend)
    return batch.max_timestamp();
  std::vector<std::byte> scratch;
  auto records = protocol::decode_records(batch, scratch);
  if (!records) return batch.max_timestamp();
  for (const auto& rec : *records) {
    if (batch.base_offset() + rec.offset_delta == offset)
      return batch.base_timestamp() + rec.timestamp_delta;
  }
  return -1;
}

}  // namespace

void handle_list_offsets(Broker& b, Request&& r) {
  protocol::ListOffsetsRequest req;
  if (!decode_body(r, req)) return;
  protocol::ListOffsetsResponse resp;
  for (const auto& t : req.topics) {
    auto& rt = resp.topics.emplace_back();
    rt.name = t.name;
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p.partition_index;
      auto log = b.topics().partition(t.name, p.partition_index);
      if (log == nullptr) {
        rp.error_code = static_cast<int16_t>(ErrorCode::unknown_topic_or_partition);
        continue;
      }
      if (!log->is_leader()) {
        rp.error_code = static_cast<int16_t>(ErrorCode::not_leader_or_follower);
        continue;
      }
      if (auto e = check_current_leader_epoch(p.current_leader_epoch, log->leader_epoch())) {
        rp.error_code = static_cast<int16_t>(*e);
        continue;
      }
      rp.leader_epoch = log->leader_epoch().value();
      int64_t offset = -1;
      int64_t timestamp = -1;
      if (p.timestamp == kLatest) {
        offset = log->high_watermark().value();
      } else if (p.timestamp == kEarliest) {
        offset = log->log_start_offset().value();
      } else if (p.timestamp < 0) {
        rp.error_code = static_cast<int16_t>(ErrorCode::invalid_request);
        continue;
      } else {
        auto found = log->offset_for_timestamp(p.timestamp);
        if (!found) {
          rp.error_code = to_kafka_error(found.error()).wire();
          continue;
        }
        if (*found) {
          offset = (*found)->value();
          timestamp = record_timestamp(*log, **found);
        }
      }
      rp.offset = offset;
      rp.timestamp = timestamp;
      if (r.version() == 0 && offset >= 0 && p.max_num_offsets > 0) rp.old_style_offsets = {offset};
    }
  }
  respond(r, resp);
}

}  // namespace ferry::broker
