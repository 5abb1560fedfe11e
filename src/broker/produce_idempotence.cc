// Idempotence checks and records around a produced batch's append. See produce_idempotence.h.
#include "broker/produce_idempotence.h"

namespace ferry::broker {

IdempotentBatch check_idempotence(ProducerRegistry& registry, const Partition& partition,
                                  const protocol::BatchView& batch) {
  IdempotentBatch out;
  if (batch.producer_id().value() < 0) return out;
  out.producer = {batch.producer_id().value(), batch.producer_epoch(), batch.base_sequence(),
                  batch.last_offset_delta()};
  out.producers =
      &registry.partition(partition.topic(), partition.id().value(), partition.shared_log());
  auto check =
      out.producers->producers.check(out.producer, registry.issued(out.producer.producer_id));
  out.error = std::move(check.error);
  out.duplicate = check.duplicate;
  return out;
}

void record_idempotence(ProducerRegistry& registry, const Partition& partition,
                        const IdempotentBatch& batch, const storage::AppendInfo& info,
                        int64_t now_ms) {
  if (batch.producers == nullptr) return;
  batch.producers->producers.record(batch.producer, info.base_offset, info.last_offset,
                                    info.max_timestamp, now_ms);
  registry.appended(partition.topic(), partition.id().value(), *batch.producers);
}

void record_replicated(ProducerRegistry& registry, const Partition& partition,
                       const protocol::BatchView& batch, int64_t now_ms) {
  if (batch.producer_id().value() < 0) return;
  const ProducerBatch b{batch.producer_id().value(), batch.producer_epoch(), batch.base_sequence(),
                        batch.last_offset_delta()};
  auto& producers =
      registry.partition(partition.topic(), partition.id().value(), partition.shared_log());
  producers.producers.record(b, batch.base_offset(),
                             batch.base_offset() + batch.last_offset_delta(), batch.max_timestamp(),
                             now_ms);
  registry.appended(partition.topic(), partition.id().value(), producers);
}

}  // namespace ferry::broker
