// Broker-side codec rewrite of produced batches. See recompress.h.
#include "broker/recompress.h"

#include <algorithm>

#include "common/bytes.h"
#include "protocol/compression.h"

namespace ferry::broker {
namespace {

namespace bl = protocol::batch_layout;
using protocol::Compression;

// `batch`'s header with `records` as its records section in codec `codec`: batchLength, the
// codec bits and the CRC are recomputed, every other header field is copied.
std::vector<std::byte> assemble(std::span<const std::byte> batch,
                                std::span<const std::byte> records, Compression codec) {
  std::vector<std::byte> out(bl::kHeaderSize + records.size());
  std::copy_n(batch.begin(), bl::kHeaderSize, out.begin());
  std::copy(records.begin(), records.end(), out.begin() + bl::kHeaderSize);
  store_i32(out.data() + bl::kBatchLength, static_cast<int32_t>(out.size() - bl::kLogOverhead));
  const uint16_t attributes = load_be16(batch.data() + bl::kAttributes);
  store_be16(out.data() + bl::kAttributes,
             static_cast<uint16_t>((attributes & ~protocol::batch_attr::kCompressionMask) |
                                   static_cast<uint16_t>(codec)));
  store_be32(out.data() + bl::kCrc, protocol::compute_batch_crc(out));
  return out;
}

}  // namespace

std::optional<std::vector<std::byte>> recompress_for_storage(std::span<const std::byte> batch,
                                                             Compression target,
                                                             const RewriteLimits& limits) {
  if (batch.size() < bl::kHeaderSize) return std::nullopt;
  const protocol::BatchView in(batch);
  const Compression source = in.compression();
  if (source == target || in.is_control()) return std::nullopt;
  // The new CRC would cover whatever the records section holds: only an intact batch (framing,
  // CRC, and for an uncompressed one its records) is rewritten.
  if (!protocol::validate_batch(batch)) return std::nullopt;

  std::vector<std::byte> inflated;
  std::span<const std::byte> plain = in.records_bytes();
  if (source != Compression::none) {
    auto d = protocol::decompress(source, plain, limits.max_inflated_bytes);
    if (!d) return std::nullopt;
    inflated = std::move(d).value();
    plain = inflated;  // its records were walked by the records check (check_records)
  }

  std::vector<std::byte> out;
  if (target == Compression::none) {
    out = assemble(batch, plain, target);
  } else {
    auto c = protocol::compress(target, plain);
    if (!c) return std::nullopt;
    out = assemble(batch, *c, target);
  }
  if (source == Compression::none && out.size() >= batch.size()) return std::nullopt;
  if (out.size() > limits.max_batch_bytes) return std::nullopt;
  return out;
}

}  // namespace ferry::broker
