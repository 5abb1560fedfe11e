// Null keys refused on compacted topics. See compacted_keys.h.
#include "broker/compacted_keys.h"

#include <vector>

#include "protocol/record_batch.h"

namespace ferry::broker {

KafkaError check_compacted_keys(std::span<const std::byte> batch, const std::string& topic,
                                int32_t partition) {
  std::vector<std::byte> scratch;
  auto records = protocol::decode_records(protocol::BatchView(batch), scratch);
  if (!records) return {};  // the other checks report malformed batches
  for (const auto& r : *records) {
    if (!r.key) {
      return {ErrorCode::invalid_record,
              "Compacted topic cannot accept message without key in topic partition " + topic +
                  "-" + std::to_string(partition) + "."};
    }
  }
  return {};
}

}  // namespace ferry::broker
