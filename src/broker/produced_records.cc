// Produce records checks before the write. See produced_records.h.
#include "broker/produced_records.h"

#include <string>

#include "protocol/legacy_message_set.h"
#include "protocol/record_batch.h"

namespace ferry::broker {
namespace {

namespace bl = protocol::batch_layout;
using protocol::BatchCheck;
using protocol::BatchFault;
using protocol::BatchView;
using protocol::Compression;

// Splits `records` into complete v2 batches; fails on a partial or malformed frame.
KafkaError split_batches(std::span<std::byte> records, std::vector<std::span<std::byte>>& out) {
  size_t pos = 0;
  while (pos < records.size()) {
    auto size = protocol::declared_batch_size(records.subspan(pos));
    if (!size || *size > records.size() - pos) {
      return {ErrorCode::corrupt_message, "truncated or malformed record batch"};
    }
    out.push_back(records.subspan(pos, *size));
    pos += *size;
  }
  return {};
}

// Up-conversion checks every legacy message (CRC-32, lengths, codec, inflation bound) and builds
// a well-formed batch from them.
KafkaError convert_legacy(std::span<std::byte> records, int64_t now_ms, ProducedRecords& out) {
  auto up = protocol::upconvert_message_set(records, now_ms);
  if (!up) {
    const Errc c = up.error().code();
    return {c == Errc::unsupported ? ErrorCode::unsupported_compression_type
            : c == Errc::too_large ? ErrorCode::message_too_large
                                   : ErrorCode::corrupt_message,
            up.error().message()};
  }
  out.converted = std::move(up->batch);
  out.batches.emplace_back(out.converted);
  out.legacy = true;
  return {};
}

}  // namespace

KafkaError fault_error(const BatchCheck& c) {
  switch (c.fault) {
    case BatchFault::none: return {};
    case BatchFault::corrupt: return {ErrorCode::corrupt_message, c.reason};
    case BatchFault::invalid_record: return {ErrorCode::invalid_record, c.reason};
    case BatchFault::too_large: return {ErrorCode::message_too_large, c.reason};
    case BatchFault::unsupported_codec: return {ErrorCode::unsupported_compression_type, c.reason};
  }
  return {ErrorCode::unknown_server_error, c.reason};
}

KafkaError frame_records(std::span<std::byte> records, int16_t produce_version, int64_t now_ms,
                         ProducedRecords& out) {
  if (records.size() <= bl::kMagic) {
    return {ErrorCode::invalid_record, "produce request without a complete record batch"};
  }
  const auto magic = static_cast<int8_t>(records[bl::kMagic]);
  if (magic < protocol::kMagicV2) {
    if (produce_version >= 3) {
      return {ErrorCode::invalid_record,
              "Produce v3 and later must carry record batches (magic 2), not magic " +
                  std::to_string(magic)};
    }
    return convert_legacy(records, now_ms, out);
  }
  if (magic != protocol::kMagicV2) {
    return {ErrorCode::corrupt_message, "unknown record format magic " + std::to_string(magic)};
  }
  if (auto e = split_batches(records, out.batches); !e.ok()) return e;
  if (produce_version >= 3 && out.batches.size() != 1) {
    return {ErrorCode::invalid_record,
            "Produce v3 and later must carry exactly one record batch per partition"};
  }
  return {};
}

KafkaError check_batch_headers(ProducedRecords& out, int16_t produce_version,
                               const config::TopicSettings& settings) {
  out.compressed_bytes = 0;
  for (auto b : out.batches) {
    if (!out.legacy) {
      if (BatchCheck c = protocol::validate_produced_header(b); !c.ok()) return fault_error(c);
    }
    const BatchView view(b);
    if (view.compression() == Compression::zstd && produce_version < 7) {
      return {ErrorCode::unsupported_compression_type, "zstd needs Produce v7 or later"};
    }
    if (b.size() > static_cast<size_t>(settings.max_message_bytes)) {
      return {ErrorCode::message_too_large, "The batch of " + std::to_string(b.size()) +
                                                " bytes exceeds max.message.bytes (" +
                                                std::to_string(settings.max_message_bytes) + ")"};
    }
    if (view.compression() != Compression::none) out.compressed_bytes += b.size();
  }
  return {};
}

KafkaError check_records(const ProducedRecords& records,
                         const protocol::ProducedBatchLimits& limits) {
  if (records.legacy) return {};
  for (auto b : records.batches) {
    const BatchCheck c = records.batches.size() > 1
                             ? protocol::validate_produced_batch(b, limits)
                             : protocol::validate_compressed_records(b, limits);
    if (!c.ok()) return fault_error(c);
  }
  return {};
}

}  // namespace ferry::broker
