// Idempotent producers on the produce path: the sequence check before a batch is appended (a
// retry of a stored batch is answered with its first offsets instead) and the record after.
// Loop thread only.
#pragma once

#include <optional>

#include "broker/kafka_error.h"
#include "broker/partition.h"
#include "broker/producers/producer_registry.h"
#include "protocol/record_batch.h"

namespace ferry::broker {

// One batch's idempotence state between its check and its append.
struct IdempotentBatch {
  ProducerRegistry::Partition* producers = nullptr;  // null: not an idempotent batch
  ProducerBatch producer;
  KafkaError error;                        // not ok: refuse the batch
  std::optional<BatchMetadata> duplicate;  // set: already stored; do not append it again
};

// Checks `batch` (about to be appended to `partition`) against its producer's state. Batches
// without a producer id pass with `producers == null`.
IdempotentBatch check_idempotence(ProducerRegistry& registry, const Partition& partition,
                                  const protocol::BatchView& batch);

// Records an appended idempotent batch (no-op for others) and lets the registry snapshot the
// partition when its log rolled.
void record_idempotence(ProducerRegistry& registry, const Partition& partition,
                        const IdempotentBatch& batch, const storage::AppendInfo& info,
                        int64_t now_ms);

// A follower copied `batch` from its leader (it is in the log): records its producer's batch as
// the leader did, so that a new leader continues every producer's sequence (exactly once across
// a failover). No-op for batches without a producer id.
void record_replicated(ProducerRegistry& registry, const Partition& partition,
                       const protocol::BatchView& batch, int64_t now_ms);

}  // namespace ferry::broker
