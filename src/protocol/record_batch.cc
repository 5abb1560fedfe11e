// Record batch v2: CRC, framing, validation, record decoding and header rewrites.
#include "protocol/record_batch.h"

#include <algorithm>
#include <cassert>
#include <string>

#include "platform/crc32c.h"
#include "protocol/compression.h"
#include "protocol/lz4_frame.h"
#include "protocol/varint.h"

namespace ferry::protocol {
namespace {

namespace bl = batch_layout;

// The smallest encoding of one record: length, attributes, timestampDelta, offsetDelta,
// keyLength, valueLength, headerCount, one byte each.
constexpr size_t kMinRecordSize = 7;

Error corrupt(const std::string& what) { return Error(Errc::corrupt, "record batch: " + what); }

// Takes a length-prefixed bytes field (-1 = null) from the front of `in`; false if the length
// is malformed, below -1 or longer than what remains.
inline bool take_bytes(std::span<const std::byte>& in,
                       std::optional<std::span<const std::byte>>* dst) {
  auto len = read_varint(in);
  if (!len || *len < -1) return false;
  if (*len == -1) {
    dst->reset();
    return true;
  }
  const auto n = static_cast<size_t>(*len);
  if (n > in.size()) return false;
  *dst = in.first(n);
  in = in.subspan(n);
  return true;
}

// The inner walkers below report a fault as a static message (nullptr = fine) rather than a
// Status: they run for every record of every appended batch, and the caller adds context.

// Walks the headers array at the front of `body`, appending the headers to `out` when given.
const char* parse_headers(std::span<const std::byte>& body, std::vector<Record::Header>* out) {
  auto count = read_varint(body);
  // Each header takes at least two bytes (key length and value length).
  if (!count || *count < 0 || static_cast<size_t>(*count) > body.size() / 2) {
    return "bad header count";
  }
  if (out != nullptr) out->reserve(static_cast<size_t>(*count));
  for (int32_t i = 0; i < *count; ++i) {
    std::optional<std::span<const std::byte>> key;
    Record::Header h;
    if (!take_bytes(body, &key) || !key || !take_bytes(body, &h.value)) {
      return "bad record header";
    }
    h.key = *key;
    if (out != nullptr) out->push_back(h);
  }
  return nullptr;
}

// Parses one length-prefixed record from the front of `in`, advancing it. Every field is
// bounds-checked; `out` receives the record, or with `delta_only` just its offsetDelta (nothing
// is allocated then, so validation costs a walk over the varints).
const char* parse_record(std::span<const std::byte>& in, Record* out, bool delta_only) {
  auto length = read_varint(in);
  if (!length || *length <= 0 || static_cast<size_t>(*length) > in.size()) {
    return "bad record length";
  }
  std::span<const std::byte> body = in.first(static_cast<size_t>(*length));
  in = in.subspan(static_cast<size_t>(*length));
  const auto attributes = static_cast<int8_t>(body[0]);
  body = body.subspan(1);
  auto ts = read_varlong(body);
  if (!ts) return "bad record timestampDelta";
  auto od = read_varint(body);
  if (!od) return "bad record offsetDelta";
  std::optional<std::span<const std::byte>> key, value;
  if (!take_bytes(body, &key) || !take_bytes(body, &value)) {
    return "bad record key or value length";
  }
  if (const char* e = parse_headers(body, delta_only ? nullptr : &out->headers)) return e;
  if (!body.empty()) return "record longer than its fields";
  out->offset_delta = *od;
  if (!delta_only) {
    out->attributes = attributes;
    out->timestamp_delta = *ts;
    out->key = key;
    out->value = value;
  }
  return nullptr;
}

// Walks an uncompressed records section: exactly `count` records that use every byte. Appends
// them to `out` when given. With `check_deltas`, offset deltas must increase strictly and stay
// within [0, last_delta]: true of every batch Kafka writes, compacted ones included.
Status parse_records(std::span<const std::byte> in, int32_t count, std::vector<Record>* out,
                     bool check_deltas = false, int32_t last_delta = 0) {
  if (count < 0) return corrupt("negative recordCount");
  if (static_cast<size_t>(count) > in.size() / kMinRecordSize) {
    return corrupt("recordCount " + std::to_string(count) + " does not fit the records section");
  }
  if (out != nullptr) out->reserve(static_cast<size_t>(count));
  int64_t previous = -1;
  for (int32_t i = 0; i < count; ++i) {
    Record r;
    if (const char* e = parse_record(in, &r, out == nullptr)) {
      return corrupt("record " + std::to_string(i) + ": " + e);
    }
    if (check_deltas) {
      if (r.offset_delta <= previous || r.offset_delta > last_delta) {
        return corrupt("record " + std::to_string(i) + ": offsetDelta " +
                       std::to_string(r.offset_delta) + " out of order or past lastOffsetDelta");
      }
      previous = r.offset_delta;
    }
    if (out != nullptr) out->push_back(std::move(r));
  }
  if (!in.empty()) return corrupt("bytes after the last record");
  return {};
}

// Header checks shared by validation: magic, CRC, codec, count and lastOffsetDelta.
Status check_header(const BatchView& v) {
  if (v.magic() != kMagicV2) {
    return Error(Errc::unsupported, "record batch: magic " + std::to_string(v.magic()));
  }
  if (v.crc() != compute_batch_crc(v.bytes())) return corrupt("CRC mismatch");
  const auto codec = static_cast<unsigned>(v.attributes() & batch_attr::kCompressionMask);
  if (codec > static_cast<unsigned>(Compression::zstd)) {
    return Error(Errc::unsupported, "record batch: unknown codec " + std::to_string(codec));
  }
  const int32_t count = v.record_count();
  const int32_t last_delta = v.last_offset_delta();
  if (count < 0) return corrupt("negative recordCount");
  if (last_delta < 0) return corrupt("negative lastOffsetDelta");
  // Compaction may remove records but keeps lastOffsetDelta, so it may exceed count - 1.
  if (count > 0 && last_delta < count - 1) {
    return corrupt("lastOffsetDelta below recordCount - 1");
  }
  return {};
}

}  // namespace

std::string_view compression_name(Compression c) noexcept {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::snappy: return "snappy";
    case Compression::lz4: return "lz4";
    case Compression::zstd: return "zstd";
  }
  return "unknown";
}

