// The leader's stamping and storage encoding of produced batches. See leader_encoding.h.
#include "broker/leader_encoding.h"

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
                                                         const config::TopicSettings& settings) {
  if (!settings.store_lz4) return std::nullopt;
  const protocol::BatchView in(batch);
  if (in.compression() != protocol::Compression::none || in.is_control()) return std::nullopt;
  // recompress_lz4 gives a corrupt record section a valid CRC: only intact batches go in.
  if (!protocol::validate_batch(batch)) return std::nullopt;
  auto lz = protocol::recompress_lz4(in);
  if (!lz || lz->size() >= batch.size()) return std::nullopt;
  return std::move(lz).value();
}

}  // namespace ferry::broker
