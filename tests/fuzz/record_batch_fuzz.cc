// libFuzzer target for the record batch v2 decoder: validate_batch and decode_records on
// arbitrary bytes must never crash, and what validates must decode consistently.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "platform/crc32c.h"
#include "protocol/record_batch.h"

namespace {

namespace bl = ferry::protocol::batch_layout;
using ferry::protocol::BatchView;
using ferry::protocol::Compression;

void check(bool ok) {
  if (!ok) std::abort();
}

// Validates and decodes `bytes`; an uncompressed batch that validates must decode into
// recordCount records and survive recompress_lz4 unchanged in content.
void exercise(std::span<const std::byte> bytes) {
  const ferry::Status valid = ferry::protocol::validate_batch(bytes);
  if (bytes.size() < bl::kHeaderSize) return;
  const BatchView view(bytes);
  std::vector<std::byte> scratch;
  auto records = ferry::protocol::decode_records(view, scratch);
  if (!valid.ok() || view.compression() != Compression::none) return;
  check(records.ok() && records->size() == static_cast<size_t>(view.record_count()));
  auto lz = ferry::protocol::recompress_lz4(view);
  check(lz.ok() && ferry::protocol::validate_batch(*lz).ok());
  std::vector<std::byte> scratch2;
  auto again = ferry::protocol::decode_records(BatchView(*lz), scratch2);
  check(again.ok() && again->size() == records->size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  exercise(in);
  // The same bytes with batchLength, magic and CRC made consistent, so that mutations reach
  // the record parser and the LZ4 decoder behind the CRC.
  if (size >= bl::kHeaderSize) {
    std::vector<std::byte> fixed(in.begin(), in.end());
    ferry::store_i32(fixed.data() + bl::kBatchLength,
                     static_cast<int32_t>(size - bl::kLogOverhead));
    fixed[bl::kMagic] = std::byte{2};
    ferry::store_be32(fixed.data() + bl::kCrc, ferry::protocol::compute_batch_crc(fixed));
    exercise(fixed);
  }
  return 0;
}
