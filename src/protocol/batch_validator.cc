// Produced-batch validation: Kafka's client-origin rules for magic 2. See batch_validator.h.
#include "protocol/batch_validator.h"

#include <string>
#include <vector>

#include "common/buffer.h"
#include "protocol/lz4_frame.h"

namespace ferry::protocol {
namespace {

namespace bl = batch_layout;

BatchCheck fault(BatchFault f, std::string reason) {
  return BatchCheck{f, "record batch: " + std::move(reason)};
}

bool crc_ok(const BatchView& v) { return v.crc() == compute_batch_crc(v.bytes()); }

// The decoded records of LZ4 batches, one buffer per thread (the loop and each thread-pool
// thread) so that a stream of batches decodes without allocating. Capacity above
// kKeptLz4Output is given back after each batch.
constexpr size_t kKeptLz4Output = size_t{2} << 20;
thread_local Buffer t_lz4_plain;

BatchCheck too_large_fault(Compression codec, const ProducedBatchLimits& limits) {
  return fault(BatchFault::too_large, std::string(compression_name(codec)) +
                                          " records inflate past " +
                                          std::to_string(limits.max_inflated_bytes) + " bytes");
}

// The records of an LZ4 batch decoded into t_lz4_plain and walked.
BatchCheck check_lz4_body(const BatchView& v, const ProducedBatchLimits& limits) {
  struct GiveBackLarge {
    ~GiveBackLarge() {
      if (t_lz4_plain.capacity() > kKeptLz4Output) Buffer().swap(t_lz4_plain);
    }
  } give_back;
  if (Status st = lz4_frame_decompress(v.records_bytes(), t_lz4_plain, limits.max_inflated_bytes);
      !st) {
    // lz4_frame reports its bound as corrupt ("inflates past N bytes").
    if (st.error().message().find("inflates past") != std::string::npos) {
      return too_large_fault(Compression::lz4, limits);
    }
    return fault(BatchFault::corrupt, "lz4 records do not decompress: " + st.error().message());
  }
  if (auto st = check_records(t_lz4_plain, v.record_count(), v.last_offset_delta()); !st) {
    return BatchCheck{BatchFault::invalid_record, st.error().message()};
  }
  return {};
}

// Records of a batch whose header passed: decompressed when needed, then walked.
BatchCheck check_body(const BatchView& v, const ProducedBatchLimits& limits) {
  if (v.compression() == Compression::lz4) return check_lz4_body(v, limits);
  std::span<const std::byte> records = v.records_bytes();
  std::vector<std::byte> plain;
  if (v.compression() != Compression::none) {
    auto inflated = decompress(v.compression(), records, limits.max_inflated_bytes);
    if (!inflated) {
      const Error& e = inflated.error();
      if (e.code() == Errc::too_large) return too_large_fault(v.compression(), limits);
      return fault(BatchFault::corrupt, std::string(compression_name(v.compression())) +
                                            " records do not decompress: " + e.message());
    }
    plain = std::move(inflated).value();
    records = plain;
  }
  if (auto st = check_records(records, v.record_count(), v.last_offset_delta()); !st) {
    return BatchCheck{BatchFault::invalid_record, st.error().message()};
  }
  return {};
}

// The header rules once framing and magic hold. Reports faults without regard to the CRC.
BatchCheck check_header_fields(const BatchView& v) {
  const auto codec = static_cast<unsigned>(v.attributes() & batch_attr::kCompressionMask);
  if (codec > static_cast<unsigned>(Compression::zstd)) {
    return fault(BatchFault::unsupported_codec, "unknown codec " + std::to_string(codec));
  }
  const int32_t count = v.record_count();
  if (count <= 0) {
    return fault(BatchFault::invalid_record, "recordCount " + std::to_string(count));
  }
  // Kafka: the offset range a client's batch claims must be exactly its record count.
  if (v.last_offset_delta() != count - 1) {
    return fault(BatchFault::invalid_record,
                 "lastOffsetDelta " + std::to_string(v.last_offset_delta()) +
                     " does not match recordCount " + std::to_string(count));
  }
  if (v.is_control()) {
    return fault(BatchFault::invalid_record, "clients may not write control batches");
  }
  if (v.is_transactional()) {
    return fault(BatchFault::invalid_record, "transactional batches are not supported");
  }
  if (v.producer_id().value() >= 0 && v.base_sequence() < 0) {
    return fault(BatchFault::invalid_record,
                 "baseSequence " + std::to_string(v.base_sequence()) + " with a producer id");
  }
  return {};
}

}  // namespace

BatchCheck validate_produced_header(std::span<const std::byte> batch) {
  if (batch.size() < bl::kHeaderSize) return fault(BatchFault::corrupt, "shorter than 61 bytes");
  const auto declared = declared_batch_size(batch);
  if (!declared || *declared != batch.size()) {
    return fault(BatchFault::corrupt, "batchLength does not match the batch");
  }
  const BatchView v(batch);
  if (v.magic() != kMagicV2) {
    return fault(BatchFault::corrupt, "magic " + std::to_string(v.magic()));
  }
  BatchCheck c = check_header_fields(v);
  // As in Kafka, a batch failing its CRC is corrupt whatever else is wrong with it (checked only
  // here, on the failure path: the append checks the CRC of batches that pass).
  if (!c.ok() && !crc_ok(v)) return fault(BatchFault::corrupt, "CRC mismatch");
  return c;
}

BatchCheck validate_compressed_records(std::span<const std::byte> batch,
                                       const ProducedBatchLimits& limits) {
  const BatchView v(batch);
  if (v.compression() == Compression::none) return {};
  BatchCheck c = check_body(v, limits);
  // Garbage inside the codec is most often damage in transit: the CRC says which it is.
  if (!c.ok() && !crc_ok(v)) return fault(BatchFault::corrupt, "CRC mismatch");
  return c;
}

BatchCheck validate_produced_batch(std::span<const std::byte> batch,
                                   const ProducedBatchLimits& limits) {
  if (BatchCheck h = validate_produced_header(batch); !h.ok()) return h;
  const BatchView v(batch);
  if (!crc_ok(v)) return fault(BatchFault::corrupt, "CRC mismatch");
  return check_body(v, limits);
}

IntactPrefix intact_prefix(std::span<const std::byte> batches) {
  IntactPrefix r;
  while (r.bytes < batches.size()) {
    const auto rest = batches.subspan(r.bytes);
    const auto size = declared_batch_size(rest);
    if (!size || *size > rest.size() || *size < bl::kHeaderSize) {
      r.fault = "bad batch length";
      return r;
    }
    const BatchView v(rest.first(*size));
    if (v.magic() != kMagicV2) {
      r.fault = "magic " + std::to_string(v.magic());
      return r;
    }
    if (!crc_ok(v)) {
      r.fault = "CRC32C mismatch";
      return r;
    }
    r.bytes += *size;
  }
  return r;
}

}  // namespace ferry::protocol
