// Appending one Produce partition's records, in steps each in its own file:
//   produced_records.h     framing, legacy conversion, header and records checks
//   produce_idempotence.h  the producer sequence check and record
//   leader_encoding.h      LogAppendTime stamping and the codec rewrite (recompress.h)
//   partition.h            the append itself, the high watermark and fetch wake-ups
// and here the ordering (per-partition queues, the off-loop check, one write job in flight per
// partition) and completion at acks=1 (once the job wrote the batch) or after the write is
// durable (acks=all).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "broker/kafka_error.h"
#include "common/strong_types.h"

namespace ferry::broker {

class Broker;
class Partition;
struct PendingAppend;

// Appends waiting for their records check. Owned by the Broker (one per loop); loop thread only.
// - `by_partition`: per partition, in request order: a partition's batches are written in the
//   order the requests arrived even when a large batch is checked on the thread pool while a
//   small one behind it would be ready at once. The front of a queue goes into the partition's
//   write job (Partition::begin_write/submit: written on the thread pool) when none is in
//   flight; appends checked meanwhile wait here and go together into the next job. Offsets,
//   idempotence checks and the leader's encoding are done when a job is prepared, after the
//   previous one completed and its producer state was recorded, so nothing needs undoing when a
//   job fails: its appends fail, the log end stays where the file ends.
// - `off_loop`: checks waiting for the thread pool. One runs at a time, so the decompressed
//   records held off the loop stay within one batch's bound (protocol::kMaxInflatedBytes) however
//   many large batches arrive together.
struct AppendQueues {
  std::unordered_map<const Partition*, std::deque<std::shared_ptr<PendingAppend>>> by_partition;
  std::deque<std::shared_ptr<PendingAppend>> off_loop;
  bool off_loop_running = false;
};

struct AppendOutcome {
  KafkaError error;
  Offset base_offset{-1};
  int64_t log_append_time_ms = -1;  // set when the topic uses LogAppendTime
  Offset log_start_offset{-1};
};

// Validates and appends `records` (the RECORDS field of a Produce v`produce_version` request,
// which may be rewritten in place and must stay valid until `done` fires: the caller keeps it
// alive through `done`'s captures) to topic/partition, as protocol/batch_validator.h describes.
// `done` fires once, on the loop: after the write job holding the batch is back (or the error)
// unless `durable`, in which case after the bytes reach the disk (acks=all). Compressed batches of
// 32 KiB and more are checked, and batches of 16 KiB and more that the topic's compression.type
// rewrites are re-encoded (broker/recompress.h), on libuv's thread pool first (one append at a
// time, see AppendQueues); smaller ones on the loop. Batches are written on the thread pool, so
// `done` fires after this returns (unless the broker has no loop, or the append is refused); a
// partition's appends are still written in the order of the calls. Loop thread.
void append_partition(Broker& broker, const std::string& topic, int32_t partition,
                      std::span<std::byte> records, int16_t produce_version, bool durable,
                      std::function<void(AppendOutcome)> done);

}  // namespace ferry::broker
