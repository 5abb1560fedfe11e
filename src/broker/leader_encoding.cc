// The leader's stamping and storage encoding of produced batches. See leader_encoding.h.
#include "broker/leader_encoding.h"

#include <algorithm>

#include "broker/recompress.h"
#include "common/bytes.h"
#include "protocol/record_batch.h"

namespace ferry::broker {

namespace bl = protocol::batch_layout;

void stamp_log_append_time(std::span<std::byte> batch, int64_t now_ms) {
  const uint16_t attrs = load_be16(batch.data() + bl::kAttributes);
  store_be16(batch.data() + bl::kAttributes,
             static_cast<uint16_t>(attrs | protocol::batch_attr::kTimestampTypeLogAppend));
  store_i64(batch.data() + bl::kMaxTimestamp, now_ms);
  store_be32(batch.data() + bl::kCrc, protocol::compute_batch_crc(batch));
}

std::optional<std::vector<std::byte>> encode_for_storage(std::span<const std::byte> batch,
                                                         const config::TopicSettings& settings,
                                                         size_t max_inflated_bytes) {
  if (!settings.store_codec) return std::nullopt;
  RewriteLimits limits;
  limits.max_inflated_bytes = max_inflated_bytes;
  limits.max_batch_bytes = static_cast<size_t>(std::max(settings.max_message_bytes, 0));
  return recompress_for_storage(batch, *settings.store_codec, limits);
}

}  // namespace ferry::broker
