// Record batch v2 construction: build_batch from record inputs and recompress_lz4.
#include <algorithm>
#include <cstdint>
#include <string>

#include "protocol/lz4_frame.h"
#include "protocol/record_batch.h"
#include "protocol/varint.h"

namespace ferry::protocol {
namespace {

namespace bl = batch_layout;

// The largest records section a batch can hold: batchLength is an int32.
constexpr size_t kMaxRecordsBytes =
    static_cast<size_t>(INT32_MAX) - (bl::kHeaderSize - bl::kLogOverhead);

Error too_large(const std::string& what) { return Error(Errc::too_large, "build_batch: " + what); }

bool fits_int32(size_t n) { return n <= static_cast<size_t>(INT32_MAX); }

void put_bytes(std::vector<std::byte>& out, std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  out.insert(out.end(), p, p + s.size());
}

// A length-prefixed bytes field; -1 for null.
Status write_bytes_field(std::vector<std::byte>& out, const std::optional<std::string_view>& s) {
  if (!s) {
    write_varint(out, -1);
    return {};
  }
  if (!fits_int32(s->size())) return too_large("field over 2 GiB");
  write_varint(out, static_cast<int32_t>(s->size()));
  put_bytes(out, *s);
  return {};
}

// Encodes one record body (everything after its length varint) into `body`.
Status encode_record_body(const RecordInput& r, int64_t base_ts, int32_t offset_delta,
                          std::vector<std::byte>& body) {
  int64_t ts_delta = 0;
  if (__builtin_sub_overflow(r.timestamp_ms, base_ts, &ts_delta)) {
    return Error(Errc::invalid_argument, "build_batch: timestamps too far apart");
  }
  if (!fits_int32(r.headers.size())) return too_large("too many headers");
  body.clear();
  body.push_back(std::byte{0});  // record attributes: none defined
  write_varlong(body, ts_delta);
  write_varint(body, offset_delta);
  FERRY_TRY(write_bytes_field(body, r.key));
  FERRY_TRY(write_bytes_field(body, r.value));
  write_varint(body, static_cast<int32_t>(r.headers.size()));
  for (const auto& [key, value] : r.headers) {
    FERRY_TRY(write_bytes_field(body, key));
    FERRY_TRY(write_bytes_field(body, value));
  }
  return {};
}

// The uncompressed records section, after `prefix` zero bytes (room for the batch header):
// record i gets offsetDelta i. The vector is sized once from the records' lengths.
Result<std::vector<std::byte>> encode_records(std::span<const RecordInput> records, int64_t base_ts,
                                              size_t prefix) {
  uint64_t estimate = prefix;
  for (const auto& r : records) {
    estimate += 32 + (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
    for (const auto& [key, value] : r.headers)
      estimate += 10 + key.size() + (value ? value->size() : 0);
  }
  std::vector<std::byte> out;
  out.reserve(static_cast<size_t>(std::min<uint64_t>(estimate, kMaxRecordsBytes)));
  out.resize(prefix);
  std::vector<std::byte> body;
  for (size_t i = 0; i < records.size(); ++i) {
    FERRY_TRY(encode_record_body(records[i], base_ts, static_cast<int32_t>(i), body));
    if (!fits_int32(body.size())) return too_large("record over 2 GiB");
    write_varint(out, static_cast<int32_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    if (out.size() > kMaxRecordsBytes) return too_large("records over 2 GiB");
  }
  return out;
}

// The 61-byte header of a batch of `records` (batchLength, attributes and CRC are left for
// assemble()).
void write_header(std::byte* h, std::span<const RecordInput> records, const BuildOptions& o) {
  int64_t max_ts = records.front().timestamp_ms;
  for (const auto& r : records) max_ts = std::max(max_ts, r.timestamp_ms);
  const auto count = static_cast<int32_t>(records.size());
  store_i64(h + bl::kBaseOffset, o.base_offset.value());
  store_i32(h + bl::kPartitionLeaderEpoch, o.leader_epoch.value());
  h[bl::kMagic] = static_cast<std::byte>(kMagicV2);
  store_i32(h + bl::kLastOffsetDelta, count - 1);
  store_i64(h + bl::kBaseTimestamp, records.front().timestamp_ms);
  store_i64(h + bl::kMaxTimestamp, max_ts);
  store_i64(h + bl::kProducerId, o.producer_id.value());
  store_i16(h + bl::kProducerEpoch, o.producer_epoch);
  store_i32(h + bl::kBaseSequence, o.base_sequence);
  store_i32(h + bl::kRecordCount, count);
}

// Copies the first 61 bytes of `header`, appends `records`, then sets batchLength,
// `attributes` and the CRC.
Result<std::vector<std::byte>> assemble(std::span<const std::byte> header,
                                        std::span<const std::byte> records, uint16_t attributes) {
  if (records.size() > kMaxRecordsBytes) return too_large("records over 2 GiB");
  std::vector<std::byte> out(bl::kHeaderSize + records.size());
  std::copy_n(header.begin(), bl::kHeaderSize, out.begin());
  std::copy(records.begin(), records.end(), out.begin() + bl::kHeaderSize);
  store_i32(out.data() + bl::kBatchLength, static_cast<int32_t>(out.size() - bl::kLogOverhead));
  store_be16(out.data() + bl::kAttributes, attributes);
  store_be32(out.data() + bl::kCrc, compute_batch_crc(out));
  return out;
}

// `header` with its records section replaced by the LZ4 frame of `plain_records`; the codec bits
// become lz4, every other header field is kept.
Result<std::vector<std::byte>> assemble_lz4(std::span<const std::byte> header,
                                            std::span<const std::byte> plain_records) {
  auto frame = lz4_frame_compress(plain_records);
  if (!frame) return std::move(frame).error();
  const uint16_t attributes = load_be16(header.data() + bl::kAttributes);
  const auto lz4_attributes = static_cast<uint16_t>((attributes & ~batch_attr::kCompressionMask) |
                                                    static_cast<uint16_t>(Compression::lz4));
  return assemble(header, *frame, lz4_attributes);
}

}  // namespace

std::vector<std::byte> build_epoch_start_batch(LeaderEpoch epoch, int64_t timestamp_ms) {
  std::byte header[bl::kHeaderSize] = {};
  store_i32(header + bl::kPartitionLeaderEpoch, epoch.value());
  header[bl::kMagic] = static_cast<std::byte>(kMagicV2);
  store_i32(header + bl::kLastOffsetDelta, 0);
  store_i64(header + bl::kBaseTimestamp, timestamp_ms);
  store_i64(header + bl::kMaxTimestamp, timestamp_ms);
  store_i64(header + bl::kProducerId, -1);
  store_i16(header + bl::kProducerEpoch, -1);
  store_i32(header + bl::kBaseSequence, -1);
  store_i32(header + bl::kRecordCount, 0);
  auto out = assemble(header, {}, 0);
  return out ? std::move(out).value() : std::vector<std::byte>();  // no records: cannot fail
}

Result<std::vector<std::byte>> build_batch(std::span<const RecordInput> records,
                                           const BuildOptions& options) {
  if (records.empty()) return Error(Errc::invalid_argument, "build_batch: no records");
  if (!fits_int32(records.size())) return too_large("too many records");
  if (options.compression != Compression::none && options.compression != Compression::lz4) {
    return Error(Errc::unsupported, "build_batch: only none and lz4 compression");
  }
  std::byte header[bl::kHeaderSize] = {};
  write_header(header, records, options);
  store_be16(header + bl::kAttributes,
             options.log_append_time ? batch_attr::kTimestampTypeLogAppend : uint16_t{0});
  if (options.compression == Compression::lz4) {
    auto plain = encode_records(records, records.front().timestamp_ms, 0);
    if (!plain) return std::move(plain).error();
    return assemble_lz4(header, *plain);
  }
  // Uncompressed: the records are encoded after room for the header, which goes in place.
  auto out = encode_records(records, records.front().timestamp_ms, bl::kHeaderSize);
  if (!out) return std::move(out).error();
  auto& batch = *out;
  if (batch.size() - bl::kHeaderSize > kMaxRecordsBytes) return too_large("records over 2 GiB");
  std::copy_n(header, bl::kHeaderSize, batch.begin());
  store_i32(batch.data() + bl::kBatchLength, static_cast<int32_t>(batch.size() - bl::kLogOverhead));
  store_be32(batch.data() + bl::kCrc, compute_batch_crc(batch));
  return out;
}

Result<std::vector<std::byte>> recompress_lz4(const BatchView& uncompressed) {
  const auto bytes = uncompressed.bytes();
  if (bytes.size() < bl::kHeaderSize || declared_batch_size(bytes) != bytes.size()) {
    return Error(Errc::corrupt, "recompress_lz4: not one complete batch");
  }
  if (uncompressed.compression() != Compression::none) {
    return Error(Errc::invalid_argument, "recompress_lz4: batch is already compressed");
  }
  return assemble_lz4(bytes, uncompressed.records_bytes());
}

}  // namespace ferry::protocol