uint32_t compute_batch_crc(std::span<const std::byte> batch) noexcept {
  assert(batch.size() >= bl::kHeaderSize);
  if (batch.size() < bl::kAttributes) return 0;
  return platform::crc32c(0, batch.data() + bl::kAttributes, batch.size() - bl::kAttributes);
}

std::optional<size_t> declared_batch_size(std::span<const std::byte> bytes) noexcept {
  if (bytes.size() < bl::kLogOverhead) return std::nullopt;
  const int32_t len = load_i32(bytes.data() + bl::kBatchLength);
  if (len < static_cast<int32_t>(bl::kHeaderSize - bl::kLogOverhead)) return std::nullopt;
  // 12 + INT32_MAX still fits a 32-bit size_t.
  return bl::kLogOverhead + static_cast<size_t>(len);
}

Status validate_batch(std::span<const std::byte> bytes) {
  if (bytes.size() < bl::kHeaderSize) return corrupt("shorter than the 61-byte header");
  const auto declared = declared_batch_size(bytes);
  if (!declared || *declared != bytes.size()) {
    return corrupt("batchLength does not match the batch size " + std::to_string(bytes.size()));
  }
  const BatchView v(bytes);
  FERRY_TRY(check_header(v));
  // Uncompressed records are parsed field by field (without allocating): a correct CRC only
  // says the bytes are the producer's, not that they are well-formed, and consumers must be
  // able to decode whatever the log serves.
  if (v.compression() == Compression::none) {
    return check_records(v.records_bytes(), v.record_count(), v.last_offset_delta());
  }
  // Compressed records are stored and served as they came; only their presence is checked.
  if (v.record_count() > 0 && v.records_bytes().empty()) {
    return corrupt("compressed batch without data");
  }
  return {};
}

Status check_records(std::span<const std::byte> records, int32_t count, int32_t last_offset_delta) {
  return parse_records(records, count, nullptr, true, last_offset_delta);
}

void set_producer_fields(std::span<std::byte> batch, ProducerId pid, int16_t epoch,
                         int32_t base_sequence) noexcept {
  assert(batch.size() >= bl::kHeaderSize);
  store_i64(batch.data() + bl::kProducerId, pid.value());
  store_i16(batch.data() + bl::kProducerEpoch, epoch);
  store_i32(batch.data() + bl::kBaseSequence, base_sequence);
  store_be32(batch.data() + bl::kCrc, compute_batch_crc(batch));
}

Result<std::vector<Record>> decode_records(const BatchView& batch,
                                           std::vector<std::byte>& scratch) {
  if (batch.size() < bl::kHeaderSize) return corrupt("shorter than the 61-byte header");
  std::span<const std::byte> records = batch.records_bytes();
  switch (batch.compression()) {
    case Compression::none: break;
    case Compression::lz4:
      FERRY_TRY(lz4_frame_decompress(records, scratch));
      records = scratch;
      break;
    case Compression::gzip:
    case Compression::snappy:
    case Compression::zstd: {
      auto plain = decompress(batch.compression(), records, kMaxInflatedBytes);
      if (!plain) return std::move(plain).error();
      scratch = std::move(plain).value();
      records = scratch;
      break;
    }
    default: return Error(Errc::unsupported, "record batch: unknown codec");
  }
  std::vector<Record> out;
  FERRY_TRY(parse_records(records, batch.record_count(), &out));
  return out;
}

}  // namespace ferry::protocol
